"""`/api/v1/investigate/...`: searches, pattern analyses, evidence exports, prosecutor decisions, legal holds.

Every route is thin: it checks the permission (`require`), then hands the consultation and the typed query
to `Investigation.consult` / `.export`, the one door (docs/investigation.md). A refusal comes back in the
API's one error shape, 403 (or 422 for an incomplete consultation) with one detail per missing thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cordon.api.errors import ErrorResponse
from cordon.api.security import record_action, require
from cordon.audit.events import Action
from cordon.auth.models import Principal
from cordon.auth.roles import Permission
from cordon.errors import unprocessable
from cordon.investigate import Investigation, LegalHold, ProsecutorDecision, build_investigation
from cordon.investigate.consultation import Consultation
from cordon.investigate.queries import Export, PatternQuery, SearchQuery
from cordon.investigate.results import ConsultationResult
from cordon.plates import InvalidPlate, normalize_plate
from cordon.runtime import Runtime
from cordon.timeutil import utcnow

router = APIRouter(prefix="/api/v1/investigate", tags=["investigation"])
Searcher = Annotated[Principal, Depends(require(Permission.READS_SEARCH))]
Analyst = Annotated[Principal, Depends(require(Permission.PATTERNS_RUN))]
Exporter = Annotated[Principal, Depends(require(Permission.EVIDENCE_EXPORT))]
Registrar = Annotated[Principal, Depends(require(Permission.DECISIONS_MANAGE))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        401: "Not signed in.",
        403: "The role may not do this, or the door refused the consultation (the details say what is missing).",
        404: "No such decision or hold.",
        409: "A decision with this reference is registered already.",
        422: "Invalid input, or a consultation without purpose, reason, offence type or case reference.",
    }.items()
}


def get_investigation(request: Request) -> Investigation:
    """The door on the running platform, built once per app."""
    found: Investigation | None = getattr(request.app.state, "investigation", None)
    runtime: Runtime = request.app.state.runtime
    if found is None or found.zone is not runtime.zone:
        found = build_investigation(runtime)
        request.app.state.investigation = found
    return found


InvestigationDep = Annotated[Investigation, Depends(get_investigation)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchIn(_In):
    """A search: why (the consultation) and what (plate, wildcard, fuzzy, area)."""

    consultation: Consultation
    query: SearchQuery


class PatternIn(_In):
    """A pattern analysis: timeline, presence, convoy, short visits."""

    consultation: Consultation
    query: PatternQuery


class ExportIn(_In):
    """An evidence export."""

    consultation: Consultation
    query: Export


@router.post("/search", response_model=ConsultationResult, responses=_ERRORS, summary="Search passages")
def search(body: SearchIn, who: Searcher, investigation: InvestigationDep) -> ConsultationResult:
    """Plate, wildcard (`1-AB?-2*`), fuzzy (look-alikes, edits, top-N candidates), or area (cameras or a box)
    within a time window, through the door; audited with the number of reads returned."""
    return investigation.consult(who, body.consultation, body.query)


@router.post("/patterns", response_model=ConsultationResult, responses=_ERRORS, summary="Run a pattern analysis")
def patterns(body: PatternIn, who: Analyst, investigation: InvestigationDep) -> ConsultationResult:
    """A vehicle's timeline, vehicles present in an area, convoy companions, or short-visit leads; audited."""
    return investigation.consult(who, body.consultation, body.query)


@router.post(
    "/export",
    responses={200: {"content": {"application/zip": {}}, "description": "The evidence ZIP."}, **_ERRORS},
    response_class=Response,
    summary="Export evidence (ZIP)",
)
def export(body: ExportIn, who: Exporter, investigation: InvestigationDep) -> Response:
    """Reads, images, a JSON report of the request and the door's decision, and a SHA-256 manifest; the
    export is audited with the manifest's hash (header `X-Manifest-SHA256`)."""
    evidence = investigation.export(who, body.consultation, body.query)
    headers = {
        "Content-Disposition": f'attachment; filename="{evidence.filename}"',
        "X-Manifest-SHA256": evidence.manifest_sha256,
    }
    return Response(evidence.data, media_type="application/zip", headers=headers)


# -- prosecutor decisions and legal holds -----------------------------------------------------------------


def _plates(values: list[str]) -> frozenset[str]:
    try:
        return frozenset(normalize_plate(v) for v in values)
    except InvalidPlate as exc:
        raise unprocessable("invalid_plate", str(exc)) from None


class DecisionIn(_In):
    """A written, reasoned decision of the procureur des Konings (scope: a case, or plates)."""

    reference: str = Field(min_length=1, max_length=100, description="Reference of the decision.")
    magistrate: str = Field(min_length=1, max_length=200, description="Issuing magistrate or office.")
    case_reference: str | None = Field(default=None, max_length=200, description="Case it covers.")
    plates: list[str] = Field(default_factory=list, max_length=1000, description="Plates it covers.")
    valid_from: AwareDatetime = Field(description="Valid from (UTC offset required).")
    valid_until: AwareDatetime = Field(description="Valid until (exclusive).")
    document_sha256: str | None = Field(default=None, description="SHA-256 of the decision document.")


