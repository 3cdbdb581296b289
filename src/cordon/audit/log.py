"""`AuditLog`: append typed events to the hash chain, page through them, anchor and verify the chain.

Everyone who records goes through `record` (or `record_in`, inside their own write transaction on the same
database, so an action and its audit entry commit together or not at all):

    runtime.audit.record(AuditEvent(
        actor=principal.username, actor_role=principal.role, client=principal.client,
        action=Action.READS_SEARCH, at=utcnow(), purpose=Purpose.JUDICIAL, reason="...",
        offence_type="burglary", case_ref="PV 2026/1234", query={"plate": "1ABC234"}, result_count=12,
    ))

Appends are serialised across threads and processes (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a table lock),
so the chain never forks; each append is durable when `record` returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, text

from cordon.audit.chain import StoredEntry, Verification, verify_chain
from cordon.audit.checkpoints import Checkpoint, CheckpointSigner
from cordon.audit.events import GENESIS, AuditEntry, AuditEvent, canonical_content, entry_hash
from cordon.auth.database import Database
from cordon.timeutil import from_micros, isoformat_z, to_micros, utcnow

log = logging.getLogger(__name__)

_COLUMNS = "seq, at_us, actor, action, purpose, event, prev_hash, hash"
_INSERT = text(
    "INSERT INTO audit_entries (seq, at_us, actor, action, purpose, event, prev_hash, hash) "
    "VALUES (:seq, :at_us, :actor, :action, :purpose, :event, :prev_hash, :hash)"
)


def _stored(row: Sequence[object]) -> StoredEntry:
    seq, at_us, actor, action, purpose, event, prev_hash, digest = row
    return StoredEntry(
        int(str(seq)), int(str(at_us)), str(actor), str(action), None if purpose is None else str(purpose),
        str(event), str(prev_hash), str(digest),
    )  # fmt: skip


def _entry(row: StoredEntry) -> AuditEntry:
    return AuditEntry(
        seq=row.seq, event=AuditEvent.model_validate_json(row.event_json), prev_hash=row.prev_hash, hash=row.hash
    )


class AuditLog:
    """The audit trail on the store's database. Safe to call from any thread."""

    def __init__(self, database: Database, signer: CheckpointSigner | None = None) -> None:
        self.database = database
        self.signer = signer

    # -- writing -------------------------------------------------------------------------------------------

    def record(self, event: AuditEvent) -> AuditEntry:
        """Append `event` to the chain in its own durable transaction and return the stored entry."""
        with self.database.write() as connection:
            return self.record_in(connection, event)

    def record_in(self, connection: Connection, event: AuditEvent) -> AuditEntry:
        """Append `event` inside the caller's write transaction (from `Database.write()`)."""
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE")
        head = connection.execute(text("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")).first()
        seq, prev_hash = (int(head[0]) + 1, str(head[1])) if head is not None else (1, GENESIS)
        content = canonical_content(event)
        digest = entry_hash(content, prev_hash)
        connection.execute(
            _INSERT,
            {
                "seq": seq,
                "at_us": to_micros(event.at),
                "actor": event.actor,
                "action": event.action,
                "purpose": event.purpose.value if event.purpose else None,
                "event": content.decode(),
                "prev_hash": prev_hash,
                "hash": digest,
            },
        )
        return AuditEntry(seq=seq, event=event, prev_hash=prev_hash, hash=digest)

    # -- reading -------------------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(entry count, hash of the last entry); (0, 64 zeros) for an empty trail."""
        with self.database.read() as connection:
            row = connection.execute(text("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")).first()
        return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)

    def entries(
        self,
        after: int = 0,
        limit: int = 100,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        """Entries with `seq > after`, oldest first, filtered; page on with the last `seq` returned."""
        clauses = ["seq > :after"]
        params: dict[str, object] = {"after": after, "limit": limit}
        for column, value in (("actor", actor), ("action", action)):
            if value is not None:
                clauses.append(f"{column} = :{column}")
                params[column] = value
        if since is not None:
            clauses.append("at_us >= :since")
            params["since"] = to_micros(since)
        if until is not None:
            clauses.append("at_us < :until")
            params["until"] = to_micros(until)
        sql = f"SELECT {_COLUMNS} FROM audit_entries WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT :limit"  # noqa: S608
        with self.database.read() as connection:
            rows = connection.execute(text(sql), params).all()
        return [_entry(_stored(tuple(row))) for row in rows]

    def iter_entries(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[AuditEntry]:
        """Every entry in a time window, oldest first, page by page."""
        after = 0
        while True:
            page = self.entries(after=after, limit=1000, since=since, until=until)
            yield from page
            if len(page) < 1000:
                return
            after = page[-1].seq

    def stored_rows(self) -> list[StoredEntry]:
        """Every row as stored, in `seq` order (for verification: nothing in them is trusted)."""
        with self.database.read() as connection:
            rows = connection.execute(text(f"SELECT {_COLUMNS} FROM audit_entries ORDER BY seq")).all()  # noqa: S608
        return [_stored(tuple(row)) for row in rows]

    # -- anchoring and verifying ---------------------------------------------------------------------------

    def checkpoint(self, at: datetime | None = None) -> Checkpoint:
        """Sign the current head, keep the checkpoint in the database and return it (to export)."""
        if self.signer is None:
            raise RuntimeError("this audit log has no signing key")
        with self.database.write() as connection:
            head = connection.execute(text("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")).first()
            seq, head_hash = (int(head[0]), str(head[1])) if head is not None else (0, GENESIS)
            checkpoint = self.signer.sign(seq, head_hash, at or utcnow())
            connection.execute(
                text(
                    "INSERT INTO audit_checkpoints (seq, head_hash, at_us, key_id, signature) "
                    "VALUES (:seq, :head_hash, :at_us, :key_id, :signature)"
                ),
                {
                    "seq": seq,
                    "head_hash": head_hash,
                    "at_us": to_micros(checkpoint.at),
                    "key_id": checkpoint.key_id,
                    "signature": checkpoint.signature,
                },
            )
        return checkpoint

    def stored_checkpoints(self) -> list[Checkpoint]:
        """Checkpoints kept in the database, oldest first (with this log's public key, when it has one)."""
        public = self.signer.public_key.hex() if self.signer is not None else ""
        with self.database.read() as connection:
            rows = connection.execute(
                text("SELECT seq, head_hash, at_us, key_id, signature FROM audit_checkpoints ORDER BY id")
            ).all()
        return [Checkpoint(int(r[0]), str(r[1]), from_micros(int(r[2])), str(r[3]), str(r[4]), public) for r in rows]

    def last_checkpoint_at(self) -> datetime | None:
        with self.database.read() as connection:
            row = connection.execute(text("SELECT max(at_us) FROM audit_checkpoints")).first()
        return from_micros(int(row[0])) if row is not None and row[0] is not None else None

    def checkpoint_if_due(self, every_s: float, folder: Path | None) -> Checkpoint | None:
        """A new checkpoint (exported to `folder`) when the last one is older than `every_s` and entries came."""
        last = self.last_checkpoint_at()
        if last is not None and (utcnow() - last).total_seconds() < every_s:
            return None
        stored = self.stored_checkpoints()
        head = self.head()[0]
        if head == 0 or (stored and stored[-1].seq == head):
            return None
        checkpoint = self.checkpoint()
        if folder is not None:
            export_checkpoint(checkpoint, folder)
        return checkpoint

    def verify(self, anchors: Sequence[Checkpoint] = (), public_key: bytes | None = None) -> Verification:
        """Verify the whole chain against the stored checkpoints and `anchors` (exported files)."""
        unique = {(c.seq, c.head_hash, c.signature): c for c in [*self.stored_checkpoints(), *anchors]}
        return verify_chain(self.stored_rows(), list(unique.values()), public_key)


def export_checkpoint(checkpoint: Checkpoint, folder: Path) -> Path:
    """Write the checkpoint as a JSON file in `folder`, named by its time; returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = isoformat_z(checkpoint.at).replace(":", "").replace("-", "").split(".")[0]
    path = folder / f"audit-checkpoint-{stamp}-{checkpoint.seq}.json"
    path.write_bytes(checkpoint.to_json())
    return path


class CheckpointTask:
    """A periodic job (`cordon serve` runs it on the writer's idle tick): sign and export a checkpoint when due.

    It looks at the database at most once a minute; a failure is logged and retried at the next look.
    """

    def __init__(self, audit: AuditLog, every_s: float, folder: Path | None, look_every_s: float = 60) -> None:
        self.audit = audit
        self.every_s = every_s
        self.folder = folder
        self.look_every_s = min(look_every_s, every_s)
        self._next_look = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now < self._next_look:
            return
        self._next_look = now + self.look_every_s
        try:
            checkpoint = self.audit.checkpoint_if_due(self.every_s, self.folder)
        except Exception:
            log.exception("audit checkpoint failed; retrying later")
            return
        if checkpoint is not None:
            log.info("audit checkpoint: %d entries, head %s", checkpoint.seq, checkpoint.head_hash[:16])
