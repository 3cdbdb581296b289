"""Rule engine throughput: every rule of the demo zone over simulated reads, in process.

Generates a simulated period (default: 2 days of 20,000 vehicles a day, default camera noise), validates the
reads once as ingest would, then times only the rule engine: reads fed in delivery order in chunks of 2,000,
as the server's runner feeds them. Prints reads/s for all rules together and for each rule alone, and the
plates held in state before the final flush.

Run: .venv/bin/python bench/rules_throughput.py [--days 2] [--vehicles-per-day 20000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cordon.config import load_zone
from cordon.evaluate import Evaluation, validated_reads
from cordon.reference import load_fixtures
from cordon.rules import RuleEngine, build_rules
from cordon.settings import IngestSettings
from cordon.sim import NoiseSettings, SimSettings, Simulation, write_fixtures, write_reads

ROOT = Path(__file__).resolve().parent.parent
ZONE = ROOT / "examples" / "demo-zone.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--vehicles-per-day", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="half a day of 5,000 vehicles")
    args = parser.parse_args()
    days, vehicles = (0.5, 5_000) if args.quick else (args.days, args.vehicles_per_day)
    zone = load_zone(ZONE)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    simulation = Simulation(zone, SimSettings(seed=1, days=days, end=end, vehicles_per_day=vehicles), NoiseSettings())
    with tempfile.TemporaryDirectory() as folder:
        reads_path = Path(folder) / "reads.jsonl"
        with reads_path.open("wb") as handle:
            write_reads((d for chunk in simulation.run() for d in chunk.reads), handle)
        write_fixtures(Path(folder), simulation.hotlist, simulation.permits, simulation.fleet.vehicles)
        reference, _ = load_fixtures(Path(folder))
        reads = list(validated_reads(reads_path, zone, IngestSettings(), Evaluation()))
    print(f"# {len(reads):,} reads ({days:g} days, {vehicles:,} vehicles/day, default noise), demo zone")
    rules, _ = build_rules(zone, reference)
    for label, chosen in [("all rules", rules), *((rule.type, [rule]) for rule in rules)]:
        engine = RuleEngine(chosen)
        started = time.perf_counter()
        for start in range(0, len(reads), 2000):
            engine.process(reads[start : start + 2000])
        held = engine.state_size()
        engine.flush()
        elapsed = time.perf_counter() - started
        print(
            f"{label:<16} {len(reads) / elapsed:>10,.0f} reads/s   plates held in state before the final flush {held:,}"
        )


if __name__ == "__main__":
    main()
