"""Linking a day's records into gate trips: along each token, then across look-alike misreads."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cordon.config import ZoneConfig
from cordon.flows.records import FlowRecord, Trip
from cordon.flows.secrets import DaySecrets
from cordon.flows.trips import ZoneLayout, gate_trips
from tests.flows.conftest import Clock

DAY = "2026-11-26"
T0 = 1_795_000_000
IN, OUT, IN2, OUT2 = "cam-n445-north", "cam-n47-south", "cam-heikant-south", "cam-kouter-northwest"


Passage = Callable[[str, str, int], FlowRecord]  # plate, camera, seconds after T0 → its flow record


@pytest.fixture
def passage(clock: Clock) -> Passage:
    secrets = DaySecrets("Europe/Brussels", clock=clock)

    def make(plate: str, camera: str, at: int) -> FlowRecord:
        (token,), (alike,) = secrets.tokens_of(DAY, [plate])
        movement = "entry" if camera in (IN, IN2) else "exit"
        return FlowRecord(DAY, T0 + at, camera, "1", "towards", movement, "car", "BE", token, alike)

    return make


def trips(records: list[FlowRecord], zone: ZoneConfig) -> list[tuple[str, str, int]]:
    found: list[Trip] = gate_trips(records, ZoneLayout.of(zone))
    return sorted((t.origin, t.destination, t.duration_s) for t in found)


@pytest.mark.parametrize(
    ("exit_plate", "expected"),
    [
        ("1ABC234", [("n445-north", "n47-south", 300)]),  # read right at both ends
        ("1A8C234", [("n445-north", "n47-south", 300)]),  # exit misread by a look-alike (B → 8): still a trip
        ("IABC234", [("n445-north", "n47-south", 300)]),  # 1 → I
        ("1ABC284", []),  # 3 → 8 are no look-alikes: the misread breaks the link, as it must
        ("1ABC23", []),  # a dropped character: no link
    ],
)
def test_a_trip_survives_a_look_alike_misread_at_one_end(
    passage: Passage, demo_zone: ZoneConfig, exit_plate: str, expected: list[tuple[str, str, int]]
) -> None:
    records = [passage("1ABC234", IN, 0), passage(exit_plate, OUT, 300)]
    assert trips(records, demo_zone) == expected


def test_a_look_alike_link_needs_both_ends_unpaired_and_nothing_in_between(
    passage: Passage, demo_zone: ZoneConfig
) -> None:
    records = [
        passage("1ABC234", IN, 0),
        passage("1A8C234", OUT, 300),  # misread exit of the first trip
        passage("1ABC234", IN2, 4000),
        passage("1ABC234", OUT2, 4600),  # second trip, read right at both ends
    ]
    assert trips(records, demo_zone) == [("heikant-south", "kouter-northwest", 600), ("n445-north", "n47-south", 300)]
    records = [
        passage("1ABC234", IN, 0),
        passage("1ABC234", IN2, 100),  # the vehicle entered again (its exit missed): the first entry goes nowhere
        passage("1A8C234", OUT, 300),
    ]
    assert trips(records, demo_zone) == [("heikant-south", "n47-south", 200)]
    records = [passage("1ABC234", IN, 0), passage("1ABC234", OUT, 300), passage("1A8C234", OUT2, 400)]
    assert trips(records, demo_zone) == [("n445-north", "n47-south", 300)]  # the entry was used: no second trip
