"""The reads a consultation may see: SQL over the store, always inside the door's windows.

`ReadsView` is built from the door's `Allowed` answer and nothing else, so no query can reach a read the
door did not allow. Plate queries use `ix_reads_plate_time`, camera and time queries `ix_reads_camera_time`,
wildcard and fuzzy searches the distinct plates of `plate_index` and the candidates of `read_candidates`
(migration 0004) up to the index's cursor, and the reads stored after it directly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from cordon.investigate.door import Allowed, CameraWindow, HeldReads
from cordon.investigate.index import candidate_keys
from cordon.plates import lookalike_key
from cordon.records import PlateRead
from cordon.store.sqlite import READ_SELECT, row_to_read
from cordon.timeutil import to_micros

#: Most distinct plates a wildcard or fuzzy search expands to before it says it is too broad.
MAX_PLATES = 2000
# The reads past the index's cursor are read by rowid range only: without `NOT INDEXED`, SQLite may prefer a
# plate or camera index for the other conditions and walk all of it (tests/investigate/test_matching.py).
_TAIL = " NOT INDEXED"
_TAIL_PLATES = "SELECT DISTINCT plate FROM reads NOT INDEXED WHERE id > ?"
#: Most not-yet-indexed reads with candidates a fuzzy search reads directly (the index job keeps far fewer).
MAX_TAIL = 1_000_000


@dataclass(frozen=True, slots=True)
class FoundRead:
    """A stored read and its id in the store (what legal holds and exports name)."""

    read_id: int
    read: PlateRead


class Passage(NamedTuple):
    """A read reduced to what the patterns need (cheap to fetch by the million)."""

    read_id: int
    plate: str
    camera_id: str
    lane_id: str | None
    at_us: int


def _window_clause(windows: Iterable[CameraWindow], held: HeldReads | None = None) -> tuple[str, list[Any]]:
    """`(camera_id IN (...) AND time in [since, until)) OR ...`, cameras grouped by identical windows; plus the
    reads a legal hold of the case keeps, at any age."""
    groups: dict[tuple[int, int], list[str]] = {}
    for window in windows:
        groups.setdefault((to_micros(window.since), to_micros(window.until)), []).append(window.camera_id)
    clauses, params = [], []
    for (since, until), cameras in groups.items():
        marks = ",".join("?" * len(cameras))
        clauses.append(f"(camera_id IN ({marks}) AND event_time_us >= ? AND event_time_us < ?)")
        params.extend([*cameras, since, until])
    if held is not None and held.camera_ids and (held.plates or held.read_ids):
        subject: list[str] = []
        values: list[str | int] = []
        for column, items in (("plate", sorted(held.plates)), ("id", sorted(held.read_ids))):
            if items:
                subject.append(f"{column} IN ({','.join('?' * len(items))})")
                values.extend(items)
        cameras_in = f"camera_id IN ({','.join('?' * len(held.camera_ids))})"
        clauses.append(f"({cameras_in} AND ({' OR '.join(subject)}))")
        params.extend([*held.camera_ids, *values])
    return "(" + " OR ".join(clauses or ["0"]) + ")", params


class ReadsView:
    """Read-only access to the reads inside the door's windows."""

    def __init__(self, connection: sqlite3.Connection, allowed: Allowed, indexed_until: int = 0) -> None:
        self._db = connection
        self.allowed = allowed
        self._tail = indexed_until  # reads with a larger id are not in plate_index / read_candidates yet
        self._windows = {w.camera_id: w for w in allowed.windows}
        self._clause, self._params = _window_clause(allowed.windows, allowed.held)

    def _reads(self, where: str, params: list[Any], order: str, limit: int, source: str = "") -> list[FoundRead]:
        sql = f"{READ_SELECT}{source} WHERE {where} AND {self._clause} ORDER BY {order} LIMIT ?"
        rows = self._db.execute(sql, [*params, *self._params, limit])
        return [FoundRead(row[0], row_to_read(row)) for row in rows]

    def plate_reads(self, plate: str, limit: int, newest_first: bool = True) -> list[FoundRead]:
        order = "event_time_us DESC" if newest_first else "event_time_us"
        return self._reads("plate = ?", [plate], order, limit)

    def plates_reads(self, plates: Iterable[str], limit: int) -> list[FoundRead]:
        """Reads of several plates, newest first overall: SQLite sorts each chunk of plates, so only the newest
        `limit` reads of a chunk become records."""
        found: list[FoundRead] = []
        ordered = sorted(set(plates))
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            found.extend(self._reads(f"plate IN ({','.join('?' * len(chunk))})", chunk, "event_time_us DESC", limit))
        found.sort(key=lambda f: (f.read.date_observed, f.read_id), reverse=True)
        return found[:limit]

    def camera_reads(self, limit: int) -> list[FoundRead]:
        """Reads of every allowed camera, newest first: one index range per camera, merged."""
        found: list[FoundRead] = []
        for window in self.allowed.windows:
            sql = f"{READ_SELECT} WHERE camera_id = ? AND event_time_us >= ? AND event_time_us < ? "
            sql += "ORDER BY event_time_us DESC LIMIT ?"
            rows = self._db.execute(sql, (window.camera_id, to_micros(window.since), to_micros(window.until), limit))
            found.extend(FoundRead(row[0], row_to_read(row)) for row in rows)
        found.sort(key=lambda f: (f.read.date_observed, f.read_id), reverse=True)
        return found[:limit]

    def candidate_reads(self, plate: str, limit: int) -> list[FoundRead]:
        """Reads whose other top-N candidates hold a look-alike of the plate (`read_candidates`, then the reads
        not indexed yet)."""
        key = lookalike_key(plate)
        where = "id IN (SELECT read_id FROM read_candidates WHERE lookalike = ?)"
        found = self._reads(where, [key], "event_time_us DESC", limit)
        tail = self._reads("id > ? AND candidates IS NOT NULL", [self._tail], "event_time_us DESC", MAX_TAIL, _TAIL)
        found += [f for f in tail if key in candidate_keys(f.read.plate, (c.plate for c in f.read.candidates))]
        found.sort(key=lambda f: (f.read.date_observed, f.read_id), reverse=True)
        return found[:limit]

    def reads_by_id(self, read_ids: Iterable[int]) -> list[FoundRead]:
        ids = sorted(set(read_ids))
        found: list[FoundRead] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.extend(self._reads(f"id IN ({','.join('?' * len(chunk))})", list(chunk), "id", len(chunk)))
        return found

    def near(self, camera_id: str, since: datetime, until: datetime) -> list[Passage]:
        """Passages at one camera in [since, until), inside the camera's window."""
        window = self._windows.get(camera_id)
        if window is None:
            return []
        low, high = to_micros(max(since, window.since)), to_micros(min(until, window.until))
        rows = self._db.execute(
            "SELECT id, plate, camera_id, lane_id, event_time_us FROM reads "
            "WHERE camera_id = ? AND event_time_us >= ? AND event_time_us < ?",
            (camera_id, low, high),
        )
        return [Passage(*row) for row in rows]

    def passages(
        self, since: datetime | None = None, until: datetime | None = None, cameras: frozenset[str] | None = None
    ) -> Iterator[Passage]:
        """Every passage at the allowed cameras (optionally narrowed), camera by camera, in time order."""
        for window in self.allowed.windows:
            if cameras is not None and window.camera_id not in cameras:
                continue
            low = to_micros(max(since, window.since) if since else window.since)
            high = to_micros(min(until, window.until) if until else window.until)
            rows = self._db.execute(
                "SELECT id, plate, camera_id, lane_id, event_time_us FROM reads "
                "WHERE camera_id = ? AND event_time_us >= ? AND event_time_us < ? ORDER BY event_time_us",
                (window.camera_id, low, high),
            )
            for row in rows:
                yield Passage(*row)

    # -- distinct plates (plate_index) ---------------------------------------------------------------------

    def plates_matching(self, glob: str) -> list[str]:
        """Distinct stored plates matching a GLOB pattern. A literal prefix range-scans the plate index; a
        leading wildcard scans the distinct plates (millions, not the hundred million reads)."""
        rows = self._db.execute(
            "SELECT plate FROM plate_index WHERE plate GLOB ? "
            "UNION SELECT plate FROM reads NOT INDEXED WHERE id > ? AND plate GLOB ? LIMIT ?",
            (glob, self._tail, glob, MAX_PLATES + 1),
        )
        return [row[0] for row in rows]

    def lookalike_neighbours(self, plate: str, max_distance: int) -> list[str]:
        """Distinct stored plates whose look-alike key could be within `max_distance` edits of the plate's.

        With at most one edit, either the first or the last half of the key is intact: two index range scans
        (`lookalike`, `lookalike_rev`). With two, a scan of the distinct plates, filtered by length."""
        key = lookalike_key(plate)
        tail = [row[0] for row in self._db.execute(_TAIL_PLATES, (self._tail,))]
        if max_distance == 0:
            rows = self._db.execute("SELECT plate FROM plate_index WHERE lookalike = ? LIMIT ?", (key, MAX_PLATES + 1))
            return sorted({row[0] for row in rows} | set(tail))
        if max_distance == 1:
            half = max(1, len(key) // 2)
            head, tail_key = key[:half], key[::-1][: len(key) - half]
            rows = self._db.execute(
                "SELECT plate FROM plate_index WHERE lookalike GLOB ? "
                "UNION SELECT plate FROM plate_index WHERE lookalike_rev GLOB ?",
                (head + "*", tail_key + "*"),
            )
            return sorted({row[0] for row in rows} | set(tail))
        low, high = len(key) - max_distance, len(key) + max_distance
        rows = self._db.execute("SELECT plate FROM plate_index WHERE length(plate) BETWEEN ? AND ?", (low, high))
        return sorted({row[0] for row in rows} | set(tail))
