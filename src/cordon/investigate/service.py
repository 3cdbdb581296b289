"""The one door every consultation goes through: decide, run inside the allowed windows, audit.

`Investigation.consult(who, consultation, query)` is the only way to run a query (API routes and CLI commands
call it, never the query code): it asks the pure door, records the answer in the audit trail (with the number
of results, or the refusal and why), and raises a `CordonError` on refusal. Nothing runs without its entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cordon.audit import AuditEvent, Outcome
from cordon.audit import Purpose as AuditPurpose
from cordon.audit.events import AuditRecorder
from cordon.auth.roles import Role, allowed
from cordon.config.zone import ZoneConfig
from cordon.errors import CordonError, ErrorDetail
from cordon.investigate.consultation import Consultation
from cordon.investigate.db import InvestigationDb
from cordon.investigate.door import Allowed, Refused, decide
from cordon.investigate.export import EvidenceExport, build_export
from cordon.investigate.index import SearchIndex
from cordon.investigate.queries import Export, Query
from cordon.investigate.reads import ReadsView
from cordon.investigate.results import ConsultationResult
from cordon.investigate.search import execute
from cordon.store.images import ImageStore
from cordon.timeutil import utcnow


class Consultant(Protocol):
    """Who consults: an authenticated principal (`cordon.auth.models.Principal`) or a CLI user."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> Role: ...

    @property
    def client(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class LocalConsultant:
    """A person named on the server's own command line (`cordon search --user NAME`)."""

    username: str
    role: Role
    client: str | None = "cli"


_UNPROCESSABLE = {"consultation_incomplete", "invalid_window"}


def refusal_error(refused: Refused) -> CordonError:
    """The API/CLI error of a refusal: 422 for an incomplete request, 403 for what the law does not allow."""
    status = 422 if refused.code in _UNPROCESSABLE else 403
    details = tuple(ErrorDetail("consultation", refused.code, text) for text in refused.missing)
    return CordonError(refused.code, f"consultation refused: {refused.message}", status, details)


@dataclass
class Investigation:
    """Searches, patterns and exports of one zone, behind the door, with the audit trail."""

    zone: ZoneConfig
    db: InvestigationDb
    images: ImageStore
    audit: AuditRecorder
    clock: Callable[[], datetime] = field(default=utcnow)

    def _event(self, who: Consultant, consultation: Consultation, query: Query, now: datetime) -> dict[str, Any]:
        purpose = AuditPurpose(consultation.purpose.value) if consultation.purpose is not None else None
        return {
            "actor": who.username,
            "actor_role": who.role.value,
            "client": who.client,
            "action": query.action,
            "at": now,
            "purpose": purpose,
            "reason": consultation.reason or None,
            "offence_type": consultation.offence_type or None,
            "case_ref": consultation.case_reference or None,
            "query": query.model_dump(mode="json"),
        }

    def _admit(self, who: Consultant, consultation: Consultation, query: Query) -> tuple[Allowed, dict[str, Any]]:
        """The door: an `Allowed` answer, or an audited refusal raised as a `CordonError`."""
        now = self.clock()
        event = self._event(who, consultation, query, now)
        verdict: Allowed | Refused
        if not allowed(who.role, query.permission):  # the API's `require` checked it too; the CLI has only this
            verdict = Refused("forbidden", (f"the role {who.role.value} may not {query.permission.value}",))
        else:
            scope = query.scope(self.zone)
            holds = self.db.holds(active_at=now)
            verdict = decide(consultation, scope, who.role, self.zone.cameras, self.db.decisions(), now, holds)
        if isinstance(verdict, Refused):
            details = {"refusal": verdict.code, "missing": list(verdict.missing)}
            self.audit.record(AuditEvent(**event, result_count=0, outcome=Outcome.DENIED, details=details))
            raise refusal_error(verdict)
        return verdict, event

    def _view(self, allowed: Allowed) -> ReadsView:
        return ReadsView(self.db.connection(), allowed, SearchIndex(self.db).cursor())

    def consult(self, who: Consultant, consultation: Consultation, query: Query) -> ConsultationResult:
        """Run a search or a pattern analysis through the door; audited with its result count."""
        if isinstance(query, Export):
            return self.export(who, consultation, query).result
        allowed, event = self._admit(who, consultation, query)
        result = execute(self.zone, self._view(allowed), query)
        details = {"decision": allowed.decision_reference, "truncated": result.truncated}
        self.audit.record(AuditEvent(**event, result_count=result.count, details=details))
        return result

    def export(self, who: Consultant, consultation: Consultation, query: Export) -> EvidenceExport:
        """Evidence export (ZIP: reads, images, report, manifest) through the door; audited with the manifest's
        hash, so the file handed over can be matched to its entry later."""
        allowed, event = self._admit(who, consultation, query)
        result = execute(self.zone, self._view(allowed), query)
        evidence = build_export(self.zone, self.images, who.username, consultation, query, result, event["at"])
        details = {
            "decision": allowed.decision_reference,
            "manifest_sha256": evidence.manifest_sha256,
            "images": evidence.images,
            "missing_images": evidence.missing_images,
        }
        self.audit.record(AuditEvent(**event, result_count=result.count, details=details))
        return evidence
