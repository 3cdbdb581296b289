"""The DPO's report over a period: consultations per user and per purpose, the off-hours ones, the unusually
large ones, refused consultations, failed logins and lock-outs. A pure function of the entries and the options.

A consultation is an entry with a `purpose` (every search through the door carries one). "Off-hours" is local
time (`CORDON_AUDIT__TIMEZONE`, Europe/Brussels) outside the working hours, or a weekend; "unusually large" is
a result count at or above `CORDON_AUDIT__LARGE_RESULT_COUNT`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from cordon.audit.events import Action, AuditEntry, Outcome
from cordon.settings import AuditSettings


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What counts as off-hours and as large."""

    timezone: str = "Europe/Brussels"
    working_hours: tuple[int, int] = (7, 19)
    weekends_off_hours: bool = True
    large_result_count: int = 500

    @classmethod
    def of(cls, settings: AuditSettings) -> ReportOptions:
        return cls(settings.timezone, settings.working_hours, settings.weekends_off_hours, settings.large_result_count)

    def off_hours(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        start, end = self.working_hours
        return (self.weekends_off_hours and local.weekday() >= 5) or not start <= local.hour < end


class UserLine(BaseModel):
    """One user's consultations in the period."""

    actor: str = Field(description="Username.")
    role: str | None = Field(description="Role at the time of the last consultation.")
    consultations: int = Field(description="Consultations (with a purpose).")
    results: int = Field(description="Results returned in all.")
    denied: int = Field(description="Consultations the door refused.")
    off_hours: int = Field(description="Consultations off-hours.")
    large: int = Field(description="Unusually large consultations.")


class PurposeLine(BaseModel):
    """Consultations for one purpose."""

    purpose: str = Field(description="`administrative` or `judicial`.")
    consultations: int
    results: int
    denied: int


class FlaggedConsultation(BaseModel):
    """A consultation worth a look."""

    seq: int = Field(description="Entry number in the audit trail.")
    at: datetime = Field(description="When (UTC).")
    local_time: str = Field(description="When, in the report's time zone.")
    actor: str
    action: str
    purpose: str | None
    reason: str | None
    offence_type: str | None
    case_ref: str | None
    result_count: int | None
    outcome: str
    flags: list[str] = Field(description="`off_hours`, `large`.")


class AuditReport(BaseModel):
    """The DPO's report."""

    since: datetime | None
    until: datetime | None
    timezone: str
    entries: int = Field(description="Audit entries in the period.")
    consultations: int = Field(description="Consultations in the period.")
    per_user: list[UserLine]
    per_purpose: list[PurposeLine]
    off_hours: list[FlaggedConsultation]
    large: list[FlaggedConsultation]
    denied: int = Field(description="Consultations refused by the door.")
    login_failures: int
    lockouts: int


def _flagged(entry: AuditEntry, options: ReportOptions, flags: list[str]) -> FlaggedConsultation:
    event = entry.event
    local = event.at.astimezone(ZoneInfo(options.timezone))
    return FlaggedConsultation(
        seq=entry.seq, at=event.at, local_time=local.strftime("%a %Y-%m-%d %H:%M"), actor=event.actor,
        action=event.action, purpose=event.purpose.value if event.purpose else None, reason=event.reason,
        offence_type=event.offence_type, case_ref=event.case_ref, result_count=event.result_count,
        outcome=event.outcome.value, flags=flags,
    )  # fmt: skip


def build_report(
    entries: Iterable[AuditEntry], options: ReportOptions, since: datetime | None = None, until: datetime | None = None
) -> AuditReport:
    users: dict[str, UserLine] = {}
    purposes: dict[str, PurposeLine] = {}
    off_hours: list[FlaggedConsultation] = []
    large: list[FlaggedConsultation] = []
    count = consultations = denied = failures = lockouts = 0
    for entry in entries:
        count += 1
        event = entry.event
        failures += event.action == Action.LOGIN_FAILED
        lockouts += event.action == Action.LOCKOUT
        if event.purpose is None:
            continue
        consultations += 1
        refused = event.outcome is Outcome.DENIED
        denied += refused
        results = event.result_count or 0
        flags = [
            flag
            for flag, applies in (
                ("off_hours", options.off_hours(event.at)),
                ("large", results >= options.large_result_count),
            )
            if applies
        ]
        user = users.get(event.actor) or UserLine(
            actor=event.actor, role=None, consultations=0, results=0, denied=0, off_hours=0, large=0
        )
        users[event.actor] = user.model_copy(
            update={
                "role": event.actor_role or user.role,
                "consultations": user.consultations + 1,
                "results": user.results + results,
                "denied": user.denied + refused,
                "off_hours": user.off_hours + ("off_hours" in flags),
                "large": user.large + ("large" in flags),
            }
        )
        key = event.purpose.value
        line = purposes.get(key) or PurposeLine(purpose=key, consultations=0, results=0, denied=0)
        purposes[key] = line.model_copy(
            update={
                "consultations": line.consultations + 1,
                "results": line.results + results,
                "denied": line.denied + refused,
            }
        )
        if "off_hours" in flags:
            off_hours.append(_flagged(entry, options, flags))
        if "large" in flags:
            large.append(_flagged(entry, options, flags))
    return AuditReport(
        since=since, until=until, timezone=options.timezone, entries=count, consultations=consultations,
        per_user=sorted(users.values(), key=lambda u: (-u.consultations, u.actor)),
        per_purpose=sorted(purposes.values(), key=lambda p: p.purpose), off_hours=off_hours,
        large=sorted(large, key=lambda f: -(f.result_count or 0)), denied=denied, login_failures=failures,
        lockouts=lockouts,
    )  # fmt: skip
