"""The flow store: a SQLite file of its own, apart from the police store and its Alembic chain.

It never holds a plate, and no hash that outlives a day: `flow_chunks.tokens` are the day's keyed hashes, useless
once the day's secret is destroyed (`cordon.flows.secrets`). Tables:

- `flow_dims`: each distinct (camera, lane, direction, movement, class, country), once; records and counts
  refer to it by number (four columns a record instead of nine: the flows add less to ingest);
- `flow_chunks`: the recorded reads (`FlowRecord`), one row per day and batch the flows sink writes, in columns
  packed as little-endian arrays: event times (8 bytes each), dims numbers (4 bytes), tokens and look-alike
  tokens (16 bytes each; both columns NULL for reads recorded after their day's secret was destroyed; the
  look-alike column also NULL for records migrated from version 1, which had none). One row for thousands of reads
  makes appending nearly free (a row per read cost SQLite a microsecond each: a tenth of ingest's budget);
- `flow_counts`: passages per local day, 15-minute slot and dims, kept up to date on every append (late reads
  included);
- `flow_trips`: gate-to-gate and section trips, derived once per day when the day is closed (its secret gone,
  so no linked read can come any more); no identifier of the vehicle;
- `flow_days`: the closed days; `flow_meta`: the zone and time zone the store was made for.

The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[n]` takes a file from version n to n + 1.
Written with `synchronous=NORMAL`: these are statistics, not evidence; a process crash loses nothing committed,
a power cut may lose the last second.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cordon.errors import CordonError
from cordon.flows.records import SLOT_S, DurationCount, FlowRecord, Trip, TripAtom, day_bounds
from cordon.flows.schema import chunk_row, migrate, unpacked
from cordon.flows.secrets import TOKEN_BYTES

_ALL = "SELECT at, dims, tokens, alike FROM flow_chunks WHERE day = ?"
_LINKED = _ALL + " AND tokens IS NOT NULL"
_PURGED = "SELECT coalesce(sum(n), 0) FROM flow_chunks WHERE day < ? AND day IN (SELECT day FROM flow_days)"
_PURGE = "DELETE FROM flow_chunks WHERE day < ? AND day IN (SELECT day FROM flow_days)"
_UPSERT_COUNT = "INSERT INTO flow_counts VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n"
Dims = tuple[str, str, str, str, str, str]  # camera, lane, direction, movement, vehicle_class, country
DIM_COLUMNS = ("camera", "lane", "direction", "movement", "vehicle_class")
MAX_DURATION_S = 86_400


class RecordChunk(NamedTuple):
    """Records of one local day, in columns, as the flows sink hands them to the store: event times (seconds,
    UTC), dims numbers (`FlowStore.dims_id`), tokens and look-alike tokens (all bytes, or all None once the
    day's secret is gone)."""

    day: str
    at: Sequence[int]
    dims: Sequence[int]
    tokens: Sequence[bytes | None]
    alike: Sequence[bytes | None] | None = None


@dataclass(frozen=True, slots=True)
class CountCell:
    """Passages in one 15-minute slot of one local day, at one camera lane, of one vehicle class."""

    day: str
    slot: int  # start of the slot, seconds since the epoch (UTC)
    camera: str
    lane: str
    direction: str
    movement: str
    vehicle_class: str
    n: int


class FlowStore:
    """The flow store on one SQLite file. Appends come from one thread (the flows sink); reads from any."""

    def __init__(self, path: Path, *, zone_id: str, timezone: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # readable by the Cordon service alone (SQLite gives -wal and -shm the same mode)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db)
        self.zone_id, self.timezone = self._meta(zone_id, timezone)
        self._dim_ids: dict[Dims, int] = {}
        self._dims: dict[int, Dims] = {}
        self._midnights: dict[str, int] = {}
        self._load_dims(self._db)

    def _meta(self, zone_id: str, timezone: str) -> tuple[str, str]:
        with self._lock, self._db:
            self._db.execute("INSERT OR IGNORE INTO flow_meta VALUES ('zone', ?), ('timezone', ?)", (zone_id, timezone))
            meta = dict(self._db.execute("SELECT key, value FROM flow_meta").fetchall())
        if meta["zone"] != zone_id:
            raise CordonError("flow_store_zone", f"{self.path} holds flows of zone {meta['zone']}, not {zone_id}")
        return meta["zone"], meta["timezone"]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            yield connection
        finally:
            connection.close()

    # -- writing ---------------------------------------------------------------------------------------------

    def append(self, records: Sequence[FlowRecord]) -> None:
        """Store records (any days, with tokens or not) and add them to the counts, in one transaction."""
        parts: dict[tuple[str, bool], list[FlowRecord]] = {}
        for r in records:
            parts.setdefault((r.day, r.token is None), []).append(r)
        with self._lock:
            chunks = [
                RecordChunk(
                    day,
                    [r.at for r in part],
                    [self._dims_id(r[2:8]) for r in part],
                    [r.token for r in part],
                    None if any(r.alike is None for r in part) else [r.alike for r in part],
                )
                for (day, _), part in parts.items()
            ]
        self.append_chunks(chunks)

    def dims_id(self, dims: Dims) -> int:
        """The number of a (camera, lane, direction, movement, vehicle class, country), made if new."""
        found = self._dim_ids.get(dims)
        if found is None:
            with self._lock:
                found = self._dims_id(dims)
        return found

    def append_chunks(self, chunks: Sequence[RecordChunk]) -> int:
        """Store chunks of records (each of one day, its tokens all there or all None) and add them to the
        counts, in one transaction; returns how many records. The ingest path: a row per chunk, and a `Counter`
        of (slot, dims) pairs made in C for the counts."""
        rows = [chunk_row(*chunk) for chunk in chunks if chunk.at]
        counts: list[tuple[str, int, int, int]] = []
        for chunk in chunks:
            cells = Counter(zip([at - at % SLOT_S for at in chunk.at], chunk.dims, strict=True))
            counts += [(chunk.day, slot, dims, n) for (slot, dims), n in cells.items()]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO flow_chunks VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.executemany(_UPSERT_COUNT, counts)
        return sum(row[1] for row in rows)

    def _dims_id(self, dims: Dims) -> int:
        found = self._dim_ids.get(dims)
        return self._new_dims(dims) if found is None else found

    def _new_dims(self, dims: Dims) -> int:
        cursor = self._db.execute("INSERT INTO flow_dims VALUES (NULL, ?, ?, ?, ?, ?, ?)", dims)
        assert cursor.lastrowid is not None
        self._dim_ids[dims], self._dims[cursor.lastrowid] = cursor.lastrowid, dims
        return cursor.lastrowid

    def _load_dims(self, db: sqlite3.Connection) -> None:
        for row in db.execute("SELECT * FROM flow_dims"):
            self._dims[row[0]] = row[1:]
            self._dim_ids[row[1:]] = row[0]

    def _dims_of(self, db: sqlite3.Connection, dims_id: int) -> Dims:
        found = self._dims.get(dims_id)
        if found is None:  # made by another process (the server) since this one opened the file
            self._load_dims(db)
            found = self._dims[dims_id]
        return found

    def close_day(self, day: str, trips: Sequence[Trip], closed_at: int) -> None:
        """Keep a day's trips once and for all (idempotent: a closed day is not closed again)."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            if self._db.execute("SELECT 1 FROM flow_days WHERE day = ?", (day,)).fetchone():
                return
            self._db.executemany("INSERT INTO flow_trips VALUES (?, ?, ?, ?, ?, ?, ?)", trips)
            self._db.execute("INSERT INTO flow_days VALUES (?, ?, ?)", (day, closed_at, len(trips)))

    def purge_raw(self, before: str) -> int:
        """Delete the raw records (and so the tokens) of closed days before `before` (ISO); their counts and
        trips stay. Returns how many records went."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            gone = int(self._db.execute(_PURGED, (before,)).fetchone()[0])
            self._db.execute(_PURGE, (before,))
        return gone

    # -- reading ---------------------------------------------------------------------------------------------

    def closed_days(self) -> set[str]:
        with self._reader() as db:
            return {row[0] for row in db.execute("SELECT day FROM flow_days")}

    def record_days(self) -> list[str]:
        """Every local day with raw records, or closed."""
        with self._reader() as db:
            query = "SELECT DISTINCT day FROM flow_chunks UNION SELECT day FROM flow_days ORDER BY day"
            return [row[0] for row in db.execute(query)]

    def day_records(
        self, day: str, linked_only: bool = True, cameras: frozenset[str] | None = None
    ) -> list[FlowRecord]:
        """A day's records (only those with a token, by default; only `cameras`' if given), in no order."""
        query = _LINKED if linked_only else _ALL
        out: list[FlowRecord] = []
        with self._reader() as db:
            for at_column, dims_column, tokens, alikes in db.execute(query, (day,)).fetchall():
                dims_of = [self._dims_of(db, number) for number in unpacked("i", dims_column)]
                at = unpacked("q", at_column)
                for index, (seconds, dims) in enumerate(zip(at, dims_of, strict=True)):
                    if cameras is None or dims[0] in cameras:
                        where = slice(index * TOKEN_BYTES, (index + 1) * TOKEN_BYTES)
                        token = None if tokens is None else tokens[where]
                        alike = None if alikes is None else alikes[where]
                        out.append(FlowRecord(day, seconds, *dims, token, alike))
        return out

    def count_cells(
        self,
        first: str,
        last: str,
        by: Sequence[str] = DIM_COLUMNS,
        *,
        bin_s: int | None = SLOT_S,
        camera: str | None = None,
    ) -> list[CountCell]:
        """Passages of the days from `first` to `last` (ISO, both included), added up by SQLite over what `by`
        leaves out (a dimension not in `by` is ""), per bin of `bin_s` seconds aligned on UTC (900 or 3600), or
        per local day (`bin_s=None`: the slot is then the day's local midnight)."""
        if bin_s not in (None, SLOT_S, 3600):
            raise ValueError("bin_s is 900, 3600 or None")
        columns = [c for c in DIM_COLUMNS if c in by]  # names from a fixed list, never from the caller
        select = "".join(f", d.{c}" for c in columns)
        slot = "0" if bin_s is None else f"c.slot - c.slot % {bin_s}"
        query = (
            f"SELECT c.day, {slot} AS bin{select}, sum(c.n) FROM flow_counts c "  # noqa: S608
            "JOIN flow_dims d ON d.id = c.dims WHERE c.day BETWEEN ? AND ?"
            + (" AND d.camera = ?" if camera is not None else "")
            + f" GROUP BY c.day, bin{select}"
        )
        params = (first, last) if camera is None else (first, last, camera)
        with self._reader() as db:
            rows = db.execute(query, params).fetchall()
        where = [columns.index(c) + 2 if c in columns else None for c in DIM_COLUMNS]
        cells = []
        for row in rows:
            values = [row[i] if i is not None else "" for i in where]
            start = row[1] if bin_s is not None else self._midnight(row[0])
            cells.append(CountCell(row[0], start, values[0], values[1], values[2], values[3], values[4], row[-1]))
        return cells

    def _midnight(self, day: str) -> int:
        found = self._midnights.get(day)
        if found is None:
            found = self._midnights[day] = int(day_bounds(day, self.timezone)[0].timestamp())
        return found

    def trip_atoms(self, first: str, last: str, through_s: float) -> list[TripAtom]:
        """Kept gate trips per day and gate pair, and how many took at most `through_s` seconds."""
        query = (
            "SELECT day, origin, destination, count(*), sum(duration_s <= ?) FROM flow_trips "
            "WHERE kind = 'gate' AND day BETWEEN ? AND ? GROUP BY day, origin, destination"
        )
        with self._reader() as db:
            return [TripAtom._make(row) for row in db.execute(query, (through_s, first, last))]

    def durations(self, first: str, last: str, through_s: float) -> list[DurationCount]:
        """Kept trip durations, as (kind, origin, destination, day, seconds, trips): every section trip, and
        gate trips of at most `through_s` seconds (travel times use those). SQLite walks a covering index in
        its order, so a month of trips comes back as a few hundred thousand rows, not millions."""
        query = (
            "SELECT kind, origin, destination, day, duration_s, count(*) FROM flow_trips "
            "WHERE kind = ? AND day BETWEEN ? AND ? AND duration_s <= ? "
            "GROUP BY kind, day, origin, destination, duration_s"
        )
        with self._reader() as db:
            rows: list[DurationCount] = db.execute(query, ("section", first, last, MAX_DURATION_S)).fetchall()
            rows += db.execute(query, ("gate", first, last, through_s)).fetchall()
        return rows

    def trips(self, days: Sequence[str], kind: str) -> list[Trip]:
        """The kept trips of `kind` on closed days among `days`."""
        with self._reader() as db:
            out: list[Trip] = []
            for day in days:
                rows = db.execute("SELECT * FROM flow_trips WHERE day = ? AND kind = ?", (day, kind))
                out.extend(Trip._make(row) for row in rows)
            return out

    def record_count(self) -> int:
        with self._reader() as db:
            return int(db.execute("SELECT coalesce(sum(n), 0) FROM flow_chunks").fetchone()[0])
