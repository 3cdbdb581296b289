"""Linking one local day's flow records into trips: pure functions of the records and the zone.

Every function takes the day's records (any order) and walks each token's passages in time order. A token is
the day's keyed hash of a plate, so a chain is one vehicle's day, exactly as far as the cameras read it.

- **Gate trips** (`gate_trips`): an entry at a gate followed by the vehicle's next gate passage being an exit:
  origin gate → destination gate, with the time between them. An entry followed by another entry (the exit was
  missed) gives no trip, as in the zone-closure rule and the simulator's truth. An entry and an exit left
  unpaired because one of the two reads was misread by a look-alike character (`8` for `B`) still make a trip
  when their look-alike tokens are equal and nothing of either token passed a gate in between.
- **Section trips** (`section_trips`): a passage at a section's entry camera followed within two hours by one at
  its exit camera.
- **Camera transitions** (`camera_transitions`): for any set of cameras, consecutive passages of a vehicle at
  two cameras of the set (within `max_gap_s`): the origin-destination matrix between any cameras.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from cordon.config.zone import ZoneConfig
from cordon.flows.records import FlowRecord, Trip

MAX_SECTION_S = 2 * 3600


@dataclass(frozen=True, slots=True)
class ZoneLayout:
    """What the linking needs to know of the zone: which camera belongs to which gate, the sections."""

    gate_of: dict[str, str]  # camera id -> gate id
    sections: tuple[tuple[str, str, str], ...]  # (section id, entry camera, exit camera)

    @classmethod
    def of(cls, zone: ZoneConfig) -> ZoneLayout:
        gate_of = {camera: gate.id for gate in zone.gates for camera in gate.cameras}
        sections = tuple((s.id, s.entry_camera, s.exit_camera) for s in zone.sections)
        return cls(gate_of, sections)


def chains(records: Iterable[FlowRecord]) -> Iterator[list[FlowRecord]]:
    """Each token's records in time order (records without a token are left out)."""
    linked = sorted((r for r in records if r.token is not None), key=lambda r: (r.token, r.at))
    start = 0
    for index in range(1, len(linked) + 1):
        if index == len(linked) or linked[index].token != linked[start].token:
            yield linked[start:index]
            start = index


def _class_of(chain: Sequence[FlowRecord]) -> str:
    """The class the cameras reported most often for the vehicle ("" if none did)."""
    known = Counter(r.vehicle_class for r in chain if r.vehicle_class)
    return known.most_common(1)[0][0] if known else ""


def gate_trips(records: Iterable[FlowRecord], layout: ZoneLayout) -> list[Trip]:
    """Entry gate → exit gate trips of one day: along each token's chain, then, for the entries and exits left
    unpaired, along look-alike chains (a plate misread by a look-alike character at one end)."""
    trips: list[Trip] = []
    gate_of = layout.gate_of
    gate_records = [r for r in records if r.camera in gate_of and r.movement in ("entry", "exit")]
    unpaired: set[int] = set()  # id() of the entries and exits left unpaired (the records outlive the set)
    for chain in chains(gate_records):
        entry: FlowRecord | None = None
        vehicle_class: str | None = None
        for record in chain:
            if record.movement == "entry":
                if entry is not None:
                    unpaired.add(id(entry))
                entry = record
                continue
            if entry is not None:
                vehicle_class = _class_of(chain) if vehicle_class is None else vehicle_class
                trips.append(
                    Trip(entry.day, "gate", gate_of[entry.camera], gate_of[record.camera], entry.at,
                         record.at - entry.at, vehicle_class)
                )  # fmt: skip
            else:
                unpaired.add(id(record))
            entry = None
        if entry is not None:
            unpaired.add(id(entry))
    return trips + _lookalike_trips(gate_records, unpaired, gate_of)


def _lookalike_trips(gate_records: Sequence[FlowRecord], unpaired: set[int], gate_of: dict[str, str]) -> list[Trip]:
    """Trips between an unpaired entry and an unpaired exit of two different tokens with the same look-alike
    token, when the exit is the next gate passage of that look-alike group after the entry (the rule of the
    token chains, applied to the group: nothing of either plate passed a gate in between)."""
    groups: dict[bytes, list[FlowRecord]] = {}
    for record in gate_records:
        if record.alike is not None and record.token is not None:
            groups.setdefault(record.alike, []).append(record)
    trips: list[Trip] = []
    for group in groups.values():
        if len(group) < 2 or not any(id(r) in unpaired for r in group):
            continue
        group.sort(key=lambda r: r.at)
        for before, after in pairwise(group):
            if (
                before.movement == "entry"
                and after.movement == "exit"
                and before.token != after.token
                and id(before) in unpaired
                and id(after) in unpaired
            ):
                vehicle_class = before.vehicle_class or after.vehicle_class
                trips.append(Trip(before.day, "gate", gate_of[before.camera], gate_of[after.camera], before.at,
                                  after.at - before.at, vehicle_class))  # fmt: skip
    return trips


def section_trips(records: Iterable[FlowRecord], layout: ZoneLayout) -> list[Trip]:
    """Section entry camera → exit camera trips of one day (within two hours)."""
    starting: dict[str, list[str]] = {}
    ending: dict[str, list[str]] = {}
    for section, entry_camera, exit_camera in layout.sections:
        starting.setdefault(entry_camera, []).append(section)
        ending.setdefault(exit_camera, []).append(section)
    if not starting:
        return []
    trips: list[Trip] = []
    for chain in chains(r for r in records if r.camera in starting or r.camera in ending):
        started: dict[str, FlowRecord] = {}
        for record in chain:
            for section in ending.get(record.camera, ()):
                seen = started.pop(section, None)
                if seen is not None and 0 < record.at - seen.at <= MAX_SECTION_S:
                    trips.append(Trip(seen.day, "section", section, section, seen.at, record.at - seen.at,
                                      seen.vehicle_class or record.vehicle_class))  # fmt: skip
            for section in starting.get(record.camera, ()):
                started[section] = record
    return trips


def day_trips(records: Sequence[FlowRecord], layout: ZoneLayout) -> list[Trip]:
    """Every trip of one day: gate trips, then section trips."""
    return gate_trips(records, layout) + section_trips(records, layout)


def camera_transitions(
    records: Iterable[FlowRecord], cameras: frozenset[str], max_gap_s: int = 3600
) -> Counter[tuple[str, str]]:
    """(from camera, to camera) → vehicles that passed one and then, next among `cameras`, the other."""
    found: Counter[tuple[str, str]] = Counter()
    for chain in chains(r for r in records if r.camera in cameras):
        for before, after in pairwise(chain):
            if before.camera != after.camera and after.at - before.at <= max_gap_s:
                found[(before.camera, after.camera)] += 1
    return found
