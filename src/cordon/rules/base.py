"""What a rule is: a pure decision over (read, the plate's state) -> new state and decisions.

A rule never touches the store, MQTT or the clock. Time is the reads' event time; the runner tells a rule
when the event-time watermark has passed a deadline its state asked for (`expire`), which is how a rule
concludes something from the *absence* of a read (an exit that never came) without being fooled by reads
that arrive late or out of order.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from cordon.config.rules import BaseRule
from cordon.config.zone import ZoneConfig
from cordon.records import Alert, Command, Finding, PlateRead, Violation
from cordon.reference import ReferenceData

State = TypeVar("State")
ConfigT = TypeVar("ConfigT", bound=BaseRule)


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything one step of a rule concluded."""

    alerts: tuple[Alert, ...] = ()
    violations: tuple[Violation, ...] = ()
    commands: tuple[Command, ...] = ()
    findings: tuple[Finding, ...] = ()

    def __add__(self, other: Decision) -> Decision:
        return Decision(
            self.alerts + other.alerts,
            self.violations + other.violations,
            self.commands + other.commands,
            self.findings + other.findings,
        )

    def __bool__(self) -> bool:
        return bool(self.alerts or self.violations or self.commands or self.findings)


NOTHING = Decision()


def stable_id(*parts: object) -> str:
    """A short id derived from what identifies a decision, so that re-deciding it after a restart gives the
    same id and the store keeps it once."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def read_key(read: PlateRead) -> tuple[str, str]:
    """(camera, event id): how evidence refers to a read."""
    return (read.observed_by, read.event_id)


class Rule(ABC, Generic[ConfigT, State]):
    """A rule plugin. Subclasses set `type` (the zone file's `type:`) and implement `decide`.

    `State` is the rule's per-plate state: an immutable value (tuple, frozen dataclass) the runner keeps by
    plate and hands back on the plate's next read. Keep it small: the zone may hold a million plates.
    """

    type: ClassVar[str]
    #: A stateless rule whose decisions matter even for a read the store could not keep (a bollard for a permit
    #: holder, a hotlist hit): the runner also judges the reads of a failed commit with it.
    acts_without_store: ClassVar[bool] = False

    def __init__(self, config: ConfigT, zone: ZoneConfig, reference: ReferenceData) -> None:
        self.config = config
        self.zone = zone
        self.reference = reference  # hotlists, permits, registry: read-only for the rule

    @property
    def id(self) -> str:
        return self.config.id

    def finding(
        self,
        kind: str,
        *,
        plate: str,
        camera_id: str,
        at: datetime,
        read_ids: tuple[tuple[str, str], ...],
        facts: dict[str, str | int | float | bool | None],
        id_parts: tuple[object, ...] = (),
    ) -> Finding:
        """A finding of this rule. Its id derives from the rule, the kind and `id_parts` (default: the evidence
        read keys), so concluding it again after a restart gives the same id."""
        return Finding(
            finding_id=stable_id(self.id, kind, *(id_parts or read_ids)),
            rule_id=self.id,
            rule_type=self.type,
            kind=kind,
            plate=plate,
            camera_id=camera_id,
            date_observed=at,
            read_ids=read_ids,
            facts=facts,
        )

    def state_key(self, read: PlateRead) -> str:
        """Which state a read belongs to: its normalised plate, unless a rule knows better (a rule may fold a
        misread back onto the plate it most likely is, from the read's candidates and reference data)."""
        return read.plate

    def cameras(self) -> frozenset[str] | None:
        """Cameras whose reads this rule looks at (None: every camera). The runner skips the others."""
        return None

    def memory_us(self) -> int:
        """How far back in event time a read can still change what this rule concludes (µs): the longest
        a state waits for its next read. A restart replays the stored reads of that span to rebuild the
        state. Stateless rules remember nothing."""
        return 0

    @abstractmethod
    def decide(self, read: PlateRead, state: State | None) -> tuple[State | None, Decision]:
        """The plate's new state (None to forget it) and what this read makes the rule conclude."""

    def deadline(self, state: State) -> int | None:
        """Event time (µs since the epoch) after which `expire` must see this state; None: never."""
        return None

    def expire(self, plate: str, state: State, watermark_us: int) -> tuple[State | None, Decision]:
        """Called once the watermark passed `deadline(state)`: conclude what is due, forget what is old.
        `plate` is the state's key (see `state_key`)."""
        return None, NOTHING


def merge(decisions: Iterable[Decision]) -> Decision:
    """One decision out of several, in order."""
    alerts: list[Alert] = []
    violations: list[Violation] = []
    commands: list[Command] = []
    findings: list[Finding] = []
    for decision in decisions:
        alerts += decision.alerts
        violations += decision.violations
        commands += decision.commands
        findings += decision.findings
    return Decision(tuple(alerts), tuple(violations), tuple(commands), tuple(findings))
