"""Edge mode: a machine with a camera becomes a Cordon camera. Reads go into a disk queue first (SQLite,
fsync on every write), and a sender posts them in order to `POST /api/v1/reads` with the camera's key,
deleting each only once the server has acknowledged it (stored, or a duplicate of one already stored).
When the server is unreachable the queue grows on disk and is sent later, oldest first; a restart picks it
up where it stopped. Event ids are stable (`output.event_id_for`), so a resend after a crash between the
server's answer and the deletion is stored once.

GPS for mobile units: a fixed position (`50.85,4.35`), or an NMEA log (`nmea:/run/gps.nmea`, e.g. written by
`gpspipe -r`), of which the last valid RMC or GGA fix is used.
"""

from __future__ import annotations

import os
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import httpx
import orjson

from cordon.records import GeoPoint

REFUSED_RETENTION_DAYS = 30.0
"""How long edge mode keeps a refused read before deleting it at start (`--refused-retention-days`)."""
GPS_MAX_AGE_S = 10.0
"""A fix older than this is not a mobile unit's position any more: the receiver lost the sky, or gpsd stopped
(`--gps-max-age`)."""


@dataclass(frozen=True)
class Queued:
    seq: int
    event_id: str
    body: bytes


@dataclass(frozen=True)
class RefusedRead:
    """A read the server refused for good, kept aside on the edge unit for a person to look at."""

    event_id: str
    body: bytes
    reason: str
    refused_at: float
    """Unix time."""


@dataclass(frozen=True)
class QueueStatus:
    queued: int
    oldest_queued_at: float | None
    refused: int
    oldest_refused_at: float | None


class NotAQueue(ValueError):
    """The file is not an edge unit's queue (or not a readable SQLite file)."""


