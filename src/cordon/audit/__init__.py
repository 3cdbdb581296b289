"""The tamper-evident audit trail: typed events, hash-chained, append-only, anchored by signed checkpoints.

from cordon.audit import Action, AuditEvent, Purpose
runtime.audit.record(AuditEvent(actor=principal.username, action=Action.READS_SEARCH, at=utcnow(), ...))
"""

from cordon.audit.events import Action, AuditEntry, AuditEvent, Outcome, Purpose
from cordon.audit.log import AuditLog

__all__ = ["Action", "AuditEntry", "AuditEvent", "AuditLog", "Outcome", "Purpose"]
