"""Pure analyses over passages: a vehicle's timeline, presence in an area, convoys, short visits.

No I/O: each function takes passages (or reads) and the zone's camera layout and returns typed results, so
the analyses are tested with tables of cases and the simulator's truth. Movements come from the camera's lane
configuration (entry, exit, internal).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise

from cordon.config.zone import ZoneConfig
from cordon.investigate.reads import Passage
from cordon.records import Movement
from cordon.timeutil import from_micros, to_micros


def movement(zone: ZoneConfig, camera_id: str, lane_id: str | None) -> Movement | None:
    """Entry, exit or internal for a read, from its camera's lanes (None: unknown camera or lane)."""
    camera = zone.camera(camera_id)
    return camera.movement_of(lane_id) if camera is not None else None


@dataclass(frozen=True, slots=True)
class Stay:
    """An entry into the zone and the exit that followed it (either may be missing at the window's ends)."""

    entry_read: int | None
    entry_camera: str | None
    entered_at: datetime | None
    exit_read: int | None
    exit_camera: str | None
    left_at: datetime | None

    @property
    def minutes(self) -> float | None:
        if self.entered_at is None or self.left_at is None:
            return None
        return (self.left_at - self.entered_at).total_seconds() / 60


def stays(zone: ZoneConfig, passages: Sequence[Passage]) -> list[Stay]:
    """Entries paired with the next exit, in time order; an exit without entry (inside when the window opened)
    and an entry without exit (still inside) are stays with one end."""
    out: list[Stay] = []
    entry: Passage | None = None
    for p in sorted(passages, key=lambda p: (p.at_us, p.read_id)):
        move = movement(zone, p.camera_id, p.lane_id)
        if move is Movement.ENTRY:
            if entry is not None:
                out.append(Stay(entry.read_id, entry.camera_id, from_micros(entry.at_us), None, None, None))
            entry = p
        elif move is Movement.EXIT:
            if entry is None:
                out.append(Stay(None, None, None, p.read_id, p.camera_id, from_micros(p.at_us)))
            else:
                out.append(
                    Stay(entry.read_id, entry.camera_id, from_micros(entry.at_us),
                         p.read_id, p.camera_id, from_micros(p.at_us))
                )  # fmt: skip
            entry = None
    if entry is not None:
        out.append(Stay(entry.read_id, entry.camera_id, from_micros(entry.at_us), None, None, None))
    return out


@dataclass(frozen=True, slots=True)
class Present:
    """A vehicle inside the area for the whole window: its entry, and its exit if it left after the window."""

    plate: str
    entry_read: int
    entry_camera: str
    entered_at: datetime
    exit_read: int | None
    left_at: datetime | None


def present(
    zone: ZoneConfig, passages: Iterable[Passage], since: datetime, until: datetime, entered_after: datetime
) -> list[Present]:
    """Vehicles whose last movement before `since` was an entry (at or after `entered_after`) and that did not
    exit before `until` (DESIGN.md §4, burglary: entered before, left after). Internal reads do not count."""
    by_plate: dict[str, list[Passage]] = defaultdict(list)
    for p in passages:
        by_plate[p.plate].append(p)
    low, start, end = to_micros(entered_after), to_micros(since), to_micros(until)
    found = []
    for plate, seen in by_plate.items():
        entry: Passage | None = None
        left: Passage | None = None
        for p in sorted(seen, key=lambda p: (p.at_us, p.read_id)):
            move = movement(zone, p.camera_id, p.lane_id)
            if p.at_us < start:
                entry = p if move is Movement.ENTRY else (None if move is Movement.EXIT else entry)
            elif move is Movement.EXIT:
                left = p
                break
        if entry is None or entry.at_us < low or (left is not None and left.at_us < end):
            continue
        found.append(
            Present(plate, entry.read_id, entry.camera_id, from_micros(entry.at_us),
                    left.read_id if left else None, from_micros(left.at_us) if left else None)
        )  # fmt: skip
    return sorted(found, key=lambda f: (f.entered_at, f.plate))


