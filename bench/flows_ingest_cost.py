"""What the flows pipeline adds to ingest: the same ingest with and without the flows sink, in the same run.

Each round builds a runtime exactly as `cordon serve` does (`build_runtime`, fresh data folder, rules off in
both variants so that only the flows sink differs), then ingests the same N reads through the file-ingest door
(`IngestService.check_trusted`: the same checks as HTTP and MQTT, then `commit` in batches through the group
commit writer, durable, `synchronous=FULL`). The reads come from the demo zone's gate cameras, all authorised
for traffic statistics, so every read yields a flow record (the worst case).

Cost is CPU seconds of the whole process (every thread: ingest, writer, flows sink) from the first read to the
moment the last read is durable and, with the sink, recorded in the flow store. Rounds alternate (without,
with, without, with, ...); the ratio of the medians is the figure (target ≤ 1.10).

Run: .venv/bin/python bench/flows_ingest_cost.py             (about a minute)
     .venv/bin/python bench/flows_ingest_cost.py --quick     (smoke run)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, HTTP_CAMERAS, OtherLoad, human, print_machine, read_json
from cordon.ingest.service import Admission
from cordon.ingest.validate import Prepared
from cordon.runtime import build_runtime
from cordon.settings import Settings

TARGET = 1.10


def payloads(n: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=n / 100 + 60)
    return [
        read_json(rng, HTTP_CAMERAS[i % len(HTTP_CAMERAS)], f"e-{i:09d}", start + timedelta(milliseconds=10 * i))
        for i in range(n)
    ]


def one_round(items: list[dict[str, Any]], flows: bool, batch: int) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, other load) to ingest `items` durably (and record their flows)."""
    with tempfile.TemporaryDirectory(prefix="cordon-bench-flows-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), zone_file=DEMO_ZONE, rules={"enabled": False}, flows={"enabled": flows}
        )
        runtime = build_runtime(settings)
        runtime.start()
        try:
            with OtherLoad() as other:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                futures = []
                for offset in range(0, len(items), batch):
                    held = []
                    for index, item in enumerate(items[offset : offset + batch]):
                        outcome = runtime.ingest.check_trusted(item, f"line {offset + index}")
                        assert isinstance(outcome, Prepared), outcome
                        held.append(outcome)
                    futures.append(runtime.ingest.commit(Admission("bench", tuple(held))))
                stored = sum(sum(f.result().stored) for f in futures)
                assert stored == len(items), stored
                if runtime.flows is not None:
                    while runtime.flows.recorded < len(items):
                        time.sleep(0.001)
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        finally:
            runtime.stop()
    return cpu, wall, other.cores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=100_000, help="Reads per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of each variant.")
    parser.add_argument("--batch", type=int, default=1000, help="Reads per commit.")
    parser.add_argument("--quick", action="store_true", help="20,000 reads, 2 rounds.")
    args = parser.parse_args()
    if args.quick:
        args.reads, args.rounds = 20_000, 2
    print_machine()
    items = payloads(args.reads)
    print(f"# {human(args.reads)} reads per round, {args.batch} per commit, {args.rounds} rounds of each variant")
    runs: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    one_round(items[: args.batch * 2], True, args.batch)  # warm-up: imports, page cache
    for _ in range(args.rounds):
        for flows in (False, True):
            cpu, wall, other = one_round(items, flows, args.batch)
            runs[flows].append((cpu, wall, other))
            label = "with flows   " if flows else "without flows"
            print(f"{label}  cpu {cpu:6.2f} s  wall {wall:6.2f} s  {args.reads / wall:9,.0f} reads/s"
                  f"   [other load {other:.2f} cores]")  # fmt: skip
    cpu_ratio = statistics.median(r[0] for r in runs[True]) / statistics.median(r[0] for r in runs[False])
    wall_ratio = statistics.median(r[1] for r in runs[True]) / statistics.median(r[1] for r in runs[False])
    verdict = "met" if cpu_ratio <= TARGET else "MISSED"
    print(f"cost ratio (median CPU seconds, with / without): {cpu_ratio:.3f}  (wall: {wall_ratio:.3f})"
          f"  target <= {TARGET:.2f}: {verdict}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
