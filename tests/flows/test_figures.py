"""The figures as pure functions: trips from records, suppression, counts, OD, through share, travel times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from cordon.flows import figures
from cordon.flows.models import Period
from cordon.flows.records import FlowRecord, Trip
from cordon.flows.store import CountCell
from cordon.flows.suppress import complementary, primary, protect, split_publishable
from cordon.flows.trips import ZoneLayout, camera_transitions, gate_trips, section_trips

DAY = "2026-11-26"
T0 = int(datetime(2026, 11, 26, 7, 0, tzinfo=UTC).timestamp())  # 08:00 Brussels
LAYOUT = ZoneLayout(gate_of={"cam-n": "north", "cam-s": "south"}, sections=(("stationsstraat", "cam-a", "cam-b"),))
PERIOD = Period(first_day=DAY, last_day=DAY, k=5)


def rec(token: bytes | None, camera: str, at: int, movement: str = "", vehicle_class: str = "car") -> FlowRecord:
    return FlowRecord(DAY, T0 + at, camera, "1", "towards", movement, vehicle_class, "BE", token)


# -- trips ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passages", "expected"),
    [
        ([("cam-n", 0, "entry"), ("cam-s", 300, "exit")], [("north", "south", 300)]),
        ([("cam-s", 300, "exit"), ("cam-n", 0, "entry")], [("north", "south", 300)]),  # order of arrival
        ([("cam-n", 0, "entry"), ("cam-n", 100, "entry"), ("cam-s", 400, "exit")], [("north", "south", 300)]),
        ([("cam-n", 0, "exit"), ("cam-s", 300, "exit")], []),  # inside since the night: no entry
        ([("cam-n", 0, "entry"), ("cam-x", 60, "internal"), ("cam-n", 900, "exit")], [("north", "north", 900)]),
        (
            [("cam-n", 0, "entry"), ("cam-s", 60, "exit"), ("cam-s", 600, "entry"), ("cam-n", 700, "exit")],
            [("north", "south", 60), ("south", "north", 100)],
        ),
    ],
)
def test_gate_trips(passages: list[tuple[str, int, str]], expected: list[tuple[str, str, int]]) -> None:
    records = [rec(b"v1", camera, at, movement) for camera, at, movement in passages]
    found = [(t.origin, t.destination, t.duration_s) for t in gate_trips(records, LAYOUT)]
    assert found == expected


def test_trips_never_link_two_tokens_or_untokened_records() -> None:
    records = [rec(b"v1", "cam-n", 0, "entry"), rec(b"v2", "cam-s", 300, "exit"), rec(None, "cam-s", 400, "exit")]
    assert gate_trips(records, LAYOUT) == []


def test_section_trips_pair_entry_and_exit_within_two_hours() -> None:
    records = [rec(b"v1", "cam-a", 0), rec(b"v1", "cam-b", 90), rec(b"v2", "cam-a", 0), rec(b"v2", "cam-b", 9000)]
    trips = section_trips(records, LAYOUT)
    assert [(t.origin, t.duration_s) for t in trips] == [("stationsstraat", 90)]


def test_camera_transitions_between_any_cameras() -> None:
    records = [rec(b"v1", "cam-a", 0), rec(b"v1", "cam-x", 30), rec(b"v1", "cam-b", 90), rec(b"v2", "cam-b", 5)]
    assert camera_transitions(records, frozenset({"cam-a", "cam-b"})) == {("cam-a", "cam-b"): 1}


# -- suppression ---------------------------------------------------------------------------------------------


def test_primary_suppresses_below_k_and_keeps_zero() -> None:
    assert primary({"a": 4, "b": 5, "c": 0, "d": 1}, 5) == {"a", "d"}


def test_complementary_hides_a_neighbour_when_one_small_cell_could_be_recovered_from_the_total() -> None:
    values = {("x", "car"): 40, ("x", "lorry"): 2, ("x", "bus"): 9, ("y", "car"): 50}
    hidden = complementary(values, primary(values, 5), lambda key: key[0], 5)
    assert hidden == {("x", "lorry"), ("x", "bus")}  # 2 alone is below k: the smallest other joins it


def test_protect_settles_along_several_parents() -> None:
    values = {(h, c): n for (h, c), n in {(0, "a"): 3, (0, "b"): 30, (1, "a"): 30, (1, "b"): 30}.items()}
    parents: list[Callable[[tuple[int, str]], object]] = [lambda key: key[0], lambda key: key[1]]
    hidden = protect(values, 5, parents)
    for parent in parents:
        groups: dict[object, int] = {}
        for key in hidden:
            groups[parent(key)] = groups.get(parent(key), 0) + values[key]
        assert all(total == 0 or total >= 5 for total in groups.values())


@pytest.mark.parametrize(
    ("part", "whole", "ok"),
    [(0, 10, True), (10, 10, True), (5, 10, True), (4, 10, False), (6, 10, False), (0, 4, False)],
)
def test_split_publishable(part: int, whole: int, ok: bool) -> None:
    assert split_publishable(part, whole, 5) is ok


# -- counts and their differencing ---------------------------------------------------------------------------


def cell(day: str, hour: int, camera: str, n: int, vehicle_class: str = "car") -> CountCell:
    slot = int(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp())
    return CountCell(day, slot, camera, "1", "towards", "entry", vehicle_class, n)


def test_counts_suppress_small_cells_and_their_complement() -> None:
    cells = [cell(DAY, 7, "cam-n", 40), cell(DAY, 7, "cam-n", 2, "lorry"), cell(DAY, 7, "cam-n", 7, "bus")]
    out = figures.counts(cells, PERIOD, "Europe/Brussels", "hour", ["camera", "vehicle_class"])
    shown = {(r.vehicle_class, r.count) for r in out.rows}
    assert shown == {("car", 40), ("lorry", None), ("bus", None)}
    assert out.suppressed == 2
    assert out.rows[0].start.isoformat() == "2026-11-26T08:00:00+01:00"


def test_overlapping_periods_never_differ_by_a_small_cell() -> None:
    """OD over two days minus OD over the first day must be a published day atom, never a hidden one."""
    atoms = [("2026-11-25", "north", "south", 30), ("2026-11-26", "north", "south", 3)]
    both = figures.od_matrix(atoms, Period(first_day="2026-11-25", last_day="2026-11-26", k=5), "gates", [])
    first = figures.od_matrix(atoms[:1], Period(first_day="2026-11-25", last_day="2026-11-25", k=5), "gates", [])
    assert both.cells[0].trips == first.cells[0].trips == 30  # the 3 trips of the 26th never show up
    assert both.cells[0].suppressed_days == 1


def test_through_share_and_overall_share() -> None:
    trips = [Trip(DAY, "gate", "north", "south", T0, 300, "car")] * 8 + [
        Trip(DAY, "gate", "north", "south", T0, 4000, "car")
    ] * 12
    out = figures.through(figures.trip_atoms(trips, 15 * 60), PERIOD, 15)
    assert (out.rows[0].trips, out.rows[0].through, out.rows[0].share) == (20, 8, 0.4)
    assert out.share == 0.4


def test_through_share_is_hidden_when_one_part_is_small() -> None:
    trips = [Trip(DAY, "gate", "north", "south", T0, 300, "car")] * 3 + [
        Trip(DAY, "gate", "north", "south", T0, 4000, "car")
    ] * 30
    out = figures.through(figures.trip_atoms(trips, 15 * 60), PERIOD, 15)
    assert out.rows[0].share is None and out.rows[0].suppressed_days == 1


def test_travel_times_median_p85_and_trend() -> None:
    trips = [Trip(d, "section", "s", "s", T0, 60 + i, "car") for d in ("2026-11-25", "2026-11-26") for i in range(10)]
    trips = [t._replace(duration_s=t.duration_s + (10 if t.day == "2026-11-26" else 0)) for t in trips]
    out = figures.travel_times(
        figures.duration_counts(trips, 900), Period(first_day="2026-11-25", last_day="2026-11-26", k=5), 15
    )
    (row,) = out.rows
    assert row.trips == 20 and row.median_s == pytest.approx(69.5)
    assert [p.median_s for p in row.trend] == [64.5, 74.5]
    assert row.slope_s_per_day == pytest.approx(10.0)


def test_heavy_share() -> None:
    cells = [cell(DAY, 7, "cam-n", 90), cell(DAY, 7, "cam-n", 10, "lorry"), cell(DAY, 7, "cam-n", 5, "")]
    (row,) = figures.heavy_share(cells, PERIOD).rows
    assert (row.heavy, row.known, row.share) == (10, 100, 0.1)


def test_profile_means_per_kind_of_day() -> None:
    cells = [cell("2026-11-23", 7, "cam-n", 10), cell("2026-11-24", 7, "cam-n", 30)]  # Monday, Tuesday
    out = figures.profile(cells, Period(first_day="2026-11-23", last_day="2026-11-24", k=5), "Europe/Brussels",
                          ["2026-11-23", "2026-11-24"], weekly=False, camera=None)  # fmt: skip
    point = next(p for p in out.points if p.hour == 8)
    assert (point.day_type, point.mean, point.days) == ("weekday", 20.0, 2)
