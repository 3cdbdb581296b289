"""Sluitend (zone closure): pair every entry with the next exit of the same plate.

A paired entry and exit is a `stay`. An exit with no entry before it (`unpaired_exit`), or an entry followed
by another entry (`unpaired_entry`), reveals a gap in the cordon: a camera missed a passage or a road is not
watched. Gaps per gate are a health figure of the network.

Reads may arrive late and out of order: the state keeps the plate's recent gate passages sorted by event
time and concludes only what the watermark has passed, so a late entry still pairs with its exit.
"""

from __future__ import annotations

from dataclasses import dataclass

from cordon.config.rules import ZoneClosureRule as ZoneClosureConfig
from cordon.config.zone import ZoneConfig
from cordon.records import Finding, Movement, PlateRead
from cordon.reference import ReferenceData
from cordon.rules.base import NOTHING, Decision, Rule
from cordon.timeutil import from_micros, to_micros


@dataclass(frozen=True, slots=True)
class Passage:
    """A gate passage, compact."""

    at_us: int
    camera_id: str
    event_id: str
    entry: bool


def _order(passage: Passage) -> tuple[int, str, str]:
    return (passage.at_us, passage.camera_id, passage.event_id)


#: The plate's gate passages not yet concluded, oldest first.
ClosureState = tuple[Passage, ...]


class ZoneClosureRule(Rule[ZoneClosureConfig, ClosureState]):
    """Entries paired with exits; gaps found by event time."""

    type = "zone_closure"

    def __init__(self, config: ZoneClosureConfig, zone: ZoneConfig, reference: ReferenceData) -> None:
        super().__init__(config, zone, reference)
        gate_cameras = {camera for gate in self.zone.gates for camera in gate.cameras}
        self._gate_cameras = frozenset(gate_cameras)
        self._max_stay_us = int(config.max_stay_hours * 3_600_000_000)

    def cameras(self) -> frozenset[str] | None:
        return self._gate_cameras

    def memory_us(self) -> int:
        return self._max_stay_us

    def decide(self, read: PlateRead, state: ClosureState | None) -> tuple[ClosureState | None, Decision]:
        camera = self.zone.camera(read.observed_by)
        movement = camera.movement_of(read.lane_id) if camera is not None else None
        if movement not in (Movement.ENTRY, Movement.EXIT):
            return state, NOTHING
        passage = Passage(to_micros(read.date_observed), read.observed_by, read.event_id, movement is Movement.ENTRY)
        if not state:
            return (passage,), NOTHING
        if _order(passage) >= _order(state[-1]):  # the usual case: reads of a plate arrive in event order
            return (*state, passage), NOTHING
        return tuple(sorted((*state, passage), key=_order)), NOTHING

    def deadline(self, state: ClosureState) -> int | None:
        # the oldest passage is concluded once the watermark (which already lags by the grace period for
        # late reads) has passed the next passage, or, when it is the last one, the longest stay
        if len(state) >= 2:
            return state[1].at_us
        return state[0].at_us + self._max_stay_us if state else None

    def expire(self, plate: str, state: ClosureState, watermark_us: int) -> tuple[ClosureState | None, Decision]:
        findings: list[Finding] = []
        passages = list(state)
        while passages:
            first = passages[0]
            following = passages[1] if len(passages) > 1 else None
            if following is not None and following.at_us <= watermark_us:
                if first.entry and not following.entry:
                    findings.append(self._finding("stay", plate, following, first))
                    passages = passages[2:]
                    continue
                findings.append(self._finding("unpaired_entry" if first.entry else "unpaired_exit", plate, first))
                passages = passages[1:]
                continue
            if following is None and first.at_us + self._max_stay_us <= watermark_us:
                findings.append(self._finding("unpaired_entry" if first.entry else "unpaired_exit", plate, first))
                passages = []
            break
        return (tuple(passages) or None), Decision(findings=tuple(findings))

    def _finding(self, kind: str, plate: str, passage: Passage, entry: Passage | None = None) -> Finding:
        reads: tuple[tuple[str, str], ...] = ((entry.camera_id, entry.event_id),) if entry is not None else ()
        reads += ((passage.camera_id, passage.event_id),)
        facts: dict[str, str | int | float | bool | None] = {"gate_camera": passage.camera_id}
        if entry is not None:
            facts["entry_camera"] = entry.camera_id
            facts["stay_s"] = (passage.at_us - entry.at_us) / 1_000_000
        return self.finding(
            kind, plate=plate, camera_id=passage.camera_id, at=from_micros(passage.at_us), read_ids=reads, facts=facts
        )
