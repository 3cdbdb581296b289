"""Reference data: CSV files loaded with plates normalised and every bad line reported, never half-loaded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cordon.reference import Permit, RejectedLine, TimeWindow, load_fixtures, load_hotlist, load_permits


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


def test_hotlist_lines_are_normalised_and_bad_ones_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "hotlist.csv",
        """
list,entry,plate,country,category,priority,reason,valid_from,valid_until
stolen,h1,1-abc-234,BE,stolen,1,stolen 2026-11-01,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z
stolen,h2,1-AB€-234,BE,stolen,1,x,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z
stolen,h3,2XYZ999,BE,stolen,one,x,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z
stolen,h4,2XYZ998,BE,stolen,1,x,2026-11-01,2027-01-01T00:00:00Z
""",
    )
    rejected: list[RejectedLine] = []
    entries = load_hotlist(path, rejected)
    assert [e.plate for e in entries] == ["1ABC234"]
    assert [(r.line, r.message.split(" ")[0]) for r in rejected] == [(3, "plate"), (4, "invalid"), (5, "time")]
    assert str(rejected[0]).startswith(f"{path}:3: plate '1-AB€-234'")


def test_missing_columns_reject_the_file(tmp_path: Path) -> None:
    rejected: list[RejectedLine] = []
    assert load_hotlist(write(tmp_path / "h.csv", "plate\n1ABC234"), rejected) == []
    assert "missing column(s): list, entry" in rejected[0].message


@pytest.mark.parametrize(
    ("window", "local", "inside"),
    [
        ("12345 06:00-11:00", datetime(2026, 11, 23, 6, 0), True),  # Monday, at the start
        ("12345 06:00-11:00", datetime(2026, 11, 23, 11, 0), False),  # the end is excluded
        ("12345 06:00-11:00", datetime(2026, 11, 28, 8, 0), False),  # Saturday
        ("67 00:00-23:59", datetime(2026, 11, 29, 12, 0), True),  # Sunday
    ],
)
def test_time_windows(window: str, local: datetime, inside: bool) -> None:
    assert TimeWindow.parse(window).contains(local) is inside


@pytest.mark.parametrize("bad", ["", "12345", "8 06:00-07:00", "1 07:00-06:00", "1 6-7"])
def test_bad_time_windows(bad: str) -> None:
    with pytest.raises(ValueError, match="time window"):
        TimeWindow.parse(bad)


def test_permits_and_fixture_folder(tmp_path: Path) -> None:
    write(
        tmp_path / "permits.csv",
        """
permit,type,plate,area,valid_from,valid_until,windows
p1,access,1-ABC-234,schoolstraat,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,12345 07:30-08:30;12345 15:00-16:00
p2,parking,1-ABC-235,schoolstraat,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,
""",
    )
    write(tmp_path / "vehicle-registry.csv", "plate,category,vehicle_type,max_mass_kg\n1-XYZ-001,n3,lorry,26000")
    data, rejected = load_fixtures(tmp_path)
    (permit,) = data.permits_for("1ABC234", "access")
    assert isinstance(permit, Permit) and len(permit.windows) == 2
    moment = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Brussels
    assert permit.valid_at(moment, datetime(2026, 11, 23, 8, 0))
    assert not permit.valid_at(moment, datetime(2026, 11, 23, 9, 0))
    assert [r.line for r in rejected] == [3]
    assert data.registry["1XYZ001"].category == "N3"
    assert load_permits(tmp_path / "permits.csv", [])[0].permit_id == "p1"
