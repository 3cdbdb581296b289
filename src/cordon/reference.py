"""Reference data the rules decide with: hotlist entries, permits and exemptions, the vehicle registry.

Typed records, an in-memory lookup the rules read (a rule never queries a database itself), and CSV loaders
that normalise plates and report every rejected line. The formats are those `cordon sim generate --fixtures`
writes, and what an operator exports from the police's own systems:

- `hotlist.csv`: list, entry, plate, country, category, priority, reason, valid_from, valid_until
- `permits.csv`: permit, type (truck_lock | access | emergency), plate, area (zone or street id, `*`: every
  one), valid_from, valid_until, windows (`;`-separated, local time, e.g. `12345 06:00-11:00`: ISO weekdays)
- `vehicle-registry.csv`: plate, category (M1, N1, N2, N3, ...), vehicle_type, max_mass_kg
- `camera-clock.csv`: camera, at, offset_s (a camera's clock status as its NTP client reports it: seconds its
  clock is ahead of the reference time, at that instant)
"""

from __future__ import annotations

import csv
import io
import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal, TextIO

from cordon.plates import InvalidPlate, normalize_plate
from cordon.timeutil import parse_instant

PermitType = Literal["truck_lock", "access", "emergency"]


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Days of the week (ISO: 1 = Monday) and a local time range, e.g. `12345 06:00-11:00`."""

    weekdays: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        try:
            days, _, hours = text.strip().partition(" ")
            start_text, _, end_text = hours.partition("-")
            weekdays = frozenset(int(day) for day in days)
            start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        except ValueError:
            raise ValueError(f"not a time window like '12345 06:00-11:00': {text!r}") from None
        if not weekdays or not weekdays <= set(range(1, 8)) or not start < end:
            raise ValueError(f"not a time window like '12345 06:00-11:00': {text!r}")
        return cls(weekdays, start, end)

    def contains(self, local: datetime) -> bool:
        """Whether a local time falls inside (start included, end excluded)."""
        return local.isoweekday() in self.weekdays and self.start <= local.time() < self.end


@dataclass(frozen=True, slots=True)
class HotlistEntry:
    """A plate on a hotlist (stolen, wanted, SIS, uninsured, local list) for a reason, for a while."""

    list_id: str
    entry_id: str
    plate: str  # normalised
    country: str | None
    category: str
    priority: int
    reason: str
    valid_from: datetime
    valid_until: datetime

    def valid_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_until


@dataclass(frozen=True, slots=True)
class Permit:
    """A permit or exemption: truck-lock local traffic, bollard access, or an emergency vehicle."""

    permit_id: str
    permit_type: PermitType
    plate: str  # normalised
    area: str  # truck-lock zone id, bollard street id, or "*"
    valid_from: datetime
    valid_until: datetime
    windows: tuple[TimeWindow, ...] = ()  # empty: at any time

    def valid_at(self, moment: datetime, local: datetime) -> bool:
        """Valid at `moment` (UTC); `local` is the same instant in the zone's time zone, for the windows."""
        if not self.valid_from <= moment < self.valid_until:
            return False
        return not self.windows or any(window.contains(local) for window in self.windows)


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """What the vehicle registry (DIV) says about a plate."""

    plate: str  # normalised
    category: str  # EU category: M1, N1, N2, N3, M2, M3, L, O, ...
    vehicle_type: str
    max_mass_kg: int


#: How old a camera's latest clock report may be and still vouch for its clock (NTP status comes hourly).
DEFAULT_CLOCK_REPORT_MAX_AGE = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class ClockReport:
    """A camera's clock status at an instant: how many seconds its clock was ahead of the reference time."""

    camera_id: str
    at: datetime
    offset_s: float


