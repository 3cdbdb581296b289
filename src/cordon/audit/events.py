"""What the audit trail records: one typed event per thing a person (or the platform) did, and its chained entry.

An `AuditEvent` is what a caller hands `AuditLog.record`; an `AuditEntry` is the stored event with its place in
the chain (`seq`), the hash of the previous entry and its own hash. The event is stored as canonical JSON
(`canonical_content`: keys sorted, no spaces, instants as ISO 8601 UTC with microseconds) and the hash covers
exactly those stored bytes after the previous hash (`entry_hash`), so any reader, the DPO's own script
included, can recompute it without Cordon's code.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Protocol

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

GENESIS = "0" * 64  # the "previous hash" of the first entry


class Outcome(StrEnum):
    """How the recorded action ended."""

    SUCCESS = "success"
    DENIED = "denied"  # refused by a rule of law or a permission (the door said no)
    FAILURE = "failure"  # a failed attempt (wrong password, wrong code)
    ERROR = "error"  # the platform failed


class Purpose(StrEnum):
    """The police purpose of a consultation (Police Function Act): the door asks for one."""

    ADMINISTRATIVE = "administrative"
    JUDICIAL = "judicial"


class Action(StrEnum):
    """Actions Cordon records. `AuditEvent.action` takes any dotted name; these are the known ones."""

    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOCKOUT = "auth.lockout"
    LOGOUT = "auth.logout"
    USER_ADD = "users.add"
    USER_CHANGE = "users.change"  # role, enable/disable
    USER_PASSWORD = "users.password"  # noqa: S105 - an action name
    USER_TOTP = "users.totp"
    READS_SEARCH = "reads.search"  # a consultation through the door
    PATTERNS_RUN = "patterns.run"  # a consultation through the door
    EVIDENCE_EXPORT = "evidence.export"
    HOTLIST_CHANGE = "hotlists.change"
    DECISION_CHANGE = "decisions.change"  # prosecutor decisions, legal holds
    BOLLARD_OVERRIDE = "bollards.override"
    ALERT_CHANGE = "alerts.change"
    VIOLATION_REVIEW = "violations.review"
    CONFIG_CHANGE = "config.change"
    RETENTION_DELETE = "retention.delete"
    AUDIT_READ = "audit.read"
    AUDIT_CHECKPOINT = "audit.checkpoint"


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in Cordon: give it a UTC offset")
    return moment.astimezone(UTC)


UtcInstant = Annotated[datetime, AfterValidator(_utc)]
ACTION_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"


class AuditEvent(BaseModel):
    """One recorded action: who, when, from where, why, what was asked, how many results, how it ended.

    A consultation (a search, a pattern analysis, an export) carries `purpose`, `reason`, `offence_type` and
    `case_ref`: the report counts an event with a `purpose` as a consultation. `query` is the request as
    structured data (never a free string to parse back); `details` holds anything else worth keeping.

    >>> AuditEvent(actor="jdupont", action=Action.LOGIN, at=datetime(2026, 11, 28, tzinfo=UTC)).outcome
    <Outcome.SUCCESS: 'success'>
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(min_length=1, max_length=200, description="Username, `cli:<os user>` or `system`.")
    action: str = Field(pattern=ACTION_PATTERN, max_length=64, description="Dotted action name, e.g. `auth.login`.")
    at: UtcInstant = Field(description="When it happened (UTC).")
    actor_role: str | None = Field(default=None, max_length=32, description="The actor's role at the time.")
    client: str | None = Field(default=None, max_length=200, description="Client address (IP) or `cli`.")
    purpose: Purpose | None = Field(default=None, description="Police purpose of a consultation.")
    reason: str | None = Field(default=None, max_length=2000, description="Operational reason given.")
    offence_type: str | None = Field(default=None, max_length=200, description="Offence type (consultations).")
    case_ref: str | None = Field(default=None, max_length=200, description="Case or PV reference.")
    query: dict[str, JsonValue] | None = Field(default=None, description="What was asked, as structured data.")
    result_count: int | None = Field(default=None, ge=0, description="How many results were returned.")
    outcome: Outcome = Field(default=Outcome.SUCCESS, description="How it ended.")
    details: dict[str, JsonValue] = Field(default_factory=dict, description="Anything else worth keeping.")

    @property
    def is_consultation(self) -> bool:
        """A consultation of personal data through the door (it carries a purpose)."""
        return self.purpose is not None


class AuditEntry(BaseModel):
    """An event as stored in the chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1, description="Position in the chain, from 1.")
    event: AuditEvent
    prev_hash: str = Field(description="SHA-256 (hex) of the previous entry; 64 zeros for the first.")
    hash: str = Field(description="SHA-256 (hex) of this entry's canonical content.")


def canonical_content(event: AuditEvent) -> bytes:
    """The bytes stored for an event and covered by its hash: canonical JSON (keys sorted, no spaces, the instant
    as ISO 8601 UTC with microseconds). Stored verbatim, so a later version of this model never changes them.

    >>> event = AuditEvent(actor="a", action="auth.logout", at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> canonical_content(event)[:40]
    b'{"action":"auth.logout","actor":"a","act'
    """
    body = event.model_dump(mode="json")
    body["at"] = event.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def entry_hash(content: bytes, prev_hash: str) -> str:
    """SHA-256 (hex) of an entry: the previous entry's hash (hex), a newline, then the stored content.

    Anyone can recompute it from a database export: `sha256(prev_hash + "\\n" + event)`.
    """
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


class AuditRecorder(Protocol):
    """What records an event: `cordon.audit.AuditLog`, or anything standing in for it."""

    def record(self, event: AuditEvent) -> object: ...
