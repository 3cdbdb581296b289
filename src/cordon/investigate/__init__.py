"""Lawful investigation: the consultation door, searches and patterns, evidence export, retention.

    investigation = build_investigation(runtime)
    result = investigation.consult(principal, Consultation(...), PlateSearch(plate="1-ABC-234"))
    RetentionJob(...).run_once(utcnow())          # or build_retention(runtime)
    build_upkeep(runtime).start()                 # cordon serve: index catch-up + retention on a thread

Every consultation goes through `Investigation.consult` / `.export` (the door, then the audit trail); the
query code is not reachable otherwise. docs/investigation.md describes the law, the refusals and each query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cordon.investigate.consultation import Consultation, ConsultationPurpose, TimeWindow
from cordon.investigate.db import InvestigationDb
from cordon.investigate.index import SearchIndex
from cordon.investigate.maintenance import Upkeep
from cordon.investigate.register import LegalHold, ProsecutorDecision
from cordon.investigate.retention import RetentionJob, RetentionReport
from cordon.investigate.service import Investigation, LocalConsultant
from cordon.timeutil import utcnow

if TYPE_CHECKING:
    from cordon.runtime import Runtime

__all__ = [
    "Consultation",
    "ConsultationPurpose",
    "Investigation",
    "InvestigationDb",
    "LegalHold",
    "LocalConsultant",
    "ProsecutorDecision",
    "RetentionJob",
    "RetentionReport",
    "SearchIndex",
    "TimeWindow",
    "Upkeep",
    "build_investigation",
    "build_retention",
    "build_upkeep",
]


def build_investigation(runtime: Runtime) -> Investigation:
    """The door and its queries on a runtime's store, images and audit trail."""
    db = InvestigationDb.for_settings(runtime.settings)
    return Investigation(runtime.zone, db, runtime.images, runtime.audit)


def build_retention(runtime: Runtime, actor: str = "system") -> RetentionJob:
    """The retention job on a runtime's store, images and audit trail (`cordon serve` runs it on a schedule)."""
    db = InvestigationDb.for_settings(runtime.settings)
    return RetentionJob(db, runtime.zone, runtime.images, runtime.audit, actor=actor)


def build_upkeep(runtime: Runtime) -> Upkeep:
    """Search-index catch-up and retention on their own thread, as `settings.investigate` says: `start()` it
    with the runtime, `stop()` it before the runtime stops."""
    retention = build_retention(runtime)
    every = runtime.settings.investigate
    return Upkeep(SearchIndex(retention.db), retention, every.index_every_s, every.retention_every_s, utcnow)
