"""The flow record: what the flows pipeline keeps of one committed read, and nothing that names a vehicle.

A `FlowRecord` holds the camera, lane, direction, movement (entry, exit, internal: from the zone's lane
configuration), event time (whole seconds, UTC), vehicle class and country of a read, plus `token`: a keyed
hash of the normalised plate under the secret of the read's local day (`cordon.flows.secrets`), and `alike`, the
same of the plate's look-alike key (a plate misread by a look-alike character keeps it). Records of one
vehicle link within a local day and never across days; no plate and no permanent hash is ever kept.

The records are `NamedTuple`s rather than dataclasses on purpose: the figures walk millions of them, and a
named tuple is immutable, typed, and three times cheaper to make than a frozen dataclass.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

#: Vehicle classes counted as heavy vehicles (FIWARE `vehicleType` values).
HEAVY_CLASSES = frozenset({"lorry", "bus"})

#: The finest time bin of the counts: 15 minutes, aligned on UTC (and so on the local quarter hours).
SLOT_S = 900


class FlowRecord(NamedTuple):
    """One anonymised passage."""

    day: str  # local date of the event (zone time zone), ISO
    at: int  # event time, whole seconds since the epoch (UTC)
    camera: str
    lane: str  # "" when the camera gave none
    direction: str  # "towards", "away", or ""
    movement: str  # "entry", "exit", "internal", or "" (a lane the zone does not know)
    vehicle_class: str  # FIWARE vehicleType, or ""
    country: str  # ISO 3166-1 alpha-2, or ""
    token: bytes | None  # keyed hash under the day's secret; None once that secret was destroyed
    alike: bytes | None = None  # keyed hash of the plate's look-alike key, the same day's secret; None with token


class Trip(NamedTuple):
    """One vehicle from an origin to a destination within a local day (no identifier is kept)."""

    day: str
    kind: str  # "gate": entry gate to exit gate; "section": a section's entry to exit camera
    origin: str  # gate id, or section id for a section
    destination: str  # gate id, or section id for a section
    start: int  # seconds since the epoch, UTC
    duration_s: int
    vehicle_class: str


class TripAtom(NamedTuple):
    """Gate trips of one local day between two gates, and how many of them were through traffic."""

    day: str
    origin: str
    destination: str
    trips: int
    through: int  # trips in and out within the through-traffic limit


#: Trips of one kind, origin and destination on one local day that took exactly `duration_s` seconds:
#: (kind, origin, destination, day, duration_s, trips). A plain tuple: a month of them is most of a million rows.
DurationCount = tuple[str, str, str, str, int, int]


@lru_cache(maxsize=64)
def _tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(moment: datetime, timezone: str) -> str:
    """The local calendar day (ISO) of an instant in the zone's time zone.

    >>> local_day(datetime(2026, 11, 27, 23, 30, tzinfo=UTC), "Europe/Brussels")
    '2026-11-28'
    """
    return moment.astimezone(_tz(timezone)).date().isoformat()


def day_bounds(day: str, timezone: str) -> tuple[datetime, datetime]:
    """Local midnight of a day and of the next one, as UTC instants (23 or 25 hours apart on DST days).

    >>> start, end = day_bounds("2026-03-29", "Europe/Brussels")
    >>> (end - start).total_seconds() / 3600
    23.0
    """
    first = date.fromisoformat(day)
    tz = _tz(timezone)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    nxt = first + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def days_between(first: str, last: str) -> list[str]:
    """Every ISO day from `first` to `last`, both included.

    >>> days_between("2026-11-27", "2026-11-29")
    ['2026-11-27', '2026-11-28', '2026-11-29']
    """
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def local_start(seconds: int, timezone: str, granularity: str) -> datetime:
    """The local start of the `15min`, `hour` or `day` bin an instant (seconds, UTC) falls in."""
    local = datetime.fromtimestamp(seconds, UTC).astimezone(_tz(timezone))
    if granularity == "15min":
        return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    if granularity == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    return datetime(local.year, local.month, local.day, tzinfo=_tz(timezone))
