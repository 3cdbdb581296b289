"""Linking one local day's flow records into trips: pure functions of the records and the zone.

Every function takes the day's records (any order) and walks each token's passages in time order. A token is
the day's keyed hash of a plate, so a chain is one vehicle's day, exactly as far as the cameras read it.

- **Gate trips** (`gate_trips`): an entry at a gate followed by the vehicle's next gate passage being an exit:
  origin gate → destination gate, with the time between them. An entry followed by another entry (the exit was
  missed) gives no trip, as in the zone-closure rule and the simulator's truth.
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
    """Entry gate → exit gate trips of one day."""
    trips: list[Trip] = []
    gate_of = layout.gate_of
    for chain in chains(records):
        entry: FlowRecord | None = None
        vehicle_class: str | None = None
        for record in chain:
            gate = gate_of.get(record.camera)
            if gate is None or record.movement not in ("entry", "exit"):
                continue
            if record.movement == "entry":
                entry = record
                continue
            if entry is not None:
                vehicle_class = _class_of(chain) if vehicle_class is None else vehicle_class
                trips.append(
                    Trip(entry.day, "gate", gate_of[entry.camera], gate, entry.at, record.at - entry.at, vehicle_class)
                )
            entry = None
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
