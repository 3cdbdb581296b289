"""The search index of 0004 is filled off the ingest path, in batches, with the keys `cordon.plates` computes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cordon.investigate import Investigation, InvestigationDb, RetentionJob, Upkeep
from cordon.investigate.index import SearchIndex
from cordon.plates import lookalike_key
from cordon.records import PlateCandidate, PlateRead
from cordon.runtime import Runtime
from cordon.settings import Settings
from cordon.store import open_store

NOW = datetime.now(UTC)


def test_catch_up_indexes_new_plates_and_candidates_in_batches(
    fresh: Callable[..., Investigation], make_read: Callable[..., PlateRead]
) -> None:
    investigation = fresh()
    runtime: Runtime = fresh.runtime  # type: ignore[attr-defined]
    cands = (PlateCandidate(plate="IABC2B4", confidence=0.6), PlateCandidate(plate="1ABC294", confidence=0.3))
    plates = ["1ABC284", "1ABC284", "2XYZ999", "1DQO555", "2XYZ999", "AB123CD", "1ABC284"]
    runtime.store.append([make_read(p, at=NOW - timedelta(minutes=i), candidates=cands if i == 0 else ())
                          for i, p in enumerate(plates)])  # fmt: skip
    index = SearchIndex(investigation.db, batch=3)
    assert index.cursor() == 0
    first = index.catch_up(max_reads=4)
    assert (first.reads, first.plates, first.candidates) == (4, 3, 1)
    rest = index.catch_up()
    assert (rest.reads, rest.plates, rest.candidates, rest.cursor) == (3, 1, 0, runtime.store.last_cursor())
    assert index.catch_up().reads == 0
    connection = investigation.db.connection()
    stored = connection.execute("SELECT plate, lookalike, lookalike_rev FROM plate_index ORDER BY plate").fetchall()
    assert stored == [(p, lookalike_key(p), lookalike_key(p)[::-1]) for p in sorted(set(plates))]
    # IABC2B4 is a look-alike of the read's own plate 1ABC284 (same key): only 1ABC294 is a candidate row
    assert connection.execute("SELECT lookalike, read_id FROM read_candidates").fetchall() == [("1A8C294", 1)]


def test_retention_removes_the_index_rows_of_deleted_reads(
    fresh: Callable[..., Investigation], make_read: Callable[..., PlateRead]
) -> None:
    investigation = fresh()
    runtime: Runtime = fresh.runtime  # type: ignore[attr-defined]
    cands = (PlateCandidate(plate="1OLD001", confidence=0.6), PlateCandidate(plate="1OLD00T", confidence=0.3))
    runtime.store.append([make_read("1OLD001", at=NOW - timedelta(days=400), candidates=cands),
                          make_read("1NEW001", at=NOW - timedelta(days=1))])  # fmt: skip
    report = RetentionJob(investigation.db, runtime.zone, runtime.images, runtime.audit).run_once(NOW)
    assert (report.deleted, report.plates_pruned) == (1, 1)
    connection = investigation.db.connection()
    assert connection.execute("SELECT plate FROM plate_index").fetchall() == [("1NEW001",)]
    assert connection.execute("SELECT count(*) FROM read_candidates").fetchone() == (0,)


def test_upkeep_catches_up_and_runs_retention_on_its_own_thread(
    fresh: Callable[..., Investigation], make_read: Callable[..., PlateRead]
) -> None:
    investigation = fresh()
    runtime: Runtime = fresh.runtime  # type: ignore[attr-defined]
    retention = RetentionJob(investigation.db, runtime.zone, runtime.images, runtime.audit)
    upkeep = Upkeep(SearchIndex(investigation.db), retention, 0.05, 0.2, lambda: NOW)
    runtime.store.append([make_read("1OLD001", at=NOW - timedelta(days=400)), make_read("1NEW001", at=NOW)])
    index = SearchIndex(InvestigationDb(investigation.db.path))
    upkeep.start()
    try:
        deadline = time.monotonic() + 10
        while runtime.store.count_reads() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        upkeep.stop()
    assert runtime.store.count_reads() == 1
    assert index.cursor() == runtime.store.last_cursor()
    index.db.close()


def test_the_investigation_connections_wait_as_long_as_the_store_is_told_to(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sqlite_busy_timeout_s=2.5)
    open_store(settings).close()
    db = InvestigationDb.for_settings(settings)
    try:
        assert db.connection().execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    finally:
        db.close()