class DecisionOut(_In):
    reference: str
    magistrate: str
    case_reference: str | None
    plates: list[str]
    valid_from: datetime
    valid_until: datetime
    document_sha256: str | None
    registered_by: str
    registered_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, d: ProsecutorDecision) -> DecisionOut:
        return cls(
            reference=d.reference, magistrate=d.magistrate, case_reference=d.case_reference,
            plates=sorted(d.plates), valid_from=d.valid_from, valid_until=d.valid_until,
            document_sha256=d.document_sha256, registered_by=d.registered_by, registered_at=d.registered_at,
            revoked_at=d.revoked_at,
        )  # fmt: skip


class HoldIn(_In):
    """A legal hold: the reads of these plates, or these reads, are kept beyond retention for a case."""

    case_reference: str = Field(min_length=1, max_length=200, description="The case.")
    reason: str = Field(min_length=1, max_length=2000, description="Why the reads must be kept.")
    plates: list[str] = Field(default_factory=list, max_length=1000, description="Hold every read of these.")
    read_ids: list[int] = Field(default_factory=list, max_length=10_000, description="Hold these reads.")


class HoldOut(_In):
    hold_id: int | None
    case_reference: str
    reason: str
    plates: list[str]
    read_ids: list[int]
    created_by: str
    created_at: datetime | None
    released_at: datetime | None

    @classmethod
    def of(cls, h: LegalHold) -> HoldOut:
        return cls(
            hold_id=h.hold_id, case_reference=h.case_reference, reason=h.reason, plates=sorted(h.plates),
            read_ids=sorted(h.read_ids), created_by=h.created_by, created_at=h.created_at, released_at=h.released_at,
        )  # fmt: skip


@router.get("/decisions", response_model=list[DecisionOut], responses=_ERRORS, summary="List prosecutor decisions")
def list_decisions(who: Registrar, investigation: InvestigationDep) -> list[DecisionOut]:
    return [DecisionOut.of(d) for d in investigation.db.decisions().values()]


@router.post("/decisions", status_code=201, response_model=DecisionOut, responses=_ERRORS,
             summary="Register a prosecutor decision")  # fmt: skip
def register_decision(body: DecisionIn, who: Registrar, investigation: InvestigationDep) -> DecisionOut:
    """Decisions are never edited: a wrong one is revoked and registered again under its own reference."""
    decision = ProsecutorDecision(
        reference=body.reference, magistrate=body.magistrate, case_reference=body.case_reference,
        plates=_plates(body.plates), valid_from=body.valid_from, valid_until=body.valid_until,
        document_sha256=body.document_sha256, registered_by=who.username, registered_at=utcnow(),
    )  # fmt: skip
    investigation.db.register_decision(decision)
    record_action(investigation.audit, who, Action.DECISION_CHANGE, change="decision.register",
                  reference=decision.reference, scope=decision.describe_scope())  # fmt: skip
    return DecisionOut.of(decision)


@router.post("/decisions/{reference}/revoke", status_code=204, responses=_ERRORS, summary="Revoke a decision")
def revoke_decision(reference: str, who: Registrar, investigation: InvestigationDep) -> Response:
    investigation.db.revoke_decision(reference, utcnow())
    record_action(investigation.audit, who, Action.DECISION_CHANGE, change="decision.revoke", reference=reference)
    return Response(status_code=204)


@router.get("/holds", response_model=list[HoldOut], responses=_ERRORS, summary="List legal holds")
def list_holds(who: Registrar, investigation: InvestigationDep) -> list[HoldOut]:
    return [HoldOut.of(h) for h in investigation.db.holds()]


@router.post("/holds", status_code=201, response_model=HoldOut, responses=_ERRORS, summary="Place a legal hold")
def add_hold(body: HoldIn, who: Registrar, investigation: InvestigationDep) -> HoldOut:
    hold = investigation.db.add_hold(
        LegalHold(body.case_reference, body.reason, _plates(body.plates), frozenset(body.read_ids),
                  created_by=who.username, created_at=utcnow())
    )  # fmt: skip
    record_action(investigation.audit, who, Action.DECISION_CHANGE, change="hold.add", hold=hold.hold_id,
                  case=hold.case_reference)  # fmt: skip
    return HoldOut.of(hold)


@router.post("/holds/{hold_id}/release", status_code=204, responses=_ERRORS, summary="Release a legal hold")
def release_hold(hold_id: int, who: Registrar, investigation: InvestigationDep) -> Response:
    investigation.db.release_hold(hold_id, utcnow())
    record_action(investigation.audit, who, Action.DECISION_CHANGE, change="hold.release", hold=hold_id)
    return Response(status_code=204)