@dataclass
class ReferenceData:
    """Everything the rules look up, indexed by normalised plate."""

    hotlist: dict[str, list[HotlistEntry]] = field(default_factory=dict)
    permits: dict[str, list[Permit]] = field(default_factory=dict)
    registry: dict[str, RegistryEntry] = field(default_factory=dict)
    clock_reports: dict[str, list[ClockReport]] = field(default_factory=dict)  # by camera, oldest first

    def add_hotlist(self, entries: Iterable[HotlistEntry]) -> None:
        for entry in entries:
            self.hotlist.setdefault(entry.plate, []).append(entry)

    def add_permits(self, permits: Iterable[Permit]) -> None:
        for permit in permits:
            self.permits.setdefault(permit.plate, []).append(permit)

    def add_registry(self, entries: Iterable[RegistryEntry]) -> None:
        for entry in entries:
            self.registry[entry.plate] = entry

    def merged(self, other: ReferenceData) -> ReferenceData:
        """A new `ReferenceData` holding both (the registry of `other` wins for a plate in both)."""
        both = ReferenceData()
        for data in (self, other):
            both.add_hotlist(entry for entries in data.hotlist.values() for entry in entries)
            both.add_permits(permit for permits in data.permits.values() for permit in permits)
            both.add_registry(data.registry.values())
            both.add_clock_reports(report for reports in data.clock_reports.values() for report in reports)
        return both

    def permits_for(self, plate: str, permit_type: PermitType | None = None) -> list[Permit]:
        return [p for p in self.permits.get(plate, ()) if permit_type is None or p.permit_type == permit_type]

    def add_clock_reports(self, reports: Iterable[ClockReport]) -> None:
        touched = set()
        for report in reports:
            self.clock_reports.setdefault(report.camera_id, []).append(report)
            touched.add(report.camera_id)
        for camera in touched:
            self.clock_reports[camera].sort(key=lambda r: r.at)

    def clock_offset_at(
        self, camera: str, moment: datetime, max_age: timedelta = DEFAULT_CLOCK_REPORT_MAX_AGE
    ) -> float | None:
        """The camera's clock offset (s, ahead of the reference) by its latest report at or before `moment`;
        None when there is none, or the latest is older than `max_age`: unknown, so not known to be in sync."""
        reports = self.clock_reports.get(camera)
        if not reports:
            return None
        index = bisect_right(reports, moment, key=lambda r: r.at)
        if index == 0:
            return None
        latest = reports[index - 1]
        return latest.offset_s if moment - latest.at <= max_age else None


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A line of a reference file that was not loaded, and why."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class CsvText:
    """CSV content that did not come from a file (an upload): `name` stands for the path in messages."""

    name: str
    text: str


def _open(source: Path | CsvText) -> TextIO:
    if isinstance(source, CsvText):
        return io.StringIO(source.text.removeprefix("\ufeff"), newline="")
    return source.open(newline="", encoding="utf-8-sig")


def _rows(
    source: Path | CsvText, required: tuple[str, ...], rejected: list[RejectedLine]
) -> Iterator[tuple[int, dict[str, str]]]:
    path = source.name if isinstance(source, CsvText) else source
    with _open(source) as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or ())]
        if missing:
            rejected.append(RejectedLine(str(path), 1, f"missing column(s): {', '.join(missing)}"))
            return
        for row in reader:
            if None in row:
                rejected.append(RejectedLine(str(path), reader.line_num, "more fields than the header"))
                continue
            yield reader.line_num, {key: (value or "").strip() for key, value in row.items()}


def load_hotlist(path: Path | CsvText, rejected: list[RejectedLine]) -> list[HotlistEntry]:
    """Hotlist entries of a CSV file; bad lines go to `rejected` with their line number."""
    columns = ("list", "entry", "plate", "category", "valid_from", "valid_until")
    entries = []
    for line, row in _rows(path, columns, rejected):
        try:
            entries.append(
                HotlistEntry(
                    list_id=row["list"] or "local",
                    entry_id=row["entry"] or f"{path.name}:{line}",
                    plate=normalize_plate(row["plate"]),
                    country=row.get("country") or None,
                    category=row["category"],
                    priority=int(row.get("priority") or 0),
                    reason=row.get("reason", ""),
                    valid_from=parse_instant(row["valid_from"]),
                    valid_until=parse_instant(row["valid_until"]),
                )
            )
        except (ValueError, InvalidPlate) as exc:
            rejected.append(RejectedLine(str(path), line, str(exc)))
    return entries


