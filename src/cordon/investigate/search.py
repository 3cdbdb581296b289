"""Running each query inside the door's windows: thin glue between `ReadsView` and the pure patterns.

Only `cordon.investigate.service` calls `execute`, after the door has answered `Allowed`: the view it gets is
built from that answer, so nothing here can reach beyond it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from cordon.config.zone import ZoneConfig
from cordon.investigate import patterns
from cordon.investigate.queries import (
    AreaSearch,
    Convoy,
    Export,
    FuzzySearch,
    PlateSearch,
    Presence,
    Query,
    ShortVisits,
    Timeline,
    WildcardSearch,
)
from cordon.investigate.reads import MAX_PLATES, FoundRead, Passage, ReadsView
from cordon.investigate.results import ConsultationResult, DoorOut, ReadOut
from cordon.plates import edit_distance, lookalike_key
from cordon.records import Movement
from cordon.timeutil import from_micros, to_micros


def _out(zone: ZoneConfig, found: FoundRead, match: str | None = None, distance: int | None = None) -> ReadOut:
    move = patterns.movement(zone, found.read.observed_by, found.read.lane_id)
    return ReadOut(read_id=found.read_id, movement=move, match=match, distance=distance, read=found.read)


def _passage(found: FoundRead) -> Passage:
    read = found.read
    return Passage(found.read_id, read.plate, read.observed_by, read.lane_id, to_micros(read.date_observed))


def _reads_result(zone: ZoneConfig, view: ReadsView, query_type: str, found: Sequence[FoundRead], limit: int,
                  plates: int | None = None) -> ConsultationResult:  # fmt: skip
    shown = list(found[:limit])
    return ConsultationResult(
        type=query_type,
        count=len(shown),
        truncated=len(found) > limit,
        plates_matched=plates,
        door=DoorOut.of(view.allowed),
        reads=[_out(zone, f) for f in shown],
    )


_LEVELS = {"exact": 0, "lookalike": 1, "candidate": 2, "distance": 3}


def fuzzy(zone: ZoneConfig, view: ReadsView, query: FuzzySearch) -> ConsultationResult:
    """Plates within `max_distance` edits of the typed one, look-alikes free (`exact`, `lookalike`,
    `distance`), then reads whose stored top-N candidates hold a look-alike of it (`candidate`)."""
    key = lookalike_key(query.plate)
    scored: dict[int, tuple[int, int, FoundRead]] = {}
    plates = 0
    for plate in view.lookalike_neighbours(query.plate, query.max_distance):
        distance = edit_distance(key, lookalike_key(plate), query.max_distance)
        if distance > query.max_distance:
            continue
        level = "exact" if plate == query.plate else ("lookalike" if distance == 0 else "distance")
        of_plate = view.plate_reads(plate, query.limit + 1)
        plates += bool(of_plate)
        scored.update((f.read_id, (_LEVELS[level], distance, f)) for f in of_plate)
    for found in view.candidate_reads(query.plate, query.limit + 1):
        if found.read_id not in scored:
            distance = edit_distance(key, lookalike_key(found.read.plate))
            scored[found.read_id] = (_LEVELS["candidate"], distance, found)
    ranked = sorted(scored.values(), key=lambda s: (s[0], s[1], -s[2].read.date_observed.timestamp(), -s[2].read_id))
    names = {v: k for k, v in _LEVELS.items()}
    reads = [_out(zone, f, names[level], distance) for level, distance, f in ranked[: query.limit]]
    return ConsultationResult(
        type=query.type,
        count=len(reads),
        truncated=len(ranked) > query.limit,
        plates_matched=plates,
        door=DoorOut.of(view.allowed),
        reads=reads,
    )


def convoy(zone: ZoneConfig, view: ReadsView, query: Convoy) -> ConsultationResult:
    anchors = [_passage(f) for f in view.plate_reads(query.plate, 100_000, newest_first=False)]
    gap = timedelta(seconds=query.max_gap_s)
    neighbours = {}
    for anchor in anchors:
        at = from_micros(anchor.at_us)
        neighbours[anchor.read_id] = view.near(anchor.camera_id, at - gap, at + gap + timedelta(microseconds=1))
    local = ZoneInfo(zone.zone.timezone)
    ranked = patterns.convoy(anchors, neighbours, query.max_gap_s, query.min_cameras, local)
    return ConsultationResult(
        type=query.type,
        count=min(len(ranked), query.limit),
        truncated=len(ranked) > query.limit,
        door=DoorOut.of(view.allowed),
        companions=ranked[: query.limit],
    )


def _gate_cameras(zone: ZoneConfig) -> frozenset[str]:
    """Cameras with an entry or exit lane: the only ones that tell whether a vehicle is inside."""
    return frozenset(c.id for c in zone.cameras if any(lane.movement is not Movement.INTERNAL for lane in c.lanes))


def execute(zone: ZoneConfig, view: ReadsView, query: Query) -> ConsultationResult:
    """Run an allowed query. Exports are read here too (their ZIP is built by `cordon.investigate.export`)."""
    door = DoorOut.of(view.allowed)
    if isinstance(query, PlateSearch):
        return _reads_result(zone, view, query.type, view.plate_reads(query.plate, query.limit + 1), query.limit)
    if isinstance(query, WildcardSearch):
        plates = view.plates_matching(query.pattern)
        result = _reads_result(zone, view, query.type, view.plates_reads(plates[:MAX_PLATES], query.limit + 1),
                               query.limit, min(len(plates), MAX_PLATES))  # fmt: skip
        return result.model_copy(update={"truncated": True}) if len(plates) > MAX_PLATES else result
    if isinstance(query, FuzzySearch):
        return fuzzy(zone, view, query)
    if isinstance(query, AreaSearch):
        return _reads_result(zone, view, query.type, view.camera_reads(query.limit + 1), query.limit)
    if isinstance(query, Timeline):
        found = view.plate_reads(query.plate, 100_000, newest_first=False)
        stays = patterns.stays(zone, [_passage(f) for f in found])
        reads = [_out(zone, f) for f in found]
        return ConsultationResult(type=query.type, count=len(reads), door=door, reads=reads, stays=stays)
    if isinstance(query, Presence):
        assert query.window.since is not None and query.window.until is not None
        entered_after = query.window.since - timedelta(minutes=query.entered_within_minutes)
        passages = view.passages(entered_after, query.window.until, _gate_cameras(zone))
        found_present = patterns.present(zone, passages, query.window.since, query.window.until, entered_after)
        return ConsultationResult(type=query.type, count=len(found_present), door=door, present=found_present)
    if isinstance(query, Convoy):
        return convoy(zone, view, query)
    if isinstance(query, ShortVisits):
        local = ZoneInfo(zone.zone.timezone)
        gates = frozenset(camera for gate in zone.gates for camera in gate.cameras)
        leads = patterns.short_visits(zone, view.passages(cameras=gates), query.max_minutes, query.min_days,
                                      query.within_days, query.same_gate, local)  # fmt: skip
        return ConsultationResult(
            type=query.type, count=min(len(leads), query.limit), truncated=len(leads) > query.limit, door=door,
            leads=leads[: query.limit],
        )  # fmt: skip
    assert isinstance(query, Export)
    found = view.reads_by_id(query.read_ids) if query.read_ids else view.plate_reads(query.plate or "", 100_000)
    return _reads_result(zone, view, query.type, found, len(found) or 1)
