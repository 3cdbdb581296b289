"""Prosecutor decisions and legal holds: the records that widen what may be consulted and what is kept.

A prosecutor decision (written, reasoned decision of the procureur des Konings / procureur du Roi) lets
investigators consult reads older than a camera's open consultation period (month 2 to 12), for a judicial
purpose, within its scope (a case, or a list of plates) and while it is valid. A legal hold freezes reads tied
to a case (by plate or by read id) beyond retention. Both are plain frozen values; `RegisterDb` keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cordon.timeutil import isoformat_z

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ProsecutorDecision:
    """A registered decision. Scope: a case reference, or plates (normalised), or both (either covers)."""

    reference: str
    magistrate: str  # issuing magistrate or office, e.g. "PK Oost-Vlaanderen, afdeling Dendermonde"
    valid_from: datetime
    valid_until: datetime
    case_reference: str | None = None
    plates: frozenset[str] = frozenset()
    document_sha256: str | None = None  # hash of the scanned or signed decision document
    registered_by: str = ""
    registered_at: datetime | None = None
    revoked_at: datetime | None = None

    def problems(self) -> list[str]:
        """What makes this decision unfit to register (pure)."""
        found = []
        if not self.reference.strip():
            found.append("a reference")
        if not self.magistrate.strip():
            found.append("the issuing magistrate or office")
        if not self.case_reference and not self.plates:
            found.append("a scope: a case reference or at least one plate")
        if self.valid_until <= self.valid_from:
            found.append("a validity window that ends after it starts")
        if self.document_sha256 is not None and not _SHA256.fullmatch(self.document_sha256):
            found.append("a document hash as 64 lower-case hex digits (SHA-256)")
        return found

    def unusable_because(self, now: datetime) -> str | None:
        """Why the decision cannot be used at `now` (revoked, not yet valid, expired), or None."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return f"decision {self.reference} was revoked on {isoformat_z(self.revoked_at)}"
        if now < self.valid_from:
            return f"decision {self.reference} is valid only from {isoformat_z(self.valid_from)}"
        if now >= self.valid_until:
            return f"decision {self.reference} expired on {isoformat_z(self.valid_until)}"
        return None

    def covers(self, case_reference: str, plates: tuple[str, ...] | None) -> bool:
        """Whether the decision's scope covers a consultation for this case about these plates."""
        if self.case_reference is not None and self.case_reference == case_reference:
            return True
        return bool(self.plates) and plates is not None and len(plates) > 0 and set(plates) <= self.plates

    def describe_scope(self) -> str:
        parts = []
        if self.case_reference:
            parts.append(f"case {self.case_reference}")
        if self.plates:
            parts.append("plate" + ("s " if len(self.plates) > 1 else " ") + ", ".join(sorted(self.plates)))
        return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class LegalHold:
    """Reads frozen for a case: by plate (every read of it) and/or by read id. Held reads escape retention
    until the hold is released."""

    case_reference: str
    reason: str
    plates: frozenset[str] = frozenset()
    read_ids: frozenset[int] = frozenset()
    hold_id: int | None = None
    created_by: str = ""
    created_at: datetime | None = None
    released_at: datetime | None = None

    def problems(self) -> list[str]:
        found = []
        if not self.case_reference.strip():
            found.append("a case reference")
        if not self.reason.strip():
            found.append("a reason")
        if not self.plates and not self.read_ids:
            found.append("plates or read ids to hold")
        return found

    def active(self, now: datetime) -> bool:
        return self.released_at is None or self.released_at > now