def load_permits(path: Path | CsvText, rejected: list[RejectedLine]) -> list[Permit]:
    """Permits of a CSV file; bad lines go to `rejected` with their line number."""
    columns = ("permit", "type", "plate", "area", "valid_from", "valid_until")
    permits = []
    for line, row in _rows(path, columns, rejected):
        try:
            if row["type"] not in ("truck_lock", "access", "emergency"):
                raise ValueError(f"unknown permit type {row['type']!r} (truck_lock, access or emergency)")
            windows = tuple(TimeWindow.parse(w) for w in row.get("windows", "").split(";") if w.strip())
            permits.append(
                Permit(
                    permit_id=row["permit"] or f"{path.name}:{line}",
                    permit_type=row["type"],  # type: ignore[arg-type]
                    plate=normalize_plate(row["plate"]),
                    area=row["area"] or "*",
                    valid_from=parse_instant(row["valid_from"]),
                    valid_until=parse_instant(row["valid_until"]),
                    windows=windows,
                )
            )
        except (ValueError, InvalidPlate) as exc:
            rejected.append(RejectedLine(str(path), line, str(exc)))
    return permits


def load_registry(path: Path | CsvText, rejected: list[RejectedLine]) -> list[RegistryEntry]:
    """Registry entries of a CSV file; bad lines go to `rejected` with their line number."""
    entries = []
    for line, row in _rows(path, ("plate", "category", "max_mass_kg"), rejected):
        try:
            entries.append(
                RegistryEntry(
                    plate=normalize_plate(row["plate"]),
                    category=row["category"].upper(),
                    vehicle_type=row.get("vehicle_type", ""),
                    max_mass_kg=int(row["max_mass_kg"]),
                )
            )
        except (ValueError, InvalidPlate) as exc:
            rejected.append(RejectedLine(str(path), line, str(exc)))
    return entries


def load_clock_reports(path: Path | CsvText, rejected: list[RejectedLine]) -> list[ClockReport]:
    """Camera clock reports of a CSV file; bad lines go to `rejected` with their line number."""
    reports = []
    for line, row in _rows(path, ("camera", "at", "offset_s"), rejected):
        try:
            if not row["camera"]:
                raise ValueError("empty camera id")
            offset = float(row["offset_s"])
            if not math.isfinite(offset):
                raise ValueError(f"not a finite offset: {row['offset_s']!r}")
            reports.append(ClockReport(camera_id=row["camera"], at=parse_instant(row["at"]), offset_s=offset))
        except ValueError as exc:
            rejected.append(RejectedLine(str(path), line, str(exc)))
    return reports


def load_fixtures(directory: Path) -> tuple[ReferenceData, list[RejectedLine]]:
    """The reference data in a folder (`hotlist.csv`, `permits.csv`, `vehicle-registry.csv`, each optional)."""
    data = ReferenceData()
    rejected: list[RejectedLine] = []
    if (directory / "hotlist.csv").is_file():
        data.add_hotlist(load_hotlist(directory / "hotlist.csv", rejected))
    if (directory / "permits.csv").is_file():
        data.add_permits(load_permits(directory / "permits.csv", rejected))
    if (directory / "vehicle-registry.csv").is_file():
        data.add_registry(load_registry(directory / "vehicle-registry.csv", rejected))
    if (directory / "camera-clock.csv").is_file():
        data.add_clock_reports(load_clock_reports(directory / "camera-clock.csv", rejected))
    return data, rejected
