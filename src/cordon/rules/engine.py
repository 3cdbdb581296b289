"""The rule engine: keyed state per rule and plate, an event-time watermark, and deadlines.

Pure of I/O: reads in, decisions out. The server's runner feeds it from the read bus and persists and
publishes what it returns; `cordon eval` feeds it from a file and scores what it returns. Both get the same
decisions from the same reads, whatever the order they arrive in within the grace period.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from typing import Any

from cordon.config.zone import ZoneConfig
from cordon.records import PlateRead
from cordon.reference import ReferenceData
from cordon.rules.base import Decision, Rule, merge
from cordon.timeutil import to_micros

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "cordon.rules"


def rule_types() -> dict[str, type[Rule[Any, Any]]]:
    """Rule implementations by `type`, found through the `cordon.rules` entry points (built-in rules are
    registered there too, exactly as a third party's would be)."""
    found: dict[str, type[Rule[Any, Any]]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        cls = entry.load()
        if not (isinstance(cls, type) and issubclass(cls, Rule)):
            raise TypeError(f"entry point {entry.name!r} of {ENTRY_POINT_GROUP} is not a Rule subclass")
        found[cls.type] = cls
    return found


def build_rules(zone: ZoneConfig, reference: ReferenceData | None = None) -> tuple[list[Rule[Any, Any]], list[str]]:
    """The zone's enabled rules, built; and the ids of those whose type has no implementation installed."""
    reference = reference if reference is not None else ReferenceData()
    types = rule_types()
    rules: list[Rule[Any, Any]] = []
    missing: list[str] = []
    for config in zone.rules:
        if not config.enabled:
            continue
        implementation = types.get(config.type)
        if implementation is None:
            missing.append(config.id)
            continue
        rules.append(implementation(config, zone, reference))
    return rules, missing


class RuleEngine:
    """Runs rules over reads. Not thread-safe: one thread feeds it."""

    def __init__(self, rules: Sequence[Rule[Any, Any]], grace_s: float = 120.0) -> None:
        self.rules = list(rules)
        self.grace_us = int(grace_s * 1_000_000)
        self._states: list[dict[str, Any]] = [{} for _ in self.rules]
        self._scheduled: list[dict[str, int]] = [{} for _ in self.rules]
        self._deadlines: list[tuple[int, int, str]] = []
        self._route()
        self.max_event_us: int | None = None

    def _route(self) -> None:
        self._by_camera: dict[str, list[int]] = {}
        self._everywhere = [i for i, rule in enumerate(self.rules) if rule.cameras() is None]
        for index, rule in enumerate(self.rules):
            for camera in rule.cameras() or ():
                self._by_camera.setdefault(camera, []).append(index)

    def replace_rules(self, rules: Sequence[Rule[Any, Any]]) -> None:
        """Swap in rules rebuilt over new reference data (a hotlist entry added, a permit issued), keeping every
        plate's state: the new rules must be the same rules (ids and types, in order) as the old."""
        old = [(rule.id, rule.type) for rule in self.rules]
        new = [(rule.id, rule.type) for rule in rules]
        if old != new:
            raise ValueError(f"replace_rules needs the same rules in the same order: {old} != {new}")
        self.rules = list(rules)
        self._route()

    @property
    def watermark_us(self) -> int | None:
        """Event time up to which every read is assumed to have arrived (newest event time minus grace)."""
        return None if self.max_event_us is None else self.max_event_us - self.grace_us

    def process(self, reads: Iterable[PlateRead]) -> Decision:
        """Run every rule on every read, then conclude whatever the watermark has passed."""
        decisions: list[Decision] = []
        for read in reads:
            event_us = to_micros(read.date_observed)
            if self.max_event_us is None or event_us > self.max_event_us:
                self.max_event_us = event_us
            indexes = self._by_camera.get(read.observed_by, [])
            for index in (*indexes, *self._everywhere) if self._everywhere else indexes:
                decision = self._step(index, read)
                if decision:
                    decisions.append(decision)
        watermark = self.watermark_us
        if watermark is not None:
            decisions.append(self._expire_until(watermark))
        return merge(decisions)

    @property
    def horizon_us(self) -> int:
        """How much event time of stored reads rebuilds every rule's state: the longest memory plus grace."""
        return max((rule.memory_us() for rule in self.rules), default=0) + self.grace_us

    def flush(self) -> Decision:
        """End of input: conclude everything still pending (used by `cordon eval` at the end of a file)."""
        return self._expire_until(2**62)

    def state_size(self) -> int:
        """Plates held in state, summed over rules."""
        return sum(len(states) for states in self._states)

    def _step(self, index: int, read: PlateRead) -> Decision:
        rule = self.rules[index]
        key = rule.state_key(read)
        state, decision = rule.decide(read, self._states[index].get(key))
        self._store(index, key, state)
        return decision

    def _store(self, index: int, plate: str, state: Any) -> None:
        if state is None:
            self._states[index].pop(plate, None)
            self._scheduled[index].pop(plate, None)
            return
        self._states[index][plate] = state
        deadline = self.rules[index].deadline(state)
        scheduled = self._scheduled[index]
        if deadline is None:
            scheduled.pop(plate, None)
        elif scheduled.get(plate) != deadline:
            scheduled[plate] = deadline
            heapq.heappush(self._deadlines, (deadline, index, plate))

    def _expire_until(self, watermark: int) -> Decision:
        decisions: list[Decision] = []
        while self._deadlines and self._deadlines[0][0] <= watermark:
            deadline, index, plate = heapq.heappop(self._deadlines)
            if self._scheduled[index].get(plate) != deadline:
                continue  # superseded by a later step
            del self._scheduled[index][plate]
            state = self._states[index].get(plate)
            if state is None:
                continue
            new_state, decision = self.rules[index].expire(plate, state, watermark)
            self._store(index, plate, new_state)
            if decision:
                decisions.append(decision)
        return merge(decisions)
