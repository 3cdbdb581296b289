"""The reads a consultation may see: SQL over the store, always inside the door's windows.

`ReadsView` is built from the door's `Allowed` answer and nothing else, so no query can reach a read the
door did not allow. Plate queries use `ix_reads_plate_time`, camera and time queries `ix_reads_camera_time`,
wildcard and fuzzy searches the distinct plates of `plate_index` (migration 0004).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from cordon.investigate.door import Allowed, CameraWindow
from cordon.plates import lookalike_key
from cordon.records import PlateRead
from cordon.store.sqlite import READ_SELECT, row_to_read
from cordon.timeutil import to_micros

#: Most distinct plates a wildcard or fuzzy search expands to before it says it is too broad.
MAX_PLATES = 2000


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


def _window_clause(windows: Iterable[CameraWindow]) -> tuple[str, list[Any]]:
    """`(camera_id IN (...) AND time in [since, until)) OR ...`, cameras grouped by identical windows."""
    groups: dict[tuple[int, int], list[str]] = {}
    for window in windows:
        groups.setdefault((to_micros(window.since), to_micros(window.until)), []).append(window.camera_id)
    clauses, params = [], []
    for (since, until), cameras in groups.items():
        marks = ",".join("?" * len(cameras))
        clauses.append(f"(camera_id IN ({marks}) AND event_time_us >= ? AND event_time_us < ?)")
        params.extend([*cameras, since, until])
    return "(" + " OR ".join(clauses or ["0"]) + ")", params


class ReadsView:
    """Read-only access to the reads inside the door's windows."""

    def __init__(self, connection: sqlite3.Connection, allowed: Allowed) -> None:
        self._db = connection
        self.allowed = allowed
        self._windows = {w.camera_id: w for w in allowed.windows}
        self._clause, self._params = _window_clause(allowed.windows)

    def _reads(self, where: str, params: list[Any], order: str, limit: int) -> list[FoundRead]:
        sql = f"{READ_SELECT} WHERE {where} AND {self._clause} ORDER BY {order} LIMIT ?"
        rows = self._db.execute(sql, [*params, *self._params, limit])
        return [FoundRead(row[0], row_to_read(row)) for row in rows]

    def plate_reads(self, plate: str, limit: int, newest_first: bool = True) -> list[FoundRead]:
        order = "event_time_us DESC" if newest_first else "event_time_us"
        return self._reads("plate = ?", [plate], order, limit)

    def plates_reads(self, plates: Iterable[str], limit: int) -> list[FoundRead]:
        """Reads of several plates, newest first overall."""
        found: list[FoundRead] = []
        for plate in plates:
            found.extend(self.plate_reads(plate, limit))
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
        """Reads whose other top-N candidates hold a look-alike of the plate (`read_candidates`)."""
        where = "id IN (SELECT read_id FROM read_candidates WHERE lookalike = ?)"
        return self._reads(where, [lookalike_key(plate)], "event_time_us DESC", limit)

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

    def passages(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[Passage]:
        """Every passage at the allowed cameras (optionally narrowed), camera by camera, in time order."""
        for window in self.allowed.windows:
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
        rows = self._db.execute("SELECT plate FROM plate_index WHERE plate GLOB ? LIMIT ?", (glob, MAX_PLATES + 1))
        return [row[0] for row in rows]

    def lookalike_neighbours(self, plate: str, max_distance: int) -> list[str]:
        """Distinct stored plates whose look-alike key could be within `max_distance` edits of the plate's.

        With at most one edit, either the first or the last half of the key is intact: two index range scans
        (`lookalike`, `lookalike_rev`). With two, a scan of the distinct plates, filtered by length."""
        key = lookalike_key(plate)
        if max_distance == 0:
            rows = self._db.execute("SELECT plate FROM plate_index WHERE lookalike = ? LIMIT ?", (key, MAX_PLATES + 1))
            return [row[0] for row in rows]
        if max_distance == 1:
            half = max(1, len(key) // 2)
            head, tail = key[:half], key[::-1][: len(key) - half]
            rows = self._db.execute(
                "SELECT plate FROM plate_index WHERE lookalike GLOB ? "
                "UNION SELECT plate FROM plate_index WHERE lookalike_rev GLOB ?",
                (head + "*", tail + "*"),
            )
            return [row[0] for row in rows]
        low, high = len(key) - max_distance, len(key) + max_distance
        rows = self._db.execute("SELECT plate FROM plate_index WHERE length(plate) BETWEEN ? AND ?", (low, high))
        return [row[0] for row in rows]
