"""`/api/v1/audit`: the DPO pages through the audit trail, gets the report and verifies the chain.

Reading the trail is itself recorded (`audit.read`): who looked at who looked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field, JsonValue

from cordon.api.deps import RuntimeDep
from cordon.api.errors import ErrorResponse
from cordon.api.security import require
from cordon.audit.events import Action, AuditEntry, AuditEvent
from cordon.audit.report import AuditReport, ReportOptions, build_report
from cordon.auth.models import Principal
from cordon.auth.roles import Permission
from cordon.timeutil import utcnow

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Not signed in."},
    403: {"model": ErrorResponse, "description": "The role may not read the audit trail."},
    422: {"model": ErrorResponse, "description": "Invalid parameter."},
}


class AuditPage(BaseModel):
    """A page of entries, oldest first."""

    entries: list[AuditEntry]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end.")


class ProblemOut(BaseModel):
    """One thing wrong with the trail."""

    seq: int = Field(description="The entry concerned.")
    kind: str = Field(description="`edited`, `deleted`, `reordered`, `broken_link`, `truncated`, `rewritten`, ...")
    message: str


class VerificationOut(BaseModel):
    """The chain's verification against itself and the stored checkpoints."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    checkpoints: int
    problems: list[ProblemOut]


def _record(runtime: RuntimeDep, principal: Principal, what: str, query: dict[str, JsonValue], count: int) -> None:
    runtime.audit.record(
        AuditEvent(
            actor=principal.username, actor_role=principal.role.value, client=principal.client,
            action=Action.AUDIT_READ, at=utcnow(), query={"view": what, **query}, result_count=count,
        )
    )  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@router.get("", response_model=AuditPage, responses=_ERRORS, summary="Page through the audit trail")
def audit_entries(
    principal: Auditor,
    runtime: RuntimeDep,
    after: Annotated[int, Query(ge=0, description="Entries after this number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Entries per page.")] = 100,
    actor: Annotated[str | None, Query(max_length=200, description="Only this actor.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="Only this action, e.g. `reads.search`.")] = None,
    since: Annotated[AwareDatetime | None, Query(description="From (inclusive).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Until (exclusive).")] = None,
) -> AuditPage:
    entries = runtime.audit.entries(after, limit, actor, action, since, until)
    query: dict[str, JsonValue] = {
        "after": after, "limit": limit, "actor": actor, "action": action, "since": _iso(since), "until": _iso(until)
    }  # fmt: skip
    _record(runtime, principal, "entries", query, len(entries))
    return AuditPage(entries=entries, next_after=entries[-1].seq if len(entries) == limit else None)


@router.get("/report", response_model=AuditReport, responses=_ERRORS, summary="The DPO's report")
def audit_report(
    principal: Auditor,
    runtime: RuntimeDep,
    since: Annotated[AwareDatetime | None, Query(description="From (inclusive).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Until (exclusive).")] = None,
) -> AuditReport:
    """Consultations per user and per purpose, off-hours and unusually large ones, refusals and lock-outs."""
    options = ReportOptions.of(runtime.settings.audit)
    report = build_report(runtime.audit.iter_entries(since, until), options, since, until)
    _record(runtime, principal, "report", {"since": _iso(since), "until": _iso(until)}, report.consultations)
    return report


@router.get("/verify", response_model=VerificationOut, responses=_ERRORS, summary="Verify the chain")
def audit_verify(principal: Auditor, runtime: RuntimeDep) -> VerificationOut:
    """Recompute every hash and link and check the stored checkpoints (`cordon audit verify` also takes the
    checkpoint files the DPO keeps, which is what proves that no tail was cut)."""
    result = runtime.audit.verify()
    _record(runtime, principal, "verify", {}, result.entries)
    problems = [ProblemOut(seq=p.seq, kind=p.kind, message=p.message) for p in result.problems]
    return VerificationOut(
        ok=result.ok, entries=result.entries, head_seq=result.head_seq, head_hash=result.head_hash,
        checkpoints=result.checkpoints, problems=problems,
    )  # fmt: skip
