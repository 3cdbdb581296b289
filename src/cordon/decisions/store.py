"""Decisions in the store: each kept once under its stable id, with its life cycle.

`save` inserts what is new and returns only that, so the caller publishes a decision once even when the
rules decide it again (a restart replays recent reads to rebuild their state). Life-cycle changes are
compare-and-set updates inside one transaction: two operators acknowledging at once cannot both win.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cordon.decisions.lifecycle import (
    AlertAction,
    Outcome,
    ReviewState,
    conflict,
    next_alert_state,
    review_state,
)
from cordon.errors import CordonError
from cordon.records import Alert, AlertState, Command, Finding, Route, Violation
from cordon.rules.base import Decision
from cordon.store.side import SideConnection
from cordon.timeutil import from_micros, to_micros


class Delivery(StrEnum):
    """Where a device command is on its way to the device."""

    PENDING = "pending"  # decided, not yet handed to the broker
    PUBLISHED = "published"  # the broker acknowledged it (QoS 1 PUBACK)
    EXPIRED = "expired"  # its validity ended before the broker took it: never sent (fail-safe)
    FAILED = "failed"  # the broker refused it


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class StoredAlert(_Out):
    """An alert and what people did with it."""

    alert: Alert = Field(description="The alert as raised, with its current state.")
    acknowledged_by: str | None = Field(default=None, description="Who acknowledged it.")
    acknowledged_at: AwareDatetime | None = Field(default=None, description="When, UTC.")
    closed_by: str | None = Field(default=None, description="Who closed it.")
    closed_at: AwareDatetime | None = Field(default=None, description="When, UTC.")
    outcome: Outcome | None = Field(default=None, description="How it ended.")
    note: str | None = Field(default=None, description="The operator's note.")


class StoredViolation(_Out):
    """A candidate violation and its review."""

    violation: Violation = Field(description="The violation with its evidence.")
    review_state: ReviewState = Field(description="pending, approved or rejected.")
    reviewed_by: str | None = Field(default=None, description="Who reviewed it.")
    reviewed_at: AwareDatetime | None = Field(default=None, description="When, UTC.")
    review_reason: str | None = Field(default=None, description="Why (required to reject).")


class StoredCommand(_Out):
    """A device command and its delivery."""

    command: Command = Field(description="The command.")
    origin: str = Field(description="`rule` or `manual`.")
    actor: str | None = Field(default=None, description="Who, for a manual override.")
    delivery: Delivery = Field(description="pending, published, expired or failed.")
    delivered_at: AwareDatetime | None = Field(default=None, description="When the broker took it, UTC.")


def _json(record: BaseModel) -> str:
    return record.model_dump_json(by_alias=True)


def _at(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


class DecisionStore:
    """The decision tables of the store's database (created by migration 0002)."""

    def __init__(self, path: Path, busy_timeout_s: float = 5.0) -> None:
        """`busy_timeout_s`: how long a write waits for the database lock before it fails (the rules go on
        without the store meanwhile, see `DecisionPipeline`)."""
        self.path = path
        self._db = SideConnection(path, busy_timeout_s)
        self._early_marks: dict[str, tuple[Delivery, int]] = {}  # deliveries of commands not saved yet

    def close(self) -> None:
        self._db.close()

    # -- decisions from the rules -------------------------------------------------------------------------

    def save(self, decision: Decision, now: datetime) -> Decision:
        """Store what is new in `decision`, atomically; return only the new part."""
        created = to_micros(now)
        with self._db.transaction() as db:
            alerts = tuple(a for a in decision.alerts if _insert_alert(db, a, created))
            violations = tuple(v for v in decision.violations if _insert_violation(db, v, created))
            findings = tuple(f for f in decision.findings if _insert_finding(db, f))
            commands = tuple(c for c in decision.commands if _insert_command(db, c, "rule", None))
            for command in commands:
                early = self._early_marks.pop(command.command_id, None)
                if early is not None:
                    db.execute(
                        "UPDATE commands SET delivery = ?, delivered_us = ? WHERE command_id = ?",
                        (early[0].value, early[1], command.command_id),
                    )
        return Decision(alerts, violations, commands, findings)

    def add_manual_command(self, command: Command, actor: str) -> None:
        """A command a person gave (bollard override), stored before it is sent."""
        with self._db.transaction() as db:
            if not _insert_command(db, command, "manual", actor):
                raise conflict("duplicate_command", f"command {command.command_id} exists")

    def mark_delivery(self, command_id: str, delivery: Delivery, at: datetime) -> None:
        """Record how a command's delivery ended. Commands are sent before they are saved (a bollard does not
        wait for a disk), so the mark of one not saved yet is kept and applied when it is."""
        with self._db.transaction() as db:
            cursor = db.execute(
                "UPDATE commands SET delivery = ?, delivered_us = ? WHERE command_id = ?",
                (delivery.value, to_micros(at), command_id),
            )
            if cursor.rowcount == 0:
                self._early_marks[command_id] = (delivery, to_micros(at))
                while len(self._early_marks) > 10_000:
                    del self._early_marks[next(iter(self._early_marks))]

    # -- alerts ---------------------------------------------------------------------------------------------

    def alerts(
        self,
        state: AlertState | None = None,
        category: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[StoredAlert]:
        """Alerts, newest event first."""
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if category is not None:
            where.append("category = ?")
            params.append(category)
        if since is not None:
            where.append("observed_us >= ?")
            params.append(to_micros(since))
        rows = self._db.query(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(where)} "  # noqa: S608 (fixed fragments)
            "ORDER BY observed_us DESC, alert_id LIMIT ?",
            (*params, limit),
        )
        return [_alert_of(row) for row in rows]

    def alert(self, alert_id: str) -> StoredAlert:
        rows = self._db.query(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,))  # noqa: S608
        if not rows:
            raise CordonError("alert_not_found", f"no alert {alert_id}", 404)
        return _alert_of(rows[0])

    def act_on_alert(
        self,
        alert_id: str,
        action: AlertAction,
        actor: str,
        at: datetime,
        outcome: Outcome | None = None,
        note: str | None = None,
    ) -> StoredAlert:
        """Acknowledge or close an alert (compare-and-set on its state)."""
        with self._db.transaction() as db:
            row = db.execute("SELECT state FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
            if row is None:
                raise CordonError("alert_not_found", f"no alert {alert_id}", 404)
            current = AlertState(row[0])
            state = next_alert_state(current, action, outcome)
            micros = to_micros(at)
            if action is AlertAction.ACKNOWLEDGE:
                db.execute(
                    "UPDATE alerts SET state = ?, acknowledged_by = ?, acknowledged_us = ?, note = COALESCE(?, note) "
                    "WHERE alert_id = ? AND state = ?",
                    (state.value, actor, micros, note, alert_id, current.value),
                )
            else:
                assert outcome is not None
                db.execute(
                    "UPDATE alerts SET state = ?, closed_by = ?, closed_us = ?, outcome = ?, note = COALESCE(?, note) "
                    "WHERE alert_id = ? AND state = ?",
                    (state.value, actor, micros, outcome.value, note, alert_id, current.value),
                )
        return self.alert(alert_id)

    # -- violations -----------------------------------------------------------------------------------------

    def violations(
        self, review: ReviewState | None = ReviewState.PENDING, routes: tuple[Route, ...] = (), limit: int = 100
    ) -> list[StoredViolation]:
        """The review queue (oldest first: first in, first reviewed)."""
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if review is not None:
            where.append("review_state = ?")
            params.append(review.value)
        if routes:
            where.append(f"route IN ({', '.join('?' for _ in routes)})")
            params.extend(route.value for route in routes)
        rows = self._db.query(
            f"SELECT {_VIOLATION_COLUMNS} FROM violations WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY observed_us, violation_id LIMIT ?",
            (*params, limit),
        )
        return [_violation_of(row) for row in rows]

    def violation(self, violation_id: str) -> StoredViolation:
        rows = self._db.query(
            f"SELECT {_VIOLATION_COLUMNS} FROM violations WHERE violation_id = ?",  # noqa: S608
            (violation_id,),
        )
        if not rows:
            raise CordonError("violation_not_found", f"no violation {violation_id}", 404)
        return _violation_of(rows[0])

    def review(self, violation_id: str, approve: bool, actor: str, reason: str, at: datetime) -> StoredViolation:
        with self._db.transaction() as db:
            row = db.execute("SELECT review_state FROM violations WHERE violation_id = ?", (violation_id,)).fetchone()
            if row is None:
                raise CordonError("violation_not_found", f"no violation {violation_id}", 404)
            current = ReviewState(row[0])
            state = review_state(current, approve, reason)
            db.execute(
                "UPDATE violations SET review_state = ?, reviewed_by = ?, reviewed_us = ?, review_reason = ? "
                "WHERE violation_id = ? AND review_state = ?",
                (state.value, actor, to_micros(at), reason.strip() or None, violation_id, current.value),
            )
        return self.violation(violation_id)

    # -- findings and commands ------------------------------------------------------------------------------

    def findings(self, kind: str | None = None, since: datetime | None = None, limit: int = 1000) -> list[Finding]:
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if since is not None:
            where.append("observed_us >= ?")
            params.append(to_micros(since))
        rows = self._db.query(
            f"SELECT record FROM findings WHERE {' AND '.join(where)} ORDER BY observed_us LIMIT ?",  # noqa: S608
            (*params, limit),
        )
        return [Finding.model_validate_json(row[0]) for row in rows]

    def commands(self, device_id: str | None = None, limit: int = 100) -> list[StoredCommand]:
        where, params = ("device_id = ?", (device_id,)) if device_id else ("1 = 1", ())
        sql = f"SELECT record, origin, actor, delivery, delivered_us FROM commands WHERE {where} "  # noqa: S608
        rows = self._db.query(sql + "ORDER BY issued_us DESC LIMIT ?", (*params, limit))
        return [
            StoredCommand(
                command=Command.model_validate_json(record),
                origin=origin,
                actor=actor,
                delivery=Delivery(delivery),
                delivered_at=_at(delivered),
            )
            for record, origin, actor, delivery, delivered in rows
        ]

    def counts(self) -> dict[str, int]:
        """Rows per decision table (health and tests)."""
        return {
            table: self._db.query(f"SELECT count(*) FROM {table}", ())[0][0]  # noqa: S608 (fixed names)
            for table in ("alerts", "violations", "findings", "commands")
        }


_ALERT_COLUMNS = "record, state, acknowledged_by, acknowledged_us, closed_by, closed_us, outcome, note"
_VIOLATION_COLUMNS = "record, review_state, reviewed_by, reviewed_us, review_reason"


def _alert_of(row: tuple[Any, ...]) -> StoredAlert:
    record, state, ack_by, ack_us, closed_by, closed_us, outcome, note = row
    alert = Alert.model_validate_json(record).model_copy(update={"state": AlertState(state)})
    return StoredAlert(
        alert=alert,
        acknowledged_by=ack_by,
        acknowledged_at=_at(ack_us),
        closed_by=closed_by,
        closed_at=_at(closed_us),
        outcome=Outcome(outcome) if outcome else None,
        note=note,
    )


def _violation_of(row: tuple[Any, ...]) -> StoredViolation:
    record, state, by, at, reason = row
    return StoredViolation(
        violation=Violation.model_validate_json(record),
        review_state=ReviewState(state),
        reviewed_by=by,
        reviewed_at=_at(at),
        review_reason=reason,
    )


def _insert_alert(db: sqlite3.Connection, alert: Alert, created: int) -> bool:
    cursor = db.execute(
        "INSERT INTO alerts (alert_id, rule_id, rule_type, category, severity, plate, camera_id, observed_us, "
        "created_us, state, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            alert.alert_id,
            alert.rule_id,
            alert.rule_type,
            alert.category,
            alert.severity.value,
            alert.plate,
            alert.camera_id,
            to_micros(alert.date_observed),
            created,
            AlertState.NEW.value,
            _json(alert),
        ),
    )
    return cursor.rowcount == 1


