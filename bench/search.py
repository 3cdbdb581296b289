"""Investigation search over a large store: plate history, wildcard partial plate, convoy analysis, and what the
search indexes of migration 0004 cost at ingest.

Builds the store once (and reuses it when the file exists): a zone like examples/demo-zone.yaml seen by its
cameras for `--days` days at `--vehicles-per-day` vehicles entering (each drive: an entry, 0-2 internal
cameras, an exit), a third of the reads with a top-N candidate, plus one planted convoy pair. The build is a
bulk load (no WAL, no fsync, secondary indexes built after the rows), never the durable ingest path; then the
store is migrated to 0004 and `SearchIndex.catch_up` fills `plate_index` and `read_candidates`.

Every measured query goes through the door (`Investigation.consult`: an investigator under a case decision)
and writes its audit entry, durably, like the API: the figures include that fsync.

Run: .venv/bin/python bench/search.py --reads 10000000          (build: ~25 min here the first time)
     .venv/bin/python bench/search.py --quick                    (1 million reads, smoke run)
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, OtherLoad, human, make_plate_reads, print_machine
from cordon.auth.roles import Role
from cordon.config import load_zone
from cordon.investigate import (
    Consultation,
    ConsultationPurpose,
    Investigation,
    InvestigationDb,
    LocalConsultant,
    ProsecutorDecision,
    TimeWindow,
)
from cordon.investigate.index import SearchIndex
from cordon.investigate.queries import Convoy, PlateSearch, WildcardSearch
from cordon.plates import lookalike_key
from cordon.settings import Settings
from cordon.store import migrate
from cordon.store.images import ImageStore
from cordon.store.sqlite import SqliteStore
from cordon.timeutil import to_micros

TARGETS = {"plate history": 0.050, "wildcard": 2.0, "convoy": 2.0}  # seconds, DESIGN.md §5 and issue 6
GATES = [
    f"cam-{n}"
    for n in ("n445-north", "n47-northeast", "durmen-east", "n41-east", "e17-ramp", "n47-south", "heikant-south",
              "n445-southwest", "bookmolen-west", "n407-west", "kouter-northwest", "n445b-north")
]  # fmt: skip
INTERNAL = ["cam-markt", "cam-sec50-a", "cam-sec50-b", "cam-sec90-a", "cam-sec90-b", "cam-ind-in"]
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
CONVOY = ("1QQQ001", "1QQQ002")
CASE = "PV BENCH/2026"
US = 1_000_000


def plates(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        roll = rng.random()
        if roll < 0.85:
            out.add(f"{rng.choice('12')}{''.join(rng.choices(LETTERS, k=3))}{rng.randint(0, 999):03d}")
        elif roll < 0.93:
            out.add(f"{''.join(rng.choices(LETTERS, k=2))}{rng.randint(0, 999):03d}{rng.choice(LETTERS)}")
        else:
            out.add(
                f"{''.join(rng.choices(LETTERS, k=2))}{rng.randint(0, 999):03d}{''.join(rng.choices(LETTERS, k=2))}"
            )
    return sorted(out)


Row = tuple[str, str, int, str, str | None, str]


def rows(reads: int, vehicles_per_day: int, end: datetime, seed: int) -> Iterator[Row]:
    """Reads as rows, day by day; regulars (a tenth of the pool) make half the drives."""
    rng = random.Random(seed)
    pool = plates(rng, max(200_000, vehicles_per_day * 25))
    regulars = pool[: len(pool) // 10]
    per_day = int(vehicles_per_day * 3.0)
    days = max(1, reads // per_day)
    start = to_micros(end) - days * 86_400 * US
    counters = dict.fromkeys(GATES + INTERNAL, 0)
    made = 0
    for day in range(days):
        base = start + day * 86_400 * US
        if day % 2 == 0:  # the planted pair: together at 4 cameras, a few seconds apart
            at = base + rng.randint(9, 18) * 3600 * US
            route = [rng.choice(GATES), *rng.sample(INTERNAL, 2), rng.choice(GATES)]
            for step, camera in enumerate(route):
                for k, plate in enumerate(CONVOY):
                    counters[camera] += 1
                    yield (camera, f"e{counters[camera]}", at + step * 300 * US + k * 3 * US, plate,
                           None, "1" if step == 0 else "2")  # fmt: skip
        while made < (day + 1) * reads // days:
            plate = rng.choice(regulars) if rng.random() < 0.5 else rng.choice(pool)
            at = base + int(rng.random() * 86_400 * US)
            route = [rng.choice(GATES), *rng.sample(INTERNAL, rng.randint(0, 2)), rng.choice(GATES)]
            for step, camera in enumerate(route):
                counters[camera] += 1
                candidates = None
                if rng.random() < 0.33:
                    other = plate[:-1] + rng.choice("0123456789")
                    candidates = f'[["{plate}",0.8],["{other}",0.3]]'
                lane = "1" if step == 0 or camera in INTERNAL else "2"
                yield camera, f"e{counters[camera]}", at + step * rng.randint(60, 900) * US, plate, candidates, lane
                made += 1


def build(path: Path, reads: int, vehicles_per_day: int, end: datetime) -> None:
    """Bulk load: schema 0003, rows without secondary indexes, indexes, then `migrate.upgrade` to 0004."""
    url = f"sqlite:///{path}"
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    migrate.upgrade(f"sqlite:///{tmp}", "0003")
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("DROP INDEX ix_reads_plate_time")
    db.execute("DROP INDEX ix_reads_camera_time")
    sql = (
        "INSERT INTO reads (camera_id, event_id, event_time_us, ingest_time_us, plate_as_read, plate, country, "
        "confidence, candidates, lane_id, vehicle_type, schema_version) VALUES (?,?,?,?,?,?,'BE',0.9,?,?,'car',1)"
    )
    started, done = time.monotonic(), 0
    batch: list[tuple[str, str, int, int, str, str, str | None, str]] = []
    db.execute("BEGIN")
    for camera, event, at, plate, candidates, lane in rows(reads, vehicles_per_day, end, seed=7):
        batch.append((camera, event, at, at + 200_000, plate, plate, candidates, lane))
        if len(batch) >= 100_000:
            db.executemany(sql, batch)
            done += len(batch)
            batch = []
            if done % 5_000_000 == 0:
                print(f"#   {human(done)} rows, {time.monotonic() - started:.0f} s", flush=True)
    db.executemany(sql, batch)
    db.execute("COMMIT")
    print(f"#   rows loaded in {time.monotonic() - started:.0f} s; building indexes", flush=True)
    db.execute("CREATE INDEX ix_reads_plate_time ON reads (plate, event_time_us)")
    db.execute("CREATE INDEX ix_reads_camera_time ON reads (camera_id, event_time_us)")
    db.execute("ANALYZE")
    db.close()
    print(f"#   indexes built at {time.monotonic() - started:.0f} s; migrating to 0004, indexing", flush=True)
    migrate.upgrade(f"sqlite:///{tmp}")
    bulk_index(tmp)
    print(f"#   search index built at {time.monotonic() - started:.0f} s", flush=True)
    tmp.rename(path)
    print(f"# built {path} in {time.monotonic() - started:.0f} s ({url})", flush=True)


def bulk_index(path: Path) -> None:
    """What `SearchIndex.catch_up` would store, built in bulk: sorted inserts, secondary indexes after, keys by
    `cordon.plates.lookalike_key` as a SQL function. (`index_cost` measures `catch_up` itself.)"""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.create_function("lookalike", 1, lookalike_key, deterministic=True)
    db.create_function("lookalike_rev", 1, lambda plate: lookalike_key(plate)[::-1], deterministic=True)
    for index in ("ix_plate_index_lookalike", "ix_plate_index_lookalike_rev", "ix_read_candidates_read"):
        db.execute(f"DROP INDEX {index}")
    db.execute("BEGIN")
    db.execute(
        "INSERT INTO plate_index (plate, lookalike, lookalike_rev) "
        "SELECT plate, lookalike(plate), lookalike_rev(plate) FROM (SELECT DISTINCT plate FROM reads) ORDER BY plate"
    )
    candidate = "lookalike(json_extract(c.value, '$[0]'))"
    db.execute(
        f"INSERT OR IGNORE INTO read_candidates (lookalike, read_id) SELECT {candidate}, r.id "  # noqa: S608
        f"FROM reads r, json_each(r.candidates) c WHERE r.candidates IS NOT NULL AND {candidate} <> lookalike(r.plate) "
        "ORDER BY 1, 2"
    )
    last = db.execute("SELECT max(id) FROM reads").fetchone()[0]
    db.execute("UPDATE search_index_state SET last_read_id = ? WHERE name = 'plates'", (last,))
    db.execute("COMMIT")
    db.execute("CREATE INDEX ix_plate_index_lookalike ON plate_index (lookalike)")
    db.execute("CREATE INDEX ix_plate_index_lookalike_rev ON plate_index (lookalike_rev)")
    db.execute("CREATE INDEX ix_read_candidates_read ON read_candidates (read_id)")
    db.close()


def timed(label: str, runs: list[Callable[[], int]], target: float) -> dict[str, float]:
    times, counts = [], []
    with OtherLoad() as other:
        for run in runs:
            t0 = time.perf_counter()
            counts.append(run())
            times.append(time.perf_counter() - t0)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    verdict = "met" if p95 <= target else "MISSED"
    print(f"{label:<44} n={len(times):<4} p50 {statistics.median(times) * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms  "
          f"max {times[-1] * 1000:8.1f} ms  results/query {statistics.mean(counts):8.1f}  "
          f"target {target * 1000:.0f} ms: "
          f"{verdict}  other load {other.cores:.2f}")  # fmt: skip
    return {"p50": statistics.median(times), "p95": p95}


def index_cost(n: int) -> None:
    """What the search index costs ingest: durable appends (`SqliteStore.append`, FULL sync, 10,000 per
    transaction) of n reads, then `SearchIndex.catch_up` over them (all plates new: the worst case; and each
    plate seen about four times, a zone's regulars). Ingest itself is unchanged by 0004 (no trigger)."""
    fresh = make_plate_reads(n)
    pool = sorted({r.plate for r in fresh})[: max(1, n // 4)]
    rng = random.Random(5)
    repeated = [r.model_copy(update={"plate": rng.choice(pool)}) for r in fresh]
    for label, reads in (("new plates", fresh), ("plates seen ~4 times", repeated)):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "store.sqlite3"
            migrate.upgrade(f"sqlite:///{path}")
            store = SqliteStore(path)
            with OtherLoad() as other:
                t0 = time.perf_counter()
                for i in range(0, n, 10_000):
                    store.append(reads[i : i + 10_000])
                appended = time.perf_counter() - t0
                db = InvestigationDb(path)
                t0 = time.perf_counter()
                SearchIndex(db).catch_up()
                indexed = time.perf_counter() - t0
            db.close()
            store.close()
        print(f"{label:<22} append {n / appended:9,.0f} reads/s; index catch-up {n / indexed:9,.0f} reads/s "
              f"(+{indexed / appended * 100:.0f} % of the append time, off the ingest path)  "
              f"other load {other.cores:.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=10_000_000, help="Reads in the store (default 10 million).")
    parser.add_argument("--vehicles-per-day", type=int, default=80_000)
    parser.add_argument("--db", type=Path, default=None, help="Store file (default /tmp/cordon-bench/search-N.db).")
    parser.add_argument("--queries", type=int, default=200, help="Plate histories measured.")
    parser.add_argument("--insert", type=int, default=200_000, help="Reads appended for the index cost (0: skip).")
    parser.add_argument("--quick", action="store_true", help="1 million reads, fewer queries.")
    args = parser.parse_args()
    if args.quick:
        args.reads, args.queries, args.insert = 1_000_000, 50, 50_000
    print_machine()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    path = args.db or Path(tempfile.gettempdir()) / "cordon-bench" / f"search-{args.reads}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        build(path, args.reads, args.vehicles_per_day, end)
    db = InvestigationDb(path)
    stored = db.connection().execute("SELECT max(id) FROM reads").fetchone()[0]
    distinct = db.connection().execute("SELECT count(*) FROM plate_index").fetchone()[0]
    print(f"# store {path}: {human(stored)} reads, {human(distinct)} distinct plates, "
          f"{path.stat().st_size / 2**30:.1f} GiB")  # fmt: skip

    zone = load_zone(DEMO_ZONE)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), zone_file=DEMO_ZONE)
        from cordon.auth.service import build_security  # the audit trail, on its own store (the bench store is shared)

        security = build_security(settings)
        investigation = Investigation(zone, db, ImageStore(Path(folder) / "images", 1 << 20), security.audit)
        now = datetime.now(UTC)
        if CASE not in {d.case_reference for d in db.decisions().values()}:
            db.register_decision(ProsecutorDecision("PK-BENCH-1", "PK Dendermonde", now - timedelta(days=1),
                                                    now + timedelta(days=3650), case_reference=CASE,
                                                    registered_by="bench", registered_at=now))  # fmt: skip
        who = LocalConsultant("bench.investigator", Role.INVESTIGATOR)
        why = Consultation(purpose=ConsultationPurpose.JUDICIAL, reason="benchmark", offence_type="none",
                           case_reference=CASE, decision_reference="PK-BENCH-1")  # fmt: skip
        year = TimeWindow(since=now - timedelta(days=365))
        rng = random.Random(3)
        sample = [r[0] for r in db.connection().execute(
            "SELECT plate FROM plate_index ORDER BY random() LIMIT ?",
            (args.queries,))]  # fmt: skip
        if len(sample) < args.queries:
            sample = [r[0] for r in db.connection().execute("SELECT plate FROM plate_index LIMIT ?", (args.queries,))]
        rng.shuffle(sample)

        def consult(query: object) -> Callable[[], int]:
            return lambda: investigation.consult(who, why, query).count  # type: ignore[arg-type]

        timed("plate history (1 year window, door + audit)", [consult(PlateSearch(plate=p, window=year))
                                                              for p in sample], TARGETS["plate history"])  # fmt: skip
        patterns = [p[:3] + "?" + p[4:5] + "*" for p in sample[:10]] + ["*" + p[-4:] for p in sample[10:15]]
        patterns += ["?" + p[1:4] + "?" + p[5:] for p in sample[15:20]]
        timed("wildcard (`1AB?2*`, `*1234`, `?ABC?34`)", [consult(WildcardSearch(pattern=p, window=year))
                                                         for p in patterns], TARGETS["wildcard"])  # fmt: skip
        month = TimeWindow(since=now - timedelta(days=30))
        convoy = investigation.consult(who, why, Convoy(plate=CONVOY[0], window=month))
        assert convoy.companions and convoy.companions[0].plate == CONVOY[1], "the planted pair was not found"
        timed("convoy, one plate, 30 days (door + audit)", [consult(Convoy(plate=CONVOY[0], window=month))] * 5
              + [consult(Convoy(plate=p, window=month)) for p in sample[:20]], TARGETS["convoy"])  # fmt: skip
        security.close()
    db.close()
    if args.insert:
        index_cost(args.insert)
    return 0


if __name__ == "__main__":
    sys.exit(main())
