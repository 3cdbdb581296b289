"""The flow store: a SQLite file of its own, apart from the police store and its Alembic chain.

It never holds a plate, and no hash that outlives a day: `flow_records.token` is the day's keyed hash, useless
once the day's secret is destroyed (`cordon.flows.secrets`). Tables:

- `flow_dims`: each distinct (camera, lane, direction, movement, class, country), once; records and counts
  refer to it by number (four columns a record instead of nine: the flows add less to ingest);
- `flow_records`: one row per recorded read (`FlowRecord`), token NULL for reads recorded after their day's
  secret was destroyed;
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
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cordon.errors import CordonError
from cordon.flows.records import SLOT_S, FlowRecord, Trip

MIGRATIONS: tuple[str, ...] = (
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
    CREATE INDEX flow_records_day ON flow_records (day);
    CREATE TABLE flow_counts (
        day TEXT NOT NULL, slot INTEGER NOT NULL, dims INTEGER NOT NULL REFERENCES flow_dims (id),
        n INTEGER NOT NULL, PRIMARY KEY (day, slot, dims)
    ) WITHOUT ROWID;
    CREATE TABLE flow_trips (
        day TEXT NOT NULL, kind TEXT NOT NULL, origin TEXT NOT NULL, destination TEXT NOT NULL,
        start INTEGER NOT NULL, duration_s INTEGER NOT NULL, vehicle_class TEXT NOT NULL
    );
    CREATE INDEX flow_trips_day ON flow_trips (day, kind);
    CREATE TABLE flow_days (day TEXT PRIMARY KEY, closed_at INTEGER NOT NULL, trips INTEGER NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_ALL = "SELECT day, at, dims, token FROM flow_records WHERE day = ?"
_LINKED = "SELECT day, at, dims, token FROM flow_records WHERE day = ? AND token IS NOT NULL"
Dims = tuple[str, str, str, str, str, str]  # camera, lane, direction, movement, vehicle_class, country


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


def migrate(connection: sqlite3.Connection) -> int:
    """Bring a flow store file to `SCHEMA_VERSION`; returns the version it had."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise CordonError(
            "flow_store_too_new", f"the flow store has schema version {version}; this Cordon knows {SCHEMA_VERSION}"
        )
    for target in range(version, SCHEMA_VERSION):
        with connection:
            connection.executescript(f"BEGIN; {MIGRATIONS[target]} PRAGMA user_version = {target + 1}; COMMIT;")
    return version


class FlowStore:
    """The flow store on one SQLite file. Appends come from one thread (the flows sink); reads from any."""

    def __init__(self, path: Path, *, zone_id: str, timezone: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db)
        self.zone_id, self.timezone = self._meta(zone_id, timezone)
        self._dim_ids: dict[Dims, int] = {}
        self._dims: dict[int, Dims] = {}
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
        """Store records and add them to the counts, in one transaction."""
        if not records:
            return
        with self._lock, self._db:
            self._db.execute("BEGIN")
            ids = self._dim_ids
            rows = []
            for r in records:
                dims = (r.camera, r.lane, r.direction, r.movement, r.vehicle_class, r.country)
                found = ids.get(dims)
                rows.append((r.day, r.at, self._new_dims(dims) if found is None else found, r.token))
            self._db.executemany("INSERT INTO flow_records VALUES (?, ?, ?, ?)", rows)
            cells = Counter((day, at - at % SLOT_S, dims) for day, at, dims, _ in rows)
            self._db.executemany(
                "INSERT INTO flow_counts VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
                [(*key, n) for key, n in cells.items()],
            )

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

    # -- reading ---------------------------------------------------------------------------------------------

    def closed_days(self) -> set[str]:
        with self._reader() as db:
            return {row[0] for row in db.execute("SELECT day FROM flow_days")}

    def record_days(self) -> list[str]:
        """Every local day with at least one count."""
        with self._reader() as db:
            return [row[0] for row in db.execute("SELECT DISTINCT day FROM flow_counts ORDER BY day")]

    def day_records(self, day: str, linked_only: bool = True) -> list[FlowRecord]:
        """A day's records (only those with a token, by default), in no particular order."""
        query = _LINKED if linked_only else _ALL
        with self._reader() as db:
            rows = db.execute(query, (day,)).fetchall()
            return [FlowRecord(d, at, *self._dims_of(db, dims), token) for d, at, dims, token in rows]

    def count_cells(self, first: str, last: str) -> list[CountCell]:
        """The counts of the days from `first` to `last` (ISO, both included)."""
        with self._reader() as db:
            rows = db.execute("SELECT * FROM flow_counts WHERE day BETWEEN ? AND ?", (first, last)).fetchall()
            return [CountCell(day, slot, *self._dims_of(db, dims)[:5], n) for day, slot, dims, n in rows]

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
            return int(db.execute("SELECT count(*) FROM flow_records").fetchone()[0])