def _insert_violation(db: sqlite3.Connection, violation: Violation, created: int) -> bool:
    cursor = db.execute(
        "INSERT INTO violations (violation_id, rule_id, rule_type, plate, observed_us, created_us, route, "
        "review_state, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            violation.violation_id,
            violation.rule_id,
            violation.rule_type,
            violation.plate,
            to_micros(violation.date_observed),
            created,
            violation.route.value,
            ReviewState.PENDING.value,
            _json(violation),
        ),
    )
    return cursor.rowcount == 1


def _insert_finding(db: sqlite3.Connection, finding: Finding) -> bool:
    cursor = db.execute(
        "INSERT INTO findings (finding_id, rule_id, kind, plate, camera_id, observed_us, record) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            finding.finding_id,
            finding.rule_id,
            finding.kind,
            finding.plate,
            finding.camera_id,
            to_micros(finding.date_observed),
            _json(finding),
        ),
    )
    return cursor.rowcount == 1


def _insert_command(db: sqlite3.Connection, command: Command, origin: str, actor: str | None) -> bool:
    cursor = db.execute(
        "INSERT INTO commands (command_id, device_id, action, issued_us, valid_until_us, origin, actor, reason, "
        "record, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            command.command_id,
            command.device_id,
            command.action.value,
            to_micros(command.issued_at),
            to_micros(command.valid_until),
            origin,
            actor,
            command.reason,
            _json(command),
            Delivery.PENDING.value,
        ),
    )
    return cursor.rowcount == 1
