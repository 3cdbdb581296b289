"""The store's interface. Callers see only this; SQLite today, PostgreSQL next, without touching them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cordon.records import PlateRead


class StoreError(Exception):
    """The store cannot do what was asked (not migrated, unreachable, corrupt)."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did, read by read, in the order given."""

    stored: tuple[bool, ...]  # True: newly stored; False: already there (a re-sent read)

    @property
    def stored_count(self) -> int:
        return sum(self.stored)

    @property
    def duplicate_count(self) -> int:
        return len(self.stored) - self.stored_count


@dataclass(frozen=True, slots=True)
class RejectionCount:
    """How many reads of a camera were refused for one reason (a health figure)."""

    camera_id: str
    reason: str
    count: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class CameraKey:
    """A camera's API key, as stored: only its hash."""

    key_id: int
    camera_id: str
    key_hash: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class Store(Protocol):
    """The store of record. Every method is safe to call from any thread."""

    def append(self, reads: Sequence[PlateRead]) -> AppendResult:
        """Store reads in one transaction; durable when it returns. Re-sent reads are not stored twice."""
        ...

    def plate_history(
        self, plate: str, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[PlateRead]:
        """Reads of one normalised plate, newest first."""
        ...

    def camera_reads(
        self, camera_id: str, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[PlateRead]:
        """Reads of one camera, newest first."""
        ...

    def reads_after(self, cursor: int, limit: int = 1000) -> list[tuple[int, PlateRead]]:
        """Reads stored after a cursor, in storage order, with their cursor (for `cordon reads tail`)."""
        ...

    def plates_seen_since(self, since: datetime) -> list[str]:
        """Distinct normalised plates read at or after `since` (event time)."""
        ...

    def cursor_before(self, received: datetime) -> int:
        """The cursor after which every read was received at or after `received` (0: from the start)."""
        ...

    def last_cursor(self) -> int:
        """Cursor of the newest stored read (0 when empty)."""
        ...

    def count_reads(self) -> int:
        """Number of stored reads."""
        ...

    def add_camera_key(self, camera_id: str, key_hash: str, label: str) -> CameraKey:
        """Record a new key hash for a camera."""
        ...

    def revoke_camera_keys(self, camera_id: str) -> int:
        """Revoke every key of a camera; returns how many."""
        ...

    def active_camera_keys(self) -> list[CameraKey]:
        """Keys not revoked."""
        ...

    def add_rejections(self, counts: Mapping[tuple[str, str], int], at: datetime) -> None:
        """Add to the per-camera, per-reason counts of refused reads."""
        ...

    def rejections(self) -> list[RejectionCount]:
        """The per-camera, per-reason counts of refused reads."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
