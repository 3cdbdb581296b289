"""Rule state for a million distinct plates: the memory the rule engine holds (DESIGN.md §5: ≤ 500 MB).

Feeds the demo zone's rules one entry read per distinct plate at gate, section and truck-lock cameras (the
reads that leave state behind: an open stay, a pending section entry, a heavy vehicle's entry), with event
times inside one hour so nothing expires, then measures the Python heap the engine's state holds
(tracemalloc, around the feeding only; the reads themselves are built beforehand and not counted).

Run: .venv/bin/python bench/rule_state_memory.py [--plates 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cordon.config import load_zone
from cordon.records import PlateRead, VehicleType
from cordon.reference import ReferenceData
from cordon.rules import RuleEngine, build_rules

ROOT = Path(__file__).resolve().parent.parent
ZONE = ROOT / "examples" / "demo-zone.yaml"
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def plate(index: int) -> str:
    letters = "".join(LETTERS[(index // 1000 // 23**k) % 23] for k in range(3))
    return f"{1 + index // (1000 * 23**3)}{letters}{index % 1000:03d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plates", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 plates")
    args = parser.parse_args()
    count = 100_000 if args.quick else args.plates
    zone = load_zone(ZONE)
    entry_lanes = [(c.id, lane.id) for c in zone.cameras for lane in c.lanes if lane.movement.value == "entry"]
    cameras = [*entry_lanes, ("cam-sec50-a", "1"), ("cam-sec90-a", "1")]
    start = datetime.now(UTC) - timedelta(hours=2)
    step = timedelta(hours=1) / count
    reads = [
        PlateRead.model_construct(
            schema_version=1,
            event_id=f"e{i}",
            observed_by=cameras[i % len(cameras)][0],
            date_observed=start + step * i,
            date_received=start + step * i,
            plate_as_read=plate(i),
            plate=plate(i),
            country="BE",
            confidence=0.95,
            candidates=(),
            bbox=None,
            lane_id=cameras[i % len(cameras)][1],
            direction=None,
            location=None,
            vehicle_type=VehicleType.LORRY if i % 10 == 0 else VehicleType.CAR,
            speed=None,
            image_ref=None,
        )
        for i in range(count)
    ]
    rules, _ = build_rules(zone, ReferenceData())
    engine = RuleEngine(rules, grace_s=3 * 3600)  # nothing concluded, nothing forgotten while feeding
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    for offset in range(0, count, 5000):
        engine.process(reads[offset : offset + 5000])
    elapsed = time.perf_counter() - started
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held = engine.state_size()
    used = after - before
    per_million_mb = used / count  # bytes per plate = MB per million plates
    rule_types = ", ".join(rule.type for rule in rules)
    print(f"# {count:,} distinct plates, one entry read each, demo zone rules: {rule_types}")
    print(f"plates held in state  {held:,}")
    print(f"state memory          {used / 2**20:,.1f} MiB  ({used / max(held, 1):,.0f} bytes per plate held)")
    print(f"peak while feeding    {(peak - before) / 2**20:,.1f} MiB")
    print(f"feeding               {count / elapsed:,.0f} reads/s (under tracemalloc, which slows it)")
    verdict = "met" if per_million_mb <= 500 else "MISSED"
    print(f"per million plates    {per_million_mb:,.0f} MB (target 500 MB: {verdict})")


if __name__ == "__main__":
    main()
