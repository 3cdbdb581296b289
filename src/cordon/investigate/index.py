"""The search indexes of migration 0004, kept off the ingest path.

Ingest appends reads and nothing else (its throughput is a target of its own). `SearchIndex.catch_up` reads
what was stored since the cursor (`search_index_state.last_read_id`, by id: the single writer assigns ids in
commit order), and adds each new distinct plate to `plate_index` and each other top-N candidate to
`read_candidates`, in batches. Searches (`ReadsView`) use the indexes up to the cursor and read the few reads
past it directly, so they never miss a read; `cordon serve` runs `catch_up` every few seconds to keep that
tail short, and retention runs it before pruning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from cordon.investigate.db import InvestigationDb
from cordon.plates import lookalike_key
from cordon.timeutil import to_micros, utcnow

STATE = "plates"


def candidate_keys(plate: str, candidates: Iterable[str]) -> set[str]:
    """Look-alike keys of a read's candidate plates, other than its own plate's."""
    keys = {lookalike_key(candidate) for candidate in candidates}
    keys.discard(lookalike_key(plate))
    return keys


def _stored(candidates: str | None) -> list[str]:
    """Candidate plates of the stored JSON `[[plate, confidence], ...]`."""
    return [str(c[0]) for c in orjson.loads(candidates)] if candidates else []


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What one `catch_up` did."""

    reads: int  # reads indexed
    plates: int  # new distinct plates
    candidates: int  # candidate rows added
    cursor: int  # last read id indexed


class SearchIndex:
    """`plate_index` and `read_candidates`, brought up to date in batches."""

    def __init__(self, db: InvestigationDb, batch: int = 10_000) -> None:
        self.db = db
        self.batch = batch

    def cursor(self) -> int:
        row = (
            self.db.connection()
            .execute("SELECT last_read_id FROM search_index_state WHERE name = ?", (STATE,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def catch_up(self, max_reads: int | None = None) -> CatchUp:
        """Index the reads stored since the cursor (at most `max_reads`, else all). Each batch is read and keyed
        outside any transaction; only its inserts and the cursor move hold the write lock (a few ms per 10,000
        reads), so ingest commits are not held up. Run by one process at a time (`cordon serve`)."""
        reads = plates = candidates = 0
        cursor = self.cursor()
        connection = self.db.connection()
        while max_reads is None or reads < max_reads:
            size = self.batch if max_reads is None else min(self.batch, max_reads - reads)
            rows = connection.execute(
                "SELECT id, plate, candidates FROM reads WHERE id > ? ORDER BY id LIMIT ?", (cursor, size)
            ).fetchall()
            if not rows:
                break
            keyed = [(p, key, key[::-1]) for p in sorted({row[1] for row in rows}) for key in (lookalike_key(p),)]
            extra = sorted((key, row[0]) for row in rows for key in candidate_keys(row[1], _stored(row[2])))
            cursor = int(rows[-1][0])
            with self.db.transaction() as tx:
                before = tx.total_changes
                tx.executemany(
                    "INSERT OR IGNORE INTO plate_index (plate, lookalike, lookalike_rev) VALUES (?,?,?)", keyed
                )
                plates += tx.total_changes - before
                tx.executemany("INSERT OR IGNORE INTO read_candidates (lookalike, read_id) VALUES (?,?)", extra)
                tx.execute(
                    "UPDATE search_index_state SET last_read_id = ?, updated_us = ? WHERE name = ?",
                    (cursor, to_micros(utcnow()), STATE),
                )
            candidates += len(extra)
            reads += len(rows)
            if len(rows) < size:
                break
        return CatchUp(reads, plates, candidates, cursor)
