"""Trajectcontrole (section control): the average speed of one plate between two cameras.

Each controlled section (and each chain of sections, from its first entry to its last exit) pairs a read at its
entry camera with the first read at its exit camera that follows it, for the *same* normalised plate: state is
kept by plate, so only exact matches pair, and a look-alike never becomes speed evidence. The pair is timed,
the Belgian margin applied, and a corrected speed above the limit is a violation routed to GAS-5 or the
prosecutor (`section_control_speed`).

A pair is evidence only when both cameras' clocks were in sync at their passages: the clock reports
(`ReferenceData.clock_offset_at`) must know each camera's offset and find it within the camera's
`clock_tolerance_s`; otherwise the pair is refused with a finding saying why. With `clock_benefit` on, the
timed duration is lengthened by as much as the reported offsets say the clocks shortened it (never shortened),
plus a residual per camera, so that a clock error within tolerance never raises a speed.

Reads arrive late and out of order: the plate's passages are kept sorted by event time, and an exit is judged
only once the watermark has passed it (every read before it has then arrived). A read later still, whose
stretch was already judged, reopens the judgement of the exits after it; pairs already made are never undone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from cordon.config.rules import SectionControlRule as SectionControlConfig
from cordon.config.zone import ZoneConfig
from cordon.records import PlateRead, Violation
from cordon.reference import ReferenceData
from cordon.rules.base import NOTHING, Decision, Rule, merge, stable_id
from cordon.rules.section_control_speed import (
    Measurement,
    average_speed,
    clock_in_tolerance,
    corrected_speed,
    legal_basis,
    margin_applied,
    measurements,
    route_for,
)
from cordon.timeutil import from_micros, isoformat_z, to_micros


@dataclass(frozen=True, slots=True)
class Passage:
    """A read at a section camera, compact. `paired`: bit 2m set once it is the entry of a pair of measurement
    m, bit 2m + 1 once it is the exit of one (a read is never evidence in two pairs of one measurement)."""

    at_us: int
    camera: str
    event_id: str
    paired: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.camera, self.event_id)


@dataclass(frozen=True, slots=True)
class SectionState:
    """The plate's recent passages at section cameras, oldest first; exits up to `judged_us` have been judged,
    and passages up to `horizon_us` forgotten (a read that old comes too late to be used)."""

    passages: tuple[Passage, ...]
    judged_us: int = -1
    horizon_us: int = -1


class SectionControlRule(Rule[SectionControlConfig, SectionState]):
    """Average speed per section and chain; violations with both reads as evidence."""

    type = "section_control"

    def __init__(self, config: SectionControlConfig, zone: ZoneConfig, reference: ReferenceData) -> None:
        super().__init__(config, zone, reference)
        self.measurements = measurements(zone, config.sections)
        self._by_exit: dict[str, list[int]] = {}
        for index, measurement in enumerate(self.measurements):
            self._by_exit.setdefault(measurement.exit_camera, []).append(index)
        cameras = {m.entry_camera for m in self.measurements} | {m.exit_camera for m in self.measurements}
        self._cameras = {camera: camera for camera in cameras}  # the zone's own strings, shared by every state
        self._max_pair_us = int(config.max_pair_hours * 3_600_000_000)
        self._max_report_age = timedelta(minutes=config.clock_report_max_age_minutes)

    def cameras(self) -> frozenset[str] | None:
        return frozenset(self._cameras)

    def memory_us(self) -> int:
        return self._max_pair_us

    def decide(self, read: PlateRead, state: SectionState | None) -> tuple[SectionState | None, Decision]:
        camera = self._cameras.get(read.observed_by)
        if camera is None:
            return state, NOTHING
        passage = Passage(to_micros(read.date_observed), camera, read.event_id)
        if state is None:
            return SectionState((passage,)), NOTHING
        if passage.at_us <= state.horizon_us or any(p.key == passage.key for p in state.passages):
            return state, NOTHING  # too late to be used (its neighbours are forgotten), or a repeat
        passages = tuple(sorted((*state.passages, passage), key=lambda p: (p.at_us, p.camera, p.event_id)))
        judged = min(state.judged_us, passage.at_us - 1)  # a late read reopens the exits after it
        return SectionState(passages, judged, state.horizon_us), NOTHING

    def deadline(self, state: SectionState) -> int | None:
        # the first exit not judged yet, once the watermark passes it; else forget the oldest passage once no
        # exit can pair with it any more
        forget = state.passages[0].at_us + self._max_pair_us
        for passage in state.passages:
            if passage.at_us > state.judged_us and passage.camera in self._by_exit:
                return min(passage.at_us, forget)
        return forget

    def expire(self, plate: str, state: SectionState, watermark_us: int) -> tuple[SectionState | None, Decision]:
        passages = list(state.passages)
        decisions: list[Decision] = []
        for index, passage in enumerate(passages):
            if passage.at_us > watermark_us:
                break
            if passage.at_us <= state.judged_us:
                continue
            for m in self._by_exit.get(passage.camera, ()):
                entry_index = self._entry_of(passages, index, m)
                if entry_index is None:
                    continue
                entry, exit_ = passages[entry_index], passages[index]
                passages[entry_index] = dataclasses.replace(entry, paired=entry.paired | 1 << 2 * m)
                passages[index] = dataclasses.replace(exit_, paired=exit_.paired | 1 << 2 * m + 1)
                decisions.append(self._judge(plate, self.measurements[m], entry, exit_))
        # every exit up to the watermark is judged, so no exit to come can pair with a passage this old
        horizon = watermark_us - self._max_pair_us
        kept = tuple(p for p in passages if p.at_us > horizon)
        if not kept:
            return None, merge(decisions)
        return SectionState(kept, max(state.judged_us, watermark_us), max(state.horizon_us, horizon)), merge(decisions)

    def _entry_of(self, passages: list[Passage], exit_index: int, m: int) -> int | None:
        """The entry the exit at `exit_index` pairs with for measurement m: the passage just before it at m's
        cameras, when that is an entry not paired yet, within `max_pair_hours`."""
        exit_ = passages[exit_index]
        if exit_.paired & 1 << 2 * m + 1:
            return None
        measurement = self.measurements[m]
        for index in range(exit_index - 1, -1, -1):
            before = passages[index]
            if before.camera == measurement.exit_camera:
                return None  # an exit before it: this exit has no entry of its own
            if before.camera != measurement.entry_camera:
                continue
            fresh = not before.paired & 1 << 2 * m
            if fresh and 0 < exit_.at_us - before.at_us <= self._max_pair_us:
                return index
            return None
        return None

    # -- judging a pair ---------------------------------------------------------------------------------------

    def _judge(self, plate: str, m: Measurement, entry: Passage, exit_: Passage) -> Decision:
        """A violation, a finding saying why a fast pair is refused, or nothing for a pair within the limit."""
        elapsed_us = exit_.at_us - entry.at_us
        timed = average_speed(m.length_m, elapsed_us)
        if corrected_speed(timed) <= m.limit_kmh:
            return NOTHING
        offsets = (
            self.reference.clock_offset_at(m.entry_camera, from_micros(entry.at_us), self._max_report_age),
            self.reference.clock_offset_at(m.exit_camera, from_micros(exit_.at_us), self._max_report_age),
        )
        facts = self._facts(m, entry, exit_, timed, offsets)
        if None in offsets:
            unknown = [c for c, o in zip((m.entry_camera, m.exit_camera), offsets, strict=True) if o is None]
            facts["cameras_without_clock_report"] = ",".join(unknown)
            return self._finding("no_clock_report", plate, m, entry, exit_, facts)
        tolerances = [self._tolerance(m.entry_camera), self._tolerance(m.exit_camera)]
        if not all(clock_in_tolerance(o, t) for o, t in zip(offsets, tolerances, strict=True)):
            return self._finding("clock_out_of_tolerance", plate, m, entry, exit_, facts)
        allowance_us = 0
        if self.config.clock_benefit and offsets[0] is not None and offsets[1] is not None:
            # the true duration is elapsed + entry offset - exit offset: lengthen, never shorten
            shortened_s = max(0.0, offsets[0] - offsets[1])
            allowance_us = math.ceil(round((shortened_s + 2 * self.config.clock_residual_s) * 1_000_000, 3))
        measured = average_speed(m.length_m, elapsed_us + allowance_us)
        corrected = corrected_speed(measured)
        facts |= {
            "clock_allowance_s": allowance_us / 1_000_000,
            "duration_s": (elapsed_us + allowance_us) / 1_000_000,
            "measured_kmh": _down(measured),
            "corrected_kmh": corrected,
            "margin": margin_applied(measured),
            "margin_kmh": _down(measured - corrected),
            "excess_kmh": corrected - m.limit_kmh,
        }
        route = route_for(corrected, m.limit_kmh, m.gas_eligible)
        if route is None:
            return self._finding("within_clock_benefit", plate, m, entry, exit_, facts)
        read_ids = (entry.key, exit_.key)
        violation = Violation(
            violation_id=stable_id(self.id, "section_speed", m.id, *read_ids),
            rule_id=self.id,
            rule_type=self.type,
            plate=plate,
            date_observed=from_micros(exit_.at_us),
            read_ids=read_ids,
            route=route,
            legal_basis=legal_basis(m.limit_kmh, route),
            facts=facts,
        )
        return Decision(violations=(violation,))

    def _tolerance(self, camera_id: str) -> float:
        camera = self.zone.camera(camera_id)
        return camera.clock_tolerance_s if camera is not None else 0.0

    def _facts(
        self,
        m: Measurement,
        entry: Passage,
        exit_: Passage,
        timed: Fraction,
        offsets: tuple[float | None, float | None],
    ) -> dict[str, str | int | float | bool | None]:
        return {
            "section": m.id,
            "chain": m.chain,
            "sections": ",".join(m.sections),
            "entry_camera": m.entry_camera,
            "exit_camera": m.exit_camera,
            "entry_at": isoformat_z(from_micros(entry.at_us)),
            "exit_at": isoformat_z(from_micros(exit_.at_us)),
            "length_m": m.length_m,
            "elapsed_s": (exit_.at_us - entry.at_us) / 1_000_000,
            "timed_kmh": _down(timed),
            "limit_kmh": m.limit_kmh,
            "gas_eligible": m.gas_eligible,
            "entry_clock_offset_s": offsets[0],
            "exit_clock_offset_s": offsets[1],
            "entry_clock_tolerance_s": self._tolerance(m.entry_camera),
            "exit_clock_tolerance_s": self._tolerance(m.exit_camera),
        }

    def _finding(
        self,
        kind: str,
        plate: str,
        m: Measurement,
        entry: Passage,
        exit_: Passage,
        facts: dict[str, str | int | float | bool | None],
    ) -> Decision:
        read_ids = (entry.key, exit_.key)
        finding = self.finding(
            kind,
            plate=plate,
            camera_id=exit_.camera,
            at=from_micros(exit_.at_us),
            read_ids=read_ids,
            facts=facts,
            id_parts=(m.id, *read_ids),
        )
        return Decision(findings=(finding,))


def _down(speed: Fraction) -> float:
    """A speed for display, to the thousandth, rounded down (never above what was measured)."""
    return math.floor(speed * 1000) / 1000