@dataclass(frozen=True, slots=True)
class Companion:
    """A plate seen near the subject's reads: at how many distinct cameras, how often, on which days."""

    plate: str
    cameras: tuple[str, ...]
    meetings: int
    days: tuple[date, ...]
    closest_gap_s: float


def convoy(
    anchors: Sequence[Passage],
    neighbours: Mapping[int, Sequence[Passage]],
    max_gap_s: float,
    min_cameras: int,
    local: tzinfo,
) -> list[Companion]:
    """Rank the plates seen within `max_gap_s` of the subject's reads (`neighbours[anchor.read_id]`): most
    distinct cameras first, then most days, then most meetings; those below `min_cameras` are left out."""
    gap = int(max_gap_s * 1_000_000)
    cams: dict[str, set[str]] = defaultdict(set)
    days: dict[str, set[date]] = defaultdict(set)
    meetings: dict[str, int] = defaultdict(int)
    closest: dict[str, int] = {}
    subject = {a.plate for a in anchors}
    for anchor in anchors:
        met: set[str] = set()
        for other in neighbours.get(anchor.read_id, ()):
            distance = abs(other.at_us - anchor.at_us)
            if other.plate in subject or other.camera_id != anchor.camera_id or distance > gap:
                continue
            cams[other.plate].add(anchor.camera_id)
            days[other.plate].add(from_micros(anchor.at_us).astimezone(local).date())
            closest[other.plate] = min(closest.get(other.plate, distance), distance)
            met.add(other.plate)
        for plate in met:
            meetings[plate] += 1
    ranked = [
        Companion(plate, tuple(sorted(c)), meetings[plate], tuple(sorted(days[plate])), closest[plate] / 1e6)
        for plate, c in cams.items()
        if len(c) >= min_cameras
    ]
    ranked.sort(key=lambda c: (-len(c.cameras), -len(c.days), -c.meetings, c.closest_gap_s, c.plate))
    return ranked


@dataclass(frozen=True, slots=True)
class ShortVisitLead:
    """A vehicle with short visits on at least k distinct days within D days: a lead, never a sanction."""

    plate: str
    days: tuple[date, ...]
    visits: int
    shortest_minutes: float


def short_visits(
    zone: ZoneConfig,
    passages: Iterable[Passage],
    max_minutes: float,
    min_days: int,
    within_days: int,
    same_gate: bool,
    local: tzinfo,
) -> list[ShortVisitLead]:
    """Pair each entry with the plate's next gate passage; an exit within `max_minutes` (by the same gate when
    `same_gate`) is a short visit on the entry's local day. Keep plates with ≥ `min_days` such days inside some
    `within_days`-day window."""
    gate_of = {camera: gate.id for gate in zone.gates for camera in gate.cameras}
    by_plate: dict[str, list[Passage]] = defaultdict(list)
    for p in passages:
        if p.camera_id in gate_of:
            by_plate[p.plate].append(p)
    limit = max_minutes * 60 * 1_000_000
    leads = []
    for plate, seen in by_plate.items():
        seen.sort(key=lambda p: (p.at_us, p.read_id))
        visit_days: set[date] = set()
        visits, shortest = 0, float("inf")
        for first, second in pairwise(seen):
            if movement(zone, first.camera_id, first.lane_id) is not Movement.ENTRY:
                continue
            if movement(zone, second.camera_id, second.lane_id) is not Movement.EXIT:
                continue
            stay = second.at_us - first.at_us
            if stay > limit or (same_gate and gate_of[first.camera_id] != gate_of[second.camera_id]):
                continue
            visits += 1
            shortest = min(shortest, stay / 60e6)
            visit_days.add(from_micros(first.at_us).astimezone(local).date())
        ordered = sorted(visit_days)
        if any(
            (ordered[i + min_days - 1] - ordered[i]) < timedelta(days=within_days)
            for i in range(len(ordered) - min_days + 1)
        ):
            leads.append(ShortVisitLead(plate, tuple(ordered), visits, round(shortest, 2)))
    return sorted(leads, key=lambda lead: (-len(lead.days), -lead.visits, lead.plate))
