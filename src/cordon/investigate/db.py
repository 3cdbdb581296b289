"""The investigation tables of the store (migration 0004): prosecutor decisions, legal holds, and the reads
themselves as the searches and retention see them.

SQLite, on the store's own file, with its own connections (one reader per thread, one writer behind a lock),
the way the ingest store works: WAL lets searches run while ingest commits.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cordon.errors import CordonError, unprocessable
from cordon.investigate.register import LegalHold, ProsecutorDecision
from cordon.settings import Settings
from cordon.store.base import StoreError
from cordon.store.connect import connect, immediate
from cordon.timeutil import from_micros, to_micros


def _plates(text: str) -> frozenset[str]:
    return frozenset(p for p in text.split(",") if p)


def _maybe(micros: int | None) -> datetime | None:
    return from_micros(micros) if micros is not None else None


class InvestigationDb:
    """Decisions, holds and read-side access to the reads, on the store's SQLite file."""

    def __init__(self, path: Path, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False

    @classmethod
    def for_settings(cls, settings: Settings) -> InvestigationDb:
        url = settings.store_url
        if not url.startswith("sqlite:///"):
            raise StoreError("investigation needs the embedded SQLite store (sqlite:///path) in this version")
        return cls(Path(url.removeprefix("sqlite:///")), settings.sqlite_busy_timeout_s)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use `transaction()` to write)."""
        if self._closed:
            raise StoreError("the investigation database is closed")
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect(self.path, self.busy_timeout_s)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with immediate(self.connection()) as connection:
            yield connection

    def close(self) -> None:
        """Close every connection (safe to call twice)."""
        with self._lock:
            self._closed = True
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    # -- prosecutor decisions ------------------------------------------------------------------------------

    def register_decision(self, decision: ProsecutorDecision) -> ProsecutorDecision:
        """Register a decision; a reference registered before is refused (decisions are never overwritten)."""
        problems = decision.problems()
        if problems:
            raise unprocessable("invalid_decision", "a prosecutor decision needs " + ", ".join(problems))
        assert decision.registered_at is not None
        try:
            with self.transaction() as connection:
                connection.execute(
                    "INSERT INTO prosecutor_decisions (reference, magistrate, case_reference, plates, valid_from_us, "
                    "valid_until_us, document_sha256, registered_by, registered_us) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        decision.reference,
                        decision.magistrate,
                        decision.case_reference,
                        ",".join(sorted(decision.plates)),
                        to_micros(decision.valid_from),
                        to_micros(decision.valid_until),
                        decision.document_sha256,
                        decision.registered_by,
                        to_micros(decision.registered_at),
                    ),
                )
        except sqlite3.IntegrityError:
            raise CordonError("decision_exists", f"decision {decision.reference} is registered already", 409) from None
        return decision

    def revoke_decision(self, reference: str, at: datetime) -> None:
        with self.transaction() as connection:
            cursor = connection.execute(
                "UPDATE prosecutor_decisions SET revoked_us = ? WHERE reference = ? AND revoked_us IS NULL",
                (to_micros(at), reference),
            )
            if cursor.rowcount == 0:
                raise CordonError("unknown_decision", f"no active decision {reference}", 404)

    def decisions(self) -> dict[str, ProsecutorDecision]:
        rows = self.connection().execute(
            "SELECT reference, magistrate, case_reference, plates, valid_from_us, valid_until_us, document_sha256, "
            "registered_by, registered_us, revoked_us FROM prosecutor_decisions ORDER BY reference"
        )
        return {
            r[0]: ProsecutorDecision(
                reference=r[0],
                magistrate=r[1],
                case_reference=r[2],
                plates=_plates(r[3]),
                valid_from=from_micros(r[4]),
                valid_until=from_micros(r[5]),
                document_sha256=r[6],
                registered_by=r[7],
                registered_at=from_micros(r[8]),
                revoked_at=_maybe(r[9]),
            )
            for r in rows
        }

    # -- legal holds ---------------------------------------------------------------------------------------

    def add_hold(self, hold: LegalHold) -> LegalHold:
        problems = hold.problems()
        if problems:
            raise unprocessable("invalid_hold", "a legal hold needs " + ", ".join(problems))
        assert hold.created_at is not None
        with self.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO legal_holds (case_reference, reason, created_by, created_us) VALUES (?,?,?,?)",
                (hold.case_reference, hold.reason, hold.created_by, to_micros(hold.created_at)),
            )
            hold_id = int(cursor.lastrowid or 0)
            connection.executemany(
                "INSERT INTO legal_hold_items (hold_id, plate, read_id) VALUES (?,?,?)",
                [(hold_id, plate, None) for plate in sorted(hold.plates)]
                + [(hold_id, None, read_id) for read_id in sorted(hold.read_ids)],
            )
        return LegalHold(
            hold.case_reference, hold.reason, hold.plates, hold.read_ids, hold_id, hold.created_by, hold.created_at
        )

    def release_hold(self, hold_id: int, at: datetime) -> None:
        with self.transaction() as connection:
            cursor = connection.execute(
                "UPDATE legal_holds SET released_us = ? WHERE id = ? AND released_us IS NULL", (to_micros(at), hold_id)
            )
            if cursor.rowcount == 0:
                raise CordonError("unknown_hold", f"no active legal hold {hold_id}", 404)

    def holds(self, active_at: datetime | None = None) -> list[LegalHold]:
        """Every hold, or only those active at `active_at`."""
        connection = self.connection()
        items: dict[int, tuple[set[str], set[int]]] = {}
        for hold_id, plate, read_id in connection.execute("SELECT hold_id, plate, read_id FROM legal_hold_items"):
            plates, reads = items.setdefault(hold_id, (set(), set()))
            if plate is not None:
                plates.add(plate)
            if read_id is not None:
                reads.add(int(read_id))
        holds = []
        rows = connection.execute(
            "SELECT id, case_reference, reason, created_by, created_us, released_us FROM legal_holds ORDER BY id"
        )
        for hold_id, case, reason, by, created, released in rows:
            plates, reads = items.get(hold_id, (set(), set()))
            hold = LegalHold(
                case, reason, frozenset(plates), frozenset(reads), hold_id, by, from_micros(created), _maybe(released)
            )
            if active_at is None or hold.active(active_at):
                holds.append(hold)
        return holds
