"""`cordon sim generate` throughput: simulated days of the demo zone, reads and truth written to disk.

Runs the same path as the command (`Simulation.run()`, then the reads and truth writers into files) on the demo
zone at 80,000 vehicles entering a day (DESIGN.md section 5's scale of a zone's border cordon), default noise,
and prints vehicles/s, passages/s, reads/s, seconds per simulated day, the files' sizes and the peak memory.
The period ends at a local midnight so that N days are N whole local days (plus the warm-up day the simulator
always runs before the period, whose trips are generated but not written).

Target (issue 3): one day of an 80,000-vehicles-a-day zone in under a minute on this 2-core machine.

Run: .venv/bin/python bench/sim_generate.py                 (one day, 80,000 vehicles, about 20 s)
     .venv/bin/python bench/sim_generate.py --days 7        (a week)
     .venv/bin/python bench/sim_generate.py --quick         (smoke run, a few seconds)
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, human, print_machine
from cordon.config import load_zone
from cordon.sim import NoiseSettings, SimSettings, Simulation, write_reads, write_truth

TARGET_S_PER_DAY = 60.0
END = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)  # local midnight in Brussels


def run(days: float, vehicles_per_day: int, seed: int) -> dict[str, float]:
    zone = load_zone(DEMO_ZONE)
    settings = SimSettings(seed=seed, days=days, end=END, vehicles_per_day=vehicles_per_day)
    with tempfile.TemporaryDirectory(prefix="cordon-bench-sim-") as tmp:
        reads_path, truth_path = Path(tmp) / "reads.jsonl", Path(tmp) / "truth.jsonl"
        started, cpu_started = time.perf_counter(), time.process_time()
        simulation = Simulation(zone, settings, NoiseSettings())
        reads = 0
        with reads_path.open("wb") as reads_file, truth_path.open("wb") as truth_file:
            for chunk in simulation.run():
                reads += write_reads(chunk.reads, reads_file)
                write_truth(chunk.truth, truth_file)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        sizes = (reads_path.stat().st_size, truth_path.stat().st_size)
    counts = simulation.counts
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "vehicles": counts["vehicle"],
        "entries": counts["gate_entries"],
        "passages": counts["passage"],
        "reads": reads,
        "reads_bytes": sizes[0],
        "truth_bytes": sizes[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=1.0, help="Simulated days (default 1).")
    parser.add_argument("--vehicles-per-day", type=int, default=80_000, help="Vehicles entering on a weekday.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="One day at 10,000 vehicles: a smoke run.")
    args = parser.parse_args()
    days, vehicles = (1.0, 10_000) if args.quick else (args.days, args.vehicles_per_day)
    print_machine()
    print(f"cordon sim generate: demo zone, {days:g} days, {vehicles:,} vehicles entering a weekday, default noise")
    result = run(days, vehicles, args.seed)
    seconds = result["seconds"]
    per_day = seconds / days
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {seconds:.1f} s in all: {per_day:.1f} s per simulated day (target < {TARGET_S_PER_DAY:.0f} s)")
    print(f"  {result['cpu_seconds']:.1f} CPU seconds (one core: the simulator is one deterministic stream)")
    entries = result["entries"]
    print(f"  entries   {entries:>12,.0f}  {human(entries / seconds)}/s  (vehicles entering the cordon)")
    print(f"  vehicles  {result['vehicles']:>12,.0f}  {human(result['vehicles'] / seconds)}/s  (distinct)")
    print(f"  passages  {result['passages']:>12,.0f}  {human(result['passages'] / seconds)}/s")
    print(f"  reads     {result['reads']:>12,.0f}  {human(result['reads'] / seconds)}/s")
    print(f"  files     reads {result['reads_bytes'] / 1e6:.0f} MB, truth {result['truth_bytes'] / 1e6:.0f} MB")
    print(f"  peak memory {peak_mb:.0f} MB")
    verdict = "meets" if per_day < TARGET_S_PER_DAY or vehicles < 80_000 else "MISSES"
    print(f"  {verdict} the target of one 80,000-vehicle day in under {TARGET_S_PER_DAY:.0f} s")


if __name__ == "__main__":
    main()
