"""The flow store: its own file and schema version, counts kept on append, days closed once."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from cordon.errors import CordonError
from cordon.flows.records import FlowRecord, Trip
from cordon.flows.schema import MIGRATIONS, SCHEMA_VERSION
from cordon.flows.store import FlowStore

DAY = "2026-11-26"


def tok(letter: str) -> bytes:
    """A 16-byte token (the size of the day's keyed hash)."""
    return letter.encode() * 16


def record(at: int, token: bytes | None = tok("t")) -> FlowRecord:
    return FlowRecord(DAY, 1_795_000_000 + at, "cam-n", "1", "towards", "entry", "car", "BE", token)


def test_schema_is_created_once_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "flows.sqlite3"
    FlowStore(path, zone_id="pz", timezone="Europe/Brussels").close()
    FlowStore(path, zone_id="pz", timezone="Europe/Brussels").close()  # reopening migrates nothing
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {
        "flow_meta",
        "flow_dims",
        "flow_chunks",
        "flow_counts",
        "flow_trips",
        "flow_days",
    }


def test_a_newer_file_or_another_zone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flows.sqlite3"
    FlowStore(path, zone_id="pz", timezone="Europe/Brussels").close()
    with pytest.raises(CordonError, match="zone pz"):
        FlowStore(path, zone_id="other", timezone="Europe/Brussels")
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(CordonError) as error:
        FlowStore(path, zone_id="pz", timezone="Europe/Brussels")
    assert error.value.code == "flow_store_too_new"


def test_counts_add_up_across_appends_and_late_reads(tmp_path: Path) -> None:
    store = FlowStore(tmp_path / "f.sqlite3", zone_id="pz", timezone="Europe/Brussels")
    store.append([record(0), record(10)])
    store.append([record(20, token=None)])  # a late read after its day's secret is gone: counted, not linked
    (cell,) = store.count_cells(DAY, DAY)
    assert cell.n == 3
    assert len(store.day_records(DAY)) == 2
    assert len(store.day_records(DAY, linked_only=False)) == 3
    store.close()


def test_a_day_is_closed_once(tmp_path: Path) -> None:
    store = FlowStore(tmp_path / "f.sqlite3", zone_id="pz", timezone="Europe/Brussels")
    trip = Trip(DAY, "gate", "north", "south", 1_795_000_000, 300, "car")
    store.close_day(DAY, [trip], 1)
    store.close_day(DAY, [trip, trip], 2)
    assert store.trips([DAY], "gate") == [trip]
    assert store.closed_days() == {DAY}
    store.close()


def test_a_late_read_is_found_with_its_day(tmp_path: Path) -> None:
    store = FlowStore(tmp_path / "f.sqlite3", zone_id="pz", timezone="Europe/Brussels")
    store.append([record(0, tok("a")), record(5, tok("b"))])
    store.append([record(0, tok("c"))._replace(day="2026-11-27")])
    store.append([record(9, tok("d")), record(1, tok("e"))._replace(day="2026-11-27")])  # late, then mixed days
    assert sorted(r.token or b"" for r in store.day_records(DAY)) == [tok("a"), tok("b"), tok("d")]
    assert sorted(r.token or b"" for r in store.day_records("2026-11-27")) == [tok("c"), tok("e")]
    assert store.day_records("2026-11-28") == []
    store.close()


def test_a_day_s_records_of_some_cameras_only(tmp_path: Path) -> None:
    store = FlowStore(tmp_path / "f.sqlite3", zone_id="pz", timezone="Europe/Brussels")
    store.append([record(0, tok("a")), record(5, tok("b"))._replace(camera="cam-s")])
    assert [r.token for r in store.day_records(DAY, cameras=frozenset({"cam-s"}))] == [tok("b")]
    assert store.day_records(DAY, cameras=frozenset({"cam-x"})) == []
    store.close()


def test_a_file_of_the_first_version_is_migrated_to_chunks(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    with sqlite3.connect(path) as db:  # a file as the first version wrote it: one row per read
        db.executescript(f"{first}; PRAGMA user_version = 1;")
        db.execute("INSERT INTO flow_meta VALUES ('zone', 'pz'), ('timezone', 'Europe/Brussels')")
        db.execute("INSERT INTO flow_dims VALUES (1, 'cam-n', '1', 'towards', 'entry', 'car', 'BE')")
        rows = [(DAY, 10, tok("a")), (DAY, 11, None), ("2026-11-27", 12, tok("b")), (DAY, 13, tok("c"))]
        db.executemany("INSERT INTO flow_records VALUES (?, ?, 1, ?)", rows)
    store = FlowStore(path, zone_id="pz", timezone="Europe/Brussels")
    assert sorted((r.at, r.token) for r in store.day_records(DAY)) == [(10, tok("a")), (13, tok("c"))]
    assert len(store.day_records(DAY, linked_only=False)) == 3
    assert [(r.day, r.camera, r.token) for r in store.day_records("2026-11-27")] == [("2026-11-27", "cam-n", tok("b"))]
    assert store.record_count() == 4
    assert store.record_days() == [DAY, "2026-11-27"]
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "flow_records" not in tables and "flow_chunks" in tables


def test_raw_records_of_closed_days_are_purged(tmp_path: Path) -> None:
    store = FlowStore(tmp_path / "f.sqlite3", zone_id="pz", timezone="Europe/Brussels")
    store.append([record(0, tok("a")), record(5, tok("b")), record(6, token=None)])
    store.append([record(0, tok("c"))._replace(day="2026-11-27")])
    assert store.purge_raw("2026-11-28") == 0  # no day closed yet: nothing goes
    store.close_day(DAY, [], 1)
    assert store.purge_raw("2026-11-28") == 3
    assert store.day_records(DAY, linked_only=False) == []
    assert store.record_count() == 1
    (cell,) = store.count_cells(DAY, DAY)  # the counts stay
    assert cell.n == 3
    store.close()
