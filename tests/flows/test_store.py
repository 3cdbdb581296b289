"""The flow store: its own file and schema version, counts kept on append, days closed once."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from cordon.errors import CordonError
from cordon.flows.records import FlowRecord, Trip
from cordon.flows.store import SCHEMA_VERSION, FlowStore

DAY = "2026-11-26"


def record(at: int, token: bytes | None = b"t") -> FlowRecord:
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
        "flow_records",
        "flow_day_rows",
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
    store.append([record(0, b"a"), record(5, b"b")])
    store.append([record(0, b"c")._replace(day="2026-11-27")])
    store.append([record(9, b"d"), record(1, b"e")._replace(day="2026-11-27")])  # late, then mixed days
    assert sorted(r.token or b"" for r in store.day_records(DAY)) == [b"a", b"b", b"d"]
    assert sorted(r.token or b"" for r in store.day_records("2026-11-27")) == [b"c", b"e"]
    assert store.day_records("2026-11-28") == []
    store.close()


def test_a_day_s_records_of_some_cameras_only(tmp_path: Path) -> None:
    store = FlowStore(tmp_path / "f.sqlite3", zone_id="pz", timezone="Europe/Brussels")
    store.append([record(0, b"a"), record(5, b"b")._replace(camera="cam-s")])
    assert [r.token for r in store.day_records(DAY, cameras=frozenset({"cam-s"}))] == [b"b"]
    assert store.day_records(DAY, cameras=frozenset({"cam-x"})) == []
    store.close()
