"""What the flows pipeline adds to ingest: the same ingest with and without the flows sink, in the same run.

Each round builds a runtime exactly as `cordon serve` does (`build_runtime`, fresh data folder, rules off in
both variants so that only the flows sink differs), then ingests the same N reads through the file-ingest door
(`IngestService.check_trusted`: the same checks as HTTP and MQTT, then `commit` in batches through the group
commit writer, durable, `synchronous=FULL`), with at most `--in-flight` commits unanswered (2), as every door
has (file ingest waits for each commit, MQTT holds 100 messages, an HTTP client waits for its reply); `0`
queues every batch at once, as this bench did first (the writer's backlog then holds most of the round's
reads). An answered commit's receipt, which holds its reads, is let go at once, as a server does. The reads
come from the demo zone's gate cameras, all authorised for traffic statistics, so every read yields a flow
record (the worst case).

Cost is CPU seconds of the whole process (every thread: ingest, writer, flows sink) from the first read to the
moment the last read is durable and, with the sink, recorded in the flow store. Rounds alternate (without,
with, without, with, ...). Two ratios are printed: the whole process's (the least-disturbed round of each
variant: on a shared machine other work only ever adds), and ingest plus the CPU the flows spent on their own:
the sink's thread and the bus subscriber on ingest's writer thread (measured with `thread_time`, which other
load hardly moves). Target ≤ 1.10.

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
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, HTTP_CAMERAS, OtherLoad, human, print_machine, read_json
from cordon.ingest.service import Admission, Receipt
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


@dataclass(frozen=True)
class Round:
    cpu: float  # CPU seconds of the whole process, every thread
    wall: float
    sink_cpu: float  # CPU seconds of the flows: the sink's thread and the subscriber (0 without them)
    other: float  # other load, cores


def one_round(items: list[dict[str, Any]], flows: bool, batch: int, in_flight: int = 2) -> Round:
    """Ingest `items` durably (and record their flows) on a fresh runtime."""
    with tempfile.TemporaryDirectory(prefix="cordon-bench-flows-") as tmp:
        settings = Settings(data_dir=Path(tmp), zone_file=DEMO_ZONE, rules={"enabled": False}, flows={"enabled": flows})
        runtime = build_runtime(settings)
        runtime.start()
        try:
            with OtherLoad() as other:
                cpu0, wall0 = time.process_time(), time.perf_counter()
                futures: deque[Future[Receipt]] = deque()
                stored = 0
                for offset in range(0, len(items), batch):
                    held = []
                    for index, item in enumerate(items[offset : offset + batch]):
                        outcome = runtime.ingest.check_trusted(item, f"line {offset + index}")
                        assert isinstance(outcome, Prepared), outcome
                        held.append(outcome)
                    futures.append(runtime.ingest.commit(Admission("bench", tuple(held))))
                    # At most `in_flight` commits unanswered, as every door has (file ingest waits for each
                    # commit, MQTT holds 100 messages, an HTTP client waits for its reply); then let go of the
                    # receipt, as a server does once it has replied (a receipt holds its reads).
                    while futures and (len(futures) >= in_flight or futures[0].done()):
                        stored += sum(futures.popleft().result().stored)
                stored += sum(sum(f.result().stored) for f in futures)
                assert stored == len(items), stored
                if runtime.flows is not None:
                    while runtime.flows.recorded < len(items):
                        time.sleep(0.001)
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            sink_cpu = runtime.flows.cpu_s + runtime.flows.taking_cpu_s if runtime.flows is not None else 0.0
        finally:
            runtime.stop()
    return Round(cpu, wall, sink_cpu, other.cores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=100_000, help="Reads per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of each variant.")
    parser.add_argument("--batch", type=int, default=1000, help="Reads per commit.")
    parser.add_argument("--in-flight", type=int, default=2, help="Commits unanswered at most (0: no limit).")
    parser.add_argument("--quick", action="store_true", help="20,000 reads, 2 rounds.")
    args = parser.parse_args()
    if args.quick:
        args.reads, args.rounds = 20_000, 2
    print_machine()
    items = payloads(args.reads)
    print(f"# {human(args.reads)} reads per round, {args.batch} per commit, {args.in_flight or 'unlimited'} "
          f"commits in flight, {args.rounds} rounds of each variant")  # fmt: skip
    runs: dict[bool, list[Round]] = {False: [], True: []}
    one_round(items[: args.batch * 2], True, args.batch)  # warm-up: imports, page cache
    for _ in range(args.rounds):
        for flows in (False, True):
            run = one_round(items, flows, args.batch, args.in_flight or len(items))
            runs[flows].append(run)
            label = "with flows   " if flows else "without flows"
            sink = f"  flows' own {run.sink_cpu:5.2f} s" if flows else ""
            print(f"{label}  cpu {run.cpu:6.2f} s  wall {run.wall:6.2f} s  {args.reads / run.wall:9,.0f} reads/s"
                  f"{sink}   [other load {run.other:.2f} cores]")  # fmt: skip
    base = min(r.cpu for r in runs[False])
    whole = min(r.cpu for r in runs[True]) / base
    sink = statistics.median(r.sink_cpu for r in runs[True])
    own = (base + sink) / base
    print(f"ingest CPU per read without flows: {base / args.reads * 1e6:.1f} us; the flows' own: "
          f"{sink / args.reads * 1e6:.1f} us per read")  # fmt: skip
    for name, ratio in (("whole process (least-disturbed round of each, with / without)", whole),
                        ("the flows' own CPU (sink thread, subscriber) added to ingest", own)):  # fmt: skip
        print(f"cost ratio, {name}: {ratio:.3f}   target <= {TARGET:.2f}: {'met' if ratio <= TARGET else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
