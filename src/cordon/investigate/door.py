"""The door: one pure decision on every consultation, before any read is touched.

`decide(consultation, scope, role, cameras, decisions, now)` returns `Allowed` (with the effective time window
of every camera the query may read) or `Refused` (with each thing that is missing, in words a person can act
on). It reads no clock, no store and no settings: the service hands it everything, and audits its answer.

The law it applies (DESIGN.md §4): every consultation states a purpose, a reason, an offence type and a case
reference. Reads within a camera's open consultation period (30 days by default, per camera) may be consulted
for the purposes the camera is authorised for. Older reads, up to the camera's retention, only for a judicial
purpose, by an investigator, under a registered prosecutor decision that is valid now and whose scope (case or
plates) covers the consultation. Operators consult the first month only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cordon.auth.roles import Role
from cordon.config.zone import Camera
from cordon.investigate.consultation import Consultation, ConsultationPurpose, Scope
from cordon.investigate.register import LegalHold, ProsecutorDecision
from cordon.timeutil import isoformat_z

#: Roles that may consult passages at all; only investigators beyond the open period.
CONSULTING_ROLES = frozenset({Role.OPERATOR, Role.INVESTIGATOR})


@dataclass(frozen=True, slots=True)
class CameraWindow:
    """The reads of one camera a query may reach: event time in [since, until)."""

    camera_id: str
    since: datetime
    until: datetime


@dataclass(frozen=True, slots=True)
class HeldReads:
    """Reads a legal hold of the consultation's own case keeps beyond retention: by plate or by read id, at the
    cameras the consultation may read."""

    camera_ids: tuple[str, ...]
    plates: frozenset[str]
    read_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Allowed:
    """The consultation may run, on exactly these windows."""

    windows: tuple[CameraWindow, ...]
    decision_reference: str | None  # the prosecutor decision relied on, if any
    excluded: tuple[str, ...] = ()  # cameras left out, each with why (not authorised for the purpose)
    held: HeldReads | None = None  # reads of the case frozen by a legal hold, reachable beyond retention

    allowed = True

    def window_of(self, camera_id: str) -> CameraWindow | None:
        return next((w for w in self.windows if w.camera_id == camera_id), None)

    @property
    def camera_ids(self) -> tuple[str, ...]:
        return tuple(w.camera_id for w in self.windows)


@dataclass(frozen=True, slots=True)
class Refused:
    """The consultation may not run; `missing` lists what would make it lawful, `code` is stable."""

    code: str
    missing: tuple[str, ...]

    allowed = False

    @property
    def message(self) -> str:
        return "; ".join(self.missing)


Verdict = Allowed | Refused


def _missing_fields(consultation: Consultation) -> list[str]:
    names = {
        "purpose (administrative or judicial)": consultation.purpose is None,
        "reason": not consultation.reason.strip(),
        "offence type": not consultation.offence_type.strip(),
        "case reference": not consultation.case_reference.strip(),
    }
    return [name for name, absent in names.items() if absent]


def _cameras_in_scope(
    scope: Scope, purpose: ConsultationPurpose, cameras: Mapping[str, Camera]
) -> tuple[list[Camera], list[str], list[str]]:
    """(cameras the query reads, cameras excluded with why, problems that refuse it)."""
    named = set(scope.cameras)
    wanted = (*scope.cameras, *(c for c in scope.area if c not in named)) or tuple(cameras)
    chosen: list[Camera] = []
    excluded: list[str] = []
    problems: list[str] = []
    for camera_id in wanted:
        camera = cameras.get(camera_id)
        if camera is None:
            problems.append(f"camera {camera_id} is not a camera of this zone")
            continue
        if purpose.camera_purpose not in camera.purposes:
            why = (
                f"camera {camera_id} is authorised for {', '.join(p.value for p in camera.purposes)} only, "
                f"not for {purpose.value} police"
            )
            (problems if camera_id in named else excluded).append(why)
            continue
        chosen.append(camera)
    return chosen, excluded, problems


def _decision_problem(
    consultation: Consultation, scope: Scope, decisions: Mapping[str, ProsecutorDecision], now: datetime
) -> tuple[ProsecutorDecision | None, str | None]:
    """The decision that covers this consultation, or why there is none."""
    subject = (
        f"plate{'s' if len(scope.plates) > 1 else ''} {', '.join(scope.plates)}"
        if scope.plates
        else f"case {consultation.case_reference}"
    )
    reference = consultation.decision_reference
    if not reference:
        return None, f"a prosecutor decision covering {subject}"
    decision = decisions.get(reference)
    if decision is None:
        return None, f"a prosecutor decision covering {subject}: decision {reference} is not registered"
    unusable = decision.unusable_because(now)
    if unusable is not None:
        return None, f"a prosecutor decision covering {subject}: {unusable}"
    if not decision.covers(consultation.case_reference, scope.plates):
        hint = "" if scope.plates else " (a query that is not about given plates needs a decision for its case)"
        return None, (
            f"a prosecutor decision covering {subject}: decision {reference} covers {decision.describe_scope()}{hint}"
        )
    return decision, None


def decide(
    consultation: Consultation,
    scope: Scope,
    role: Role,
    cameras: Sequence[Camera],
    decisions: Mapping[str, ProsecutorDecision],
    now: datetime,
    holds: Sequence[LegalHold] = (),
) -> Verdict:
    """May this consultation run, and on which reads? Pure: same inputs, same answer.

    Under a prosecutor decision, a judicial consultation for a case also reaches the reads that the case's own
    active legal holds keep beyond retention (`Allowed.held`); nobody else's holds widen anything."""
    if role not in CONSULTING_ROLES:
        return Refused("role_not_allowed", (f"the role {role.value} may not consult passages",))
    missing = _missing_fields(consultation)
    if missing:
        return Refused("consultation_incomplete", (f"a consultation needs: {', '.join(missing)}",))
    assert consultation.purpose is not None
    until = min(scope.until or now, now)
    if scope.since is not None and scope.since >= until:
        return Refused("invalid_window", (f"the window starts ({isoformat_z(scope.since)}) after it ends",))
    by_id = {camera.id: camera for camera in cameras}
    chosen, excluded, problems = _cameras_in_scope(scope, consultation.purpose, by_id)
    if problems:
        return Refused("camera_not_allowed", tuple(problems))
    if not chosen:
        purpose = consultation.purpose.value
        return Refused("camera_not_allowed", (f"no camera of this zone is authorised for {purpose} police",))

    # Which cameras would the window reach beyond their open consultation period?
    asked = scope.since
    beyond = [c for c in chosen if asked is not None and asked < now - timedelta(days=c.open_consultation_days)]
    decision: ProsecutorDecision | None = None
    if beyond:
        days = sorted({c.open_consultation_days for c in beyond})
        head = f"reads older than {' or '.join(str(d) for d in days)} days"
        if role is not Role.INVESTIGATOR:
            return Refused(
                "beyond_open_period",
                (f"{head} are for investigators only: the role {role.value} consults the first month",),
            )
        needs = []
        if consultation.purpose is not ConsultationPurpose.JUDICIAL:
            needs.append("a judicial purpose")
        decision, problem = _decision_problem(consultation, scope, decisions, now)
        if problem is not None:
            needs.append(problem)
        if needs:
            return Refused("decision_required", (f"{head} need {' and '.join(needs)}",))
    elif scope.since is None and role is Role.INVESTIGATOR and consultation.decision_reference:
        # An open-ended window under a decision reaches back to retention; without one, to the open period.
        found, problem = _decision_problem(consultation, scope, decisions, now)
        if consultation.purpose is ConsultationPurpose.JUDICIAL and problem is None:
            decision = found
        elif problem is not None:
            return Refused("decision_required", (f"reads older than the open period need {problem}",))

    windows = []
    for camera in chosen:
        floor_days = camera.retention_days if decision is not None else camera.open_consultation_days
        floor = now - timedelta(days=floor_days)
        since = floor if scope.since is None else max(scope.since, now - timedelta(days=camera.retention_days))
        if since < until:
            windows.append(CameraWindow(camera.id, since, until))
    held = None
    if decision is not None and consultation.purpose is ConsultationPurpose.JUDICIAL:
        own = [h for h in holds if h.case_reference == consultation.case_reference and h.active(now)]
        if own:
            plates = frozenset(p for h in own for p in h.plates)
            if scope.plates is not None:  # a plate's query reaches only that plate's held reads
                plates &= frozenset(scope.plates)
            held = HeldReads(tuple(c.id for c in chosen), plates, frozenset(r for h in own for r in h.read_ids))
    return Allowed(tuple(windows), decision.reference if decision else None, tuple(excluded), held)
