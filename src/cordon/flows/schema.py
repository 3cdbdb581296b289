"""The flow store's file format: its schema versions, how a file is brought to the latest, and how records are
packed into `flow_chunks` rows (little-endian arrays: event times 8 bytes each, dims numbers 4 bytes, tokens and
look-alike tokens 16 bytes each). `cordon.flows.store` reads and writes through these."""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence

from cordon.errors import CordonError
from cordon.flows.secrets import TOKEN_BYTES

_CHUNKS = """
    CREATE TABLE flow_chunks (
        day TEXT NOT NULL, n INTEGER NOT NULL, at BLOB NOT NULL, dims BLOB NOT NULL, tokens BLOB, alike BLOB
    );
    CREATE INDEX flow_chunks_day ON flow_chunks (day);
"""


def _records_to_chunks(db: sqlite3.Connection) -> None:
    """Version 1 → 2: rows of `flow_records` (one per read) become chunks of `flow_chunks`."""
    _run_script(db, _CHUNKS)
    days = [row[0] for row in db.execute("SELECT DISTINCT day FROM flow_records ORDER BY day")]
    for day in days:
        rows = db.execute("SELECT at, dims, token FROM flow_records WHERE day = ? ORDER BY rowid", (day,))
        linked: list[tuple[int, int, bytes]] = []
        unlinked: list[tuple[int, int, None]] = []
        for at, dims, token in rows:
            if token is None:
                unlinked.append((at, dims, None))
            else:
                linked.append((at, dims, token))
        for part in (linked, unlinked):
            if part:
                at, dims, tokens = zip(*part, strict=True)
                db.execute("INSERT INTO flow_chunks VALUES (?, ?, ?, ?, ?, ?)", chunk_row(day, at, dims, tokens, None))
    _run_script(db, "DROP TABLE flow_records; DROP TABLE flow_day_rows;")


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run statements in the transaction open on `db` (`executescript` would commit it first)."""
    for statement in filter(str.strip, script.split(";")):
        db.execute(statement)


#: `MIGRATIONS[n]` takes a file from version n to n + 1: a script, or a function run in the same transaction.
MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
    """
    CREATE TABLE flow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE flow_dims (
        id INTEGER PRIMARY KEY, camera TEXT NOT NULL, lane TEXT NOT NULL, direction TEXT NOT NULL,
        movement TEXT NOT NULL, vehicle_class TEXT NOT NULL, country TEXT NOT NULL,
        UNIQUE (camera, lane, direction, movement, vehicle_class, country)
    );
    CREATE TABLE flow_records (
        day TEXT NOT NULL, at INTEGER NOT NULL, dims INTEGER NOT NULL REFERENCES flow_dims (id), token BLOB
    );
    CREATE TABLE flow_day_rows (day TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL);
    CREATE TABLE flow_counts (
        day TEXT NOT NULL, slot INTEGER NOT NULL, dims INTEGER NOT NULL REFERENCES flow_dims (id),
        n INTEGER NOT NULL, PRIMARY KEY (day, slot, dims)
    ) WITHOUT ROWID;
    CREATE TABLE flow_trips (
        day TEXT NOT NULL, kind TEXT NOT NULL, origin TEXT NOT NULL, destination TEXT NOT NULL,
        start INTEGER NOT NULL, duration_s INTEGER NOT NULL, vehicle_class TEXT NOT NULL
    );
    CREATE INDEX flow_trips_kind_day ON flow_trips (kind, day, origin, destination, duration_s);
    CREATE TABLE flow_days (day TEXT PRIMARY KEY, closed_at INTEGER NOT NULL, trips INTEGER NOT NULL);
    """,
    _records_to_chunks,
)
SCHEMA_VERSION = len(MIGRATIONS)
_LITTLE = sys.byteorder == "little"


def packed(typecode: str, values: Iterable[int]) -> bytes:
    packed = array(typecode, values)
    if not _LITTLE:
        packed.byteswap()
    return packed.tobytes()


def unpacked(typecode: str, data: bytes) -> array[int]:
    values = array(typecode)
    values.frombytes(data)
    if not _LITTLE:
        values.byteswap()
    return values


def _token_column(tokens: Sequence[bytes | None] | None) -> bytes | None:
    if tokens is None or not tokens or tokens[0] is None:
        return None
    column = b"".join(tokens)  # type: ignore[arg-type]  # all bytes: a day's secret is there or gone
    if len(column) != TOKEN_BYTES * len(tokens):
        raise ValueError(f"tokens are {TOKEN_BYTES} bytes")
    return column


def chunk_row(
    day: str,
    at: Sequence[int],
    dims: Sequence[int],
    tokens: Sequence[bytes | None],
    alike: Sequence[bytes | None] | None,
) -> tuple[str, int, bytes, bytes, bytes | None, bytes | None]:
    """A `flow_chunks` row: one day's reads, tokens all there or all gone."""
    column = _token_column(tokens)
    return day, len(at), packed("q", at), packed("i", dims), column, None if column is None else _token_column(alike)


def migrate(connection: sqlite3.Connection) -> int:
    """Bring a flow store file to `SCHEMA_VERSION`; returns the version it had."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise CordonError(
            "flow_store_too_new", f"the flow store has schema version {version}; this Cordon knows {SCHEMA_VERSION}"
        )
    for target in range(version, SCHEMA_VERSION):
        step = MIGRATIONS[target]
        connection.execute("BEGIN")
        try:
            if isinstance(step, str):
                _run_script(connection, step)
            else:
                step(connection)
            connection.execute(f"PRAGMA user_version = {target + 1}")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    return version