class DiskQueue:
    """An append-only, durable outbox of reads (Cordon JSON), in the order they were put, and the reads the
    server refused for good (`refused`), kept aside until a person resends or purges them."""

    @classmethod
    def open_existing(cls, path: Path) -> DiskQueue:
        """An existing queue, for the `cordon edge` commands: NotAQueue when the file is missing or is not one
        (nothing is created or changed in it)."""
        if not path.is_file():
            raise NotAQueue(f"{path}: no such queue file")
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as probe:
                tables = {row[0] for row in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            probe.close()
        except sqlite3.DatabaseError as exc:
            raise NotAQueue(f"{path}: not an edge queue ({exc})") from None
        if not {"outbox", "refused"} <= tables:
            raise NotAQueue(f"{path}: not an edge queue (no outbox and refused tables)")
        return cls(path)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # plates, positions, crops: for the edge process's user alone (-wal, -shm follow)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL,"
            " body BLOB NOT NULL, queued_at REAL NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS refused (event_id TEXT PRIMARY KEY, body BLOB NOT NULL, reason TEXT NOT NULL,"
            " refused_at REAL NOT NULL)"
        )

    def put(self, event_id: str, body: bytes) -> None:
        """Queue a read durably; putting an event id already queued does nothing."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (event_id, body, queued_at) VALUES (?, ?, ?)",
                (event_id, body, time.time()),
            )

    def head(self, limit: int) -> list[Queued]:
        """The oldest queued reads."""
        with self._lock:
            rows = self._db.execute("SELECT seq, event_id, body FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [Queued(int(seq), str(event_id), bytes(body)) for seq, event_id, body in rows]

    def remove(self, items: list[Queued]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(item.seq,) for item in items])

    def refuse(self, item: Queued, reason: str) -> None:
        """Move a read the server will never take to the `refused` table (kept, not lost, for a person)."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?)", (item.event_id, item.body, reason, time.time())
            )
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (item.seq,))
            self._db.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def refused_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM refused").fetchone()[0])

    def refused_reads(self) -> list[RefusedRead]:
        """The refused reads, oldest refusal first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, body, reason, refused_at FROM refused ORDER BY refused_at, event_id"
            ).fetchall()
        return [RefusedRead(str(e), bytes(b), str(r), float(t)) for e, b, r, t in rows]

    def resend(self, event_ids: list[str] | None = None) -> int:
        """Move refused reads (all of them with None) back to the end of the outbox, in one transaction, to be
        sent again (once what made the server refuse them is fixed: the camera added to the zone, a key).
        Returns how many moved; an id that is not refused is ignored."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                refused = [row[0] for row in self._db.execute("SELECT event_id FROM refused ORDER BY refused_at")]
                known = set(refused)
                chosen = refused if event_ids is None else [e for e in dict.fromkeys(event_ids) if e in known]
                now = time.time()
                for event_id in chosen:
                    self._db.execute(
                        "INSERT OR IGNORE INTO outbox (event_id, body, queued_at) "
                        "SELECT event_id, body, ? FROM refused WHERE event_id = ?",
                        (now, event_id),
                    )
                    self._db.execute("DELETE FROM refused WHERE event_id = ?", (event_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(chosen)

    def purge_refused(self, older_than_s: float, now: float | None = None) -> int:
        """Delete refused reads refused more than `older_than_s` seconds ago (they hold plates and images:
        an edge unit must not keep them longer than a person needs to look at them). Returns how many."""
        cutoff = (time.time() if now is None else now) - older_than_s
        with self._lock:
            return self._db.execute("DELETE FROM refused WHERE refused_at < ?", (cutoff,)).rowcount

    def status(self) -> QueueStatus:
        with self._lock:
            queued, oldest_queued = self._db.execute("SELECT count(*), min(queued_at) FROM outbox").fetchone()
            refused, oldest_refused = self._db.execute("SELECT count(*), min(refused_at) FROM refused").fetchone()
        return QueueStatus(int(queued), oldest_queued, int(refused), oldest_refused)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Sender:
    """Posts the queue's reads in order, in batches; backs off while the server cannot be reached. `verify`:
    how the server's HTTPS certificate is checked (default: the system's trusted authorities; a context
    holding the zone's own authority for a server behind an internal CA)."""

    def __init__(
        self,
        queue: DiskQueue,
        url: str,
        key: str,
        batch: int = 100,
        timeout_s: float = 10.0,
        max_backoff_s: float = 30.0,
        on_error: Callable[[str], None] | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.queue = queue
        self.batch = batch
        self.max_backoff_s = max_backoff_s
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s, headers=headers, verify=verify)
        self._on_error = on_error or (lambda message: None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def send_once(self) -> bool:
        """Send one batch from the head of the queue. True when the queue made progress (or is empty), False
        when the server could not be reached or asked to retry."""
        items = self.queue.head(self.batch)
        if not items:
            return True
        status, detail = self._post(items)
        if status in (200, 201):
            self.queue.remove(items)
            self.sent += len(items)
            return True
        if status in (400, 413, 422) and len(items) > 1:
            # The batch is refused whole: send one by one to find the read at fault, keep order for the rest.
            return all(self._send_single(item) for item in items)
        if status in (400, 413, 422):
            self.queue.refuse(items[0], detail)
            self._on_error(f"read {items[0].event_id} refused by the server: {detail}")
            return True
        self._on_error(f"server not reachable or busy ({detail}); {len(self.queue)} reads queued")
        return False

    def _send_single(self, item: Queued) -> bool:
        status, detail = self._post([item])
        if status in (200, 201):
            self.queue.remove([item])
            self.sent += 1
            return True
        if status in (400, 413, 422):
            self.queue.refuse(item, detail)
            self._on_error(f"read {item.event_id} refused by the server: {detail}")
            return True
        return False

    def _post(self, items: list[Queued]) -> tuple[int, str]:
        body = b"[" + b",".join(item.body for item in items) + b"]"
        try:
            response = self._client.post("/api/v1/reads", content=body)
        except httpx.HTTPError as exc:  # the reason in a few words (a refused connection, a certificate)
            return 0, f"{type(exc).__name__}: {str(exc)[:160]}" if str(exc) else type(exc).__name__
        if response.status_code in (200, 201):
            return response.status_code, ""
        try:
            detail = str(orjson.loads(response.content)["error"]["message"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            detail = response.text[:200]
        return response.status_code, f"HTTP {response.status_code}: {detail}"

    def drain(self, timeout_s: float) -> bool:
        """Send until the queue is empty or `timeout_s` passes; True if it emptied."""
        deadline = time.monotonic() + timeout_s
        backoff = 0.2
        while len(self.queue):
            if self.send_once():
                backoff = 0.2
                continue
            if time.monotonic() + backoff > deadline:
                return False
            time.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        return True

    def start(self) -> None:
        """Send in the background as reads arrive (`notify`)."""
        self._thread = threading.Thread(target=self._run, name="cordon-edge-sender", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            if len(self.queue) == 0:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            if self.send_once():
                backoff = 0.2
            else:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def stop(self) -> None:
        """Stop the background sender (the queue stays on disk)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(15)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._client.close()


class GpsSource(Protocol):
    """Where a mobile unit is now (None: no fix)."""

    def position(self) -> GeoPoint | None: ...


@dataclass(frozen=True)
class FixedGps:
    point: GeoPoint

    def position(self) -> GeoPoint | None:
        return self.point


def _nmea_degrees(value: str, hemisphere: str) -> float:
    head, minutes = divmod(float(value), 100)
    degrees = head + minutes / 60
    return -degrees if hemisphere in ("S", "W") else degrees


@dataclass(frozen=True)
class NmeaFix:
    """A valid position from one NMEA sentence, and when the receiver took it (UTC; None if the sentence has no
    time)."""

    point: GeoPoint
    at: datetime | None


def _nmea_checksum_ok(line: str) -> bool:
    """True when the sentence's `*hh` checksum (XOR of the characters between `$` and `*`) matches, or when it
    carries none; a sentence damaged on a serial line fails."""
    body, star, given = line.strip().partition("*")
    if not star:
        return True
    computed = 0
    for char in body.lstrip("$!"):
        computed ^= ord(char)
    return given[:2].upper() == f"{computed:02X}"


def _nmea_time(hhmmss: str, ddmmyy: str | None, now: datetime) -> datetime | None:
    """The fix's UTC time: RMC gives date and time; GGA the time only, taken on the day that puts it nearest to
    `now` (a fix just before midnight read just after it)."""
    if len(hhmmss) < 6:
        return None
    try:
        hour, minute, second = int(hhmmss[0:2]), int(hhmmss[2:4]), float(hhmmss[4:])
        if ddmmyy:
            day, month, year = int(ddmmyy[0:2]), int(ddmmyy[2:4]), 2000 + int(ddmmyy[4:6])
            base = datetime(year, month, day, tzinfo=UTC)
        else:
            base = datetime(now.year, now.month, now.day, tzinfo=UTC)
        at = base + timedelta(hours=hour, minutes=minute, seconds=second)
    except ValueError:
        return None
    if not ddmmyy and at - now > timedelta(hours=12):
        at -= timedelta(days=1)
    return at


def parse_nmea_fix(line: str, now: datetime | None = None) -> NmeaFix | None:
    """A fix from one NMEA RMC (status A) or GGA (fix quality > 0) sentence with a right checksum, else None."""
    if not _nmea_checksum_ok(line):
        return None
    fields = line.strip().split("*", 1)[0].split(",")
    kind = fields[0][-3:] if fields and fields[0].startswith("$") else ""
    clock = now or datetime.now(UTC)
    try:
        if kind == "RMC" and len(fields) > 9 and fields[2] == "A":
            point = GeoPoint(lat=_nmea_degrees(fields[3], fields[4]), lon=_nmea_degrees(fields[5], fields[6]))
            return NmeaFix(point, _nmea_time(fields[1], fields[9], clock))
        if kind == "GGA" and len(fields) > 6 and fields[6] not in ("", "0"):
            point = GeoPoint(lat=_nmea_degrees(fields[2], fields[3]), lon=_nmea_degrees(fields[4], fields[5]))
            return NmeaFix(point, _nmea_time(fields[1], None, clock))
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class NmeaFileGps:
    """The last fix in an NMEA log file (read from its last 64 KiB on every call), if it is fresh: taken less
    than `max_age_s` ago by its own time stamp (by the file's modification time for a sentence without one).
    A stale fix gives None: a read then goes without a position rather than with a wrong one."""

    path: Path
    max_age_s: float = GPS_MAX_AGE_S

    def position(self) -> GeoPoint | None:
        now = datetime.now(UTC)
        try:
            with self.path.open("rb") as handle:
                handle.seek(0, 2)
                handle.seek(max(0, handle.tell() - 65536))
                lines = handle.read().decode("ascii", "replace").splitlines()
                written = datetime.fromtimestamp(os.fstat(handle.fileno()).st_mtime, UTC)
        except OSError:
            return None
        for line in reversed(lines):
            fix = parse_nmea_fix(line, now)
            if fix is not None:
                taken = fix.at or written
                return fix.point if abs((now - taken).total_seconds()) <= self.max_age_s else None
        return None


def parse_gps(spec: str, max_age_s: float = GPS_MAX_AGE_S) -> GpsSource:
    """`LAT,LON` or `nmea:PATH` (fixes older than `max_age_s` are not used)."""
    if spec.startswith("nmea:"):
        return NmeaFileGps(Path(spec[5:]), max_age_s)
    try:
        lat, lon = (float(part) for part in spec.split(","))
        return FixedGps(GeoPoint(lat=lat, lon=lon))
    except ValueError:
        raise ValueError(f"--gps takes LAT,LON or nmea:PATH, not {spec!r}") from None
