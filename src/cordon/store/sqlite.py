"""The embedded store of record: SQLite in WAL mode.

One writer connection (serialised by a lock) and one reader connection per thread; WAL lets readers run
while a write commits. `synchronous=FULL` makes every commit durable against power loss, so a read is
acknowledged only once it is on disk; throughput comes from committing many reads per transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from cordon.records import (
    BoundingBox,
    Direction,
    GeoPoint,
    PlateCandidate,
    PlateRead,
    VehicleType,
)
from cordon.store.base import AppendResult, CameraKey, RejectionCount, StoreError
from cordon.store.connect import connect, immediate
from cordon.timeutil import from_micros, to_micros, utcnow

_COLUMNS = (
    "camera_id, event_id, event_time_us, ingest_time_us, plate_as_read, plate, country, confidence, "
    "candidates, bbox, lane_id, direction, lat, lon, vehicle_type, speed, image_ref, schema_version"
)
_INSERT = (
    f"INSERT INTO reads ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "  # noqa: S608
    "ON CONFLICT (camera_id, event_id) DO NOTHING"
)
_SELECT = f"SELECT id, {_COLUMNS} FROM reads"  # noqa: S608
#: The select list `row_to_read` expects (`id` first), for read-side query modules (cordon.investigate).
READ_SELECT = _SELECT

# The writer connection's page cache (KiB, negative per SQLite) and WAL checkpoint interval (pages). Every
# read dirties a random leaf of the plate index, so a commit writes about one page per read; with SQLite's
# defaults (2 MiB cache, checkpoint every 1,000 pages) the writer re-reads those leaves from disk and
# checkpoints on almost every commit. 64 MiB and 8,192 pages (32 MiB of WAL at 4 KiB pages) raise sustained
# append throughput by 25-50 % (bench/store_append.py --sqlite-defaults, docs/benchmarks.md). Durability is
# unchanged: a commit is still durable (synchronous=FULL) when it returns; a checkpoint only moves committed
# pages into the database file.
_WRITER_CACHE_KIB = 64 * 1024
_WRITER_CHECKPOINT_PAGES = 8192

Row = tuple[Any, ...]


def read_to_row(read: PlateRead) -> Row:
    """The database row of a read."""
    bbox = read.bbox
    location = read.location
    return (
        read.observed_by,
        read.event_id,
        to_micros(read.date_observed),
        to_micros(read.date_received),
        read.plate_as_read,
        read.plate,
        read.country,
        read.confidence,
        orjson.dumps([[c.plate, c.confidence] for c in read.candidates]).decode() if read.candidates else None,
        f"{bbox.x},{bbox.y},{bbox.w},{bbox.h}" if bbox is not None else None,
        read.lane_id,
        read.direction.value if read.direction is not None else None,
        location.lat if location is not None else None,
        location.lon if location is not None else None,
        read.vehicle_type.value if read.vehicle_type is not None else None,
        read.speed,
        read.image_ref,
        read.schema_version,
    )


def row_to_read(row: Row) -> PlateRead:
    """A read from its database row (`id` first, as `_SELECT` gives it). Built through the models' own
    validation, not `model_construct`: with pydantic 2 validating (in its compiled core) costs a third less than
    constructing in Python (11 against 17 µs a row with candidates and a box), and it checks what was stored."""
    (_id, camera, event, t_obs, t_recv, as_read, plate, country, conf, cands, bbox, lane, direction, lat, lon,
     vtype, speed, image, version) = row  # fmt: skip
    candidates = tuple(PlateCandidate(plate=p, confidence=c) for p, c in orjson.loads(cands)) if cands else ()
    box = None
    if bbox:
        x, y, w, h = (int(v) for v in bbox.split(","))
        box = BoundingBox(x=x, y=y, w=w, h=h)
    return PlateRead(
        schema_version=version,
        event_id=event,
        observed_by=camera,
        date_observed=from_micros(t_obs),
        date_received=from_micros(t_recv),
        plate_as_read=as_read,
        plate=plate,
        country=country,
        confidence=conf,
        candidates=candidates,
        bbox=box,
        lane_id=lane,
        direction=Direction(direction) if direction else None,
        location=GeoPoint(lat=lat, lon=lon) if lat is not None and lon is not None else None,
        vehicle_type=VehicleType(vtype) if vtype else None,
        speed=speed,
        image_ref=image,
    )


class SqliteStore:
    """`Store` on one SQLite file. Open it with `cordon.store.open_store`, which migrates it first."""

    def __init__(
        self, path: Path, synchronous: Literal["FULL", "NORMAL"] = "FULL", busy_timeout_s: float = 30.0
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout_s = busy_timeout_s
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer = self._connect(writer=True)
        self._closed = False

    def _connect(self, writer: bool = False) -> sqlite3.Connection:
        connection = connect(self.path, self._busy_timeout_s, self._synchronous)
        if writer:
            try:
                connection.execute(f"PRAGMA cache_size=-{_WRITER_CACHE_KIB}")
                connection.execute(f"PRAGMA wal_autocheckpoint={_WRITER_CHECKPOINT_PAGES}")
            except sqlite3.Error as exc:
                connection.close()
                raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            if self._closed:
                raise StoreError("the store is closed")
            with immediate(self._writer) as connection:
                yield connection

    # -- reads ---------------------------------------------------------------------------------------------

    def append(self, reads: Sequence[PlateRead]) -> AppendResult:
        rows = [read_to_row(read) for read in reads]
        stored: list[bool] = []
        with self._transaction() as connection:
            cursor = connection.cursor()
            for row in rows:
                cursor.execute(_INSERT, row)
                stored.append(cursor.rowcount == 1)
        return AppendResult(tuple(stored))

    def _select(self, where: str, params: tuple[Any, ...], order: str, limit: int) -> list[PlateRead]:
        sql = f"{_SELECT} WHERE {where} ORDER BY {order} LIMIT ?"
        return [row_to_read(row) for row in self._reader().execute(sql, (*params, limit))]

    @staticmethod
    def _window(column: str, since: datetime | None, until: datetime | None) -> tuple[str, tuple[int, ...]]:
        clauses, params = [], []
        if since is not None:
            clauses.append(f"{column} >= ?")
            params.append(to_micros(since))
        if until is not None:
            clauses.append(f"{column} < ?")
            params.append(to_micros(until))
        return "".join(f" AND {c}" for c in clauses), tuple(params)

    def plate_history(
        self, plate: str, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[PlateRead]:
        extra, params = self._window("event_time_us", since, until)
        return self._select(f"plate = ?{extra}", (plate, *params), "event_time_us DESC", limit)

    def camera_reads(
        self, camera_id: str, since: datetime | None = None, until: datetime | None = None, limit: int = 1000
    ) -> list[PlateRead]:
        extra, params = self._window("event_time_us", since, until)
        return self._select(f"camera_id = ?{extra}", (camera_id, *params), "event_time_us DESC", limit)

    def reads_after(self, cursor: int, limit: int = 1000) -> list[tuple[int, PlateRead]]:
        sql = f"{_SELECT} WHERE id > ? ORDER BY id LIMIT ?"
        return [(row[0], row_to_read(row)) for row in self._reader().execute(sql, (cursor, limit))]

    def plates_seen_since(self, since: datetime) -> list[str]:
        # One pass over the (plate, time) index, which covers the query: no table row is read.
        sql = "SELECT plate FROM reads GROUP BY plate HAVING max(event_time_us) >= ?"
        return [row[0] for row in self._reader().execute(sql, (to_micros(since),))]

    def cursor_before(self, received: datetime) -> int:
        # Ids grow with ingest time: a binary search over ids, a few dozen primary-key lookups.
        reader, target = self._reader(), to_micros(received)
        low, high = 0, self.last_cursor()
        while low < high:
            middle = (low + high + 1) // 2
            row = reader.execute("SELECT id, ingest_time_us FROM reads WHERE id >= ? ORDER BY id LIMIT 1",
                                 (middle,)).fetchone()  # fmt: skip
            if row is not None and row[1] < target:
                low = row[0]
            else:
                high = middle - 1
        return low

    def last_cursor(self) -> int:
        row = self._reader().execute("SELECT max(id) FROM reads").fetchone()
        return int(row[0] or 0)

    def count_reads(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM reads").fetchone()[0])

    # -- camera keys ---------------------------------------------------------------------------------------

    def add_camera_key(self, camera_id: str, key_hash: str, label: str) -> CameraKey:
        now = utcnow()
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO camera_keys (camera_id, key_hash, label, created_us) VALUES (?,?,?,?)",
                (camera_id, key_hash, label, to_micros(now)),
            )
            key_id = int(cursor.lastrowid or 0)
        return CameraKey(key_id, camera_id, key_hash, label, now, None)

    def revoke_camera_keys(self, camera_id: str) -> int:
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE camera_keys SET revoked_us = ? WHERE camera_id = ? AND revoked_us IS NULL",
                (to_micros(utcnow()), camera_id),
            )
            return int(cursor.rowcount)

    def active_camera_keys(self) -> list[CameraKey]:
        rows = self._reader().execute(
            "SELECT id, camera_id, key_hash, label, created_us FROM camera_keys WHERE revoked_us IS NULL ORDER BY id"
        )
        return [CameraKey(r[0], r[1], r[2], r[3], from_micros(r[4]), None) for r in rows]

    # -- health --------------------------------------------------------------------------------------------

    def add_rejections(self, counts: Mapping[tuple[str, str], int], at: datetime) -> None:
        if not counts:
            return
        stamp = to_micros(at)
        with self._transaction() as connection:
            connection.executemany(
                "INSERT INTO camera_rejections (camera_id, reason, count, last_us) VALUES (?,?,?,?) "
                "ON CONFLICT (camera_id, reason) DO UPDATE SET count = count + excluded.count, "
                "last_us = max(last_us, excluded.last_us)",
                [(camera, reason, n, stamp) for (camera, reason), n in counts.items()],
            )

    def rejections(self) -> list[RejectionCount]:
        rows = self._reader().execute(
            "SELECT camera_id, reason, count, last_us FROM camera_rejections ORDER BY camera_id, reason"
        )
        return [RejectionCount(r[0], r[1], int(r[2]), from_micros(r[3])) for r in rows]

    def close(self) -> None:
        with self._write_lock:
            self._closed = True
            with self._connections_lock:
                for connection in self._connections:
                    connection.close()
                self._connections.clear()
