"""Durability under `kill -9`: no acknowledged read is ever lost, and no request is ever half stored.

Each round starts `cordon serve` as a subprocess on the same data folder (synchronous=FULL unless told
otherwise), lets client threads post reads over HTTP, some one read per request and some in batches of
2 to 500, recording every request and the reads acknowledged with a 2xx answer; after a random delay the
server gets SIGKILL mid-ingest. The store is then reopened (`open_store`, which runs SQLite's WAL recovery)
and checked:

* every acknowledged read is present (lost must be 0);
* every request is wholly present or wholly absent (torn must be 0), answered or not;
* `PRAGMA integrity_check` is `ok`.

The next round restarts the server on the recovered store, so the checks also cover restarts after a crash.

Run: .venv/bin/python bench/kill_durability.py             (10 rounds, about 75 s)
     .venv/bin/python bench/kill_durability.py --quick     (2 rounds, smoke run)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CordonServer, human, print_machine, read_json
from cordon.records import PlateRead
from cordon.settings import Settings
from cordon.store import Store, open_store

Key = tuple[str, str]  # (camera, eventId)


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged, shared by the client threads."""

    requests: list[tuple[Key, ...]] = field(default_factory=list)
    acked: set[Key] = field(default_factory=set)
    acked_requests: int = 0
    refused: int = 0  # non-2xx answers (must stay 0: every read sent is valid)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(
    server: CordonServer, camera: str, batch: tuple[int, int], ledger: Ledger, stop: threading.Event, seed: int
) -> None:
    """Post reads until the server dies (or `stop`); batch sizes drawn from `batch` (inclusive)."""
    rng = random.Random(seed)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.keys[camera]}"}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    counter = 0
    try:
        while not stop.is_set():
            size = rng.randint(*batch)
            now = datetime.now(UTC)
            reads = []
            for _ in range(size):
                counter += 1
                reads.append(read_json(rng, camera, f"k{seed}-{counter}", now))
            keys = tuple((camera, r["eventId"]) for r in reads)
            with ledger.lock:
                ledger.requests.append(keys)
            body = json.dumps(reads[0] if size == 1 else reads)
            try:
                connection.request("POST", "/api/v1/reads", body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone: this request is in doubt, never acknowledged
            with ledger.lock:
                if 200 <= answer.status < 300:
                    ledger.acked.update((camera, r["eventId"]) for r in json.loads(payload)["reads"])
                    ledger.acked_requests += 1
                else:
                    ledger.refused += 1
    finally:
        connection.close()


@dataclass
class Round:
    seconds: float
    requests: int
    acked_requests: int
    acked_reads: int
    in_doubt: int  # requests sent but not answered when the server died
    in_doubt_stored: int  # ... of which the store holds all reads
    lost: int
    torn: int
    refused: int
    integrity: str


def one_round(server: CordonServer, rng: random.Random, singles: int, batchers: int, max_delay: float) -> Round:
    server.start()
    ledger = Ledger()
    stop = threading.Event()
    cameras = list(server.keys)
    threads = [
        threading.Thread(
            target=client,
            args=(server, cameras[i % len(cameras)], (1, 1) if i < singles else (2, 500), ledger, stop, seed),
            daemon=True,
        )
        for i, seed in enumerate(rng.randrange(10**9) for _ in range(singles + batchers))
    ]
    for thread in threads:
        thread.start()
    delay = rng.uniform(0.3, max_delay)
    time.sleep(delay)
    server.kill9()  # SIGKILL: no shutdown handler, no final commit, no flush
    stop.set()
    for thread in threads:
        thread.join(30)

    store = open_store(Settings(data_dir=server.data_dir))  # WAL recovery happens here
    try:
        present = {(read.observed_by, read.event_id) for _, read in _all_reads(store)}
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(server.db_path)) as db:
        integrity = str(db.execute("PRAGMA integrity_check").fetchone()[0])
    lost = len(ledger.acked - present)
    torn = 0
    in_doubt = in_doubt_stored = 0
    for keys in ledger.requests:
        stored = sum(1 for key in keys if key in present)
        if 0 < stored < len(keys):
            torn += 1
        if not all(key in ledger.acked for key in keys):
            in_doubt += 1
            in_doubt_stored += stored == len(keys)
    return Round(
        delay, len(ledger.requests), ledger.acked_requests, len(ledger.acked), in_doubt, in_doubt_stored,
        lost, torn, ledger.refused, integrity,
    )  # fmt: skip


def _all_reads(store: Store) -> list[tuple[int, PlateRead]]:
    out: list[tuple[int, PlateRead]] = []
    cursor = 0
    while batch := store.reads_after(cursor, 50_000):
        out.extend(batch)
        cursor = batch[-1][0]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="kill -9 rounds [10]")
    parser.add_argument("--singles", type=int, default=6, help="client threads posting one read each [6]")
    parser.add_argument("--batchers", type=int, default=2, help="client threads posting batches of 2-500 [2]")
    parser.add_argument("--max-delay", type=float, default=3.0, help="kill within 0.3..this many s [3]")
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.max_delay = 2, 1.5
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)

    print_machine()
    server = CordonServer(synchronous=args.synchronous)
    print(f"# server: {server.command[0]} serve (subprocess), synchronous={args.synchronous}; seed {seed}")
    print(f"# clients: {args.singles} threads x 1 read/request, {args.batchers} threads x 2-500 reads/request\n")
    print(
        f"{'round':>5} {'killed at':>9} {'requests':>8} {'acked':>7} {'acked reads':>11} {'in doubt':>8} "
        f"{'(stored)':>8} {'lost':>5} {'torn':>5} {'integrity':>9}"
    )
    rounds: list[Round] = []
    try:
        for number in range(1, args.rounds + 1):
            r = one_round(server, rng, args.singles, args.batchers, args.max_delay)
            rounds.append(r)
            print(
                f"{number:>5} {r.seconds:>8.2f}s {r.requests:>8} {r.acked_requests:>7} {r.acked_reads:>11} "
                f"{r.in_doubt:>8} {r.in_doubt_stored:>8} {r.lost:>5} {r.torn:>5} {r.integrity:>9}",
                flush=True,
            )
    finally:
        final = -1
        with contextlib.suppress(Exception):
            final = server.stored_count()
        log = server.log()
        server.cleanup()
    lost = sum(r.lost for r in rounds)
    torn = sum(r.torn for r in rounds)
    refused = sum(r.refused for r in rounds)
    bad_integrity = sum(r.integrity != "ok" for r in rounds)
    print(
        f"\n{len(rounds)} kills; {human(sum(r.acked_reads for r in rounds))} acknowledged reads, "
        f"{human(final)} in the store at the end; "
        f"lost {lost}, torn requests {torn}, refused {refused}, integrity failures {bad_integrity}"
    )
    if lost or torn or refused or bad_integrity:
        print(f"FAILED; server log tail:\n{log}")
        return 1
    print("0 acknowledged reads lost; every request wholly stored or wholly absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
