"""Local days, the daily rhythm of traffic (weekday, Saturday, Sunday, night), and times as integer milliseconds.

The simulation keeps every instant as integer milliseconds since the Unix epoch (UTC): cheap to compare, sort
and format. Days are the zone's local calendar days (`zone.timezone`), so that a morning peak is a morning peak.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000

# Relative traffic per local hour, 0-23.
WEEKDAY = (0.3, 0.2, 0.15, 0.15, 0.3, 1.0, 3.0, 6.5, 7.5, 5.0, 4.5, 4.8,
           5.0, 4.8, 4.8, 5.5, 6.8, 7.5, 6.0, 4.0, 3.0, 2.2, 1.5, 0.8)  # fmt: skip
WEEKEND = (0.6, 0.4, 0.3, 0.2, 0.2, 0.4, 0.8, 1.5, 3.0, 4.5, 5.5, 6.0,
           6.0, 5.8, 5.5, 5.5, 5.2, 5.0, 4.5, 3.5, 2.8, 2.2, 1.6, 1.0)  # fmt: skip


def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return tuple(x / total for x in out)


_CUM_WEEKDAY = _cumulative(WEEKDAY)
_CUM_WEEKEND = _cumulative(WEEKEND)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return round(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of milliseconds since the epoch."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


_DATES: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, for milliseconds since the epoch (fast: the writers' hot path).

    >>> iso_ms(to_ms(datetime(2026, 11, 27, 8, 15, 2, 120_000, tzinfo=UTC)))
    '2026-11-27T08:15:02.120Z'
    """
    days, rest = divmod(ms, DAY)
    prefix = _DATES.get(days)
    if prefix is None:
        prefix = _DATES[days] = (date(1970, 1, 1) + timedelta(days=days)).isoformat()
    hours, rest = divmod(rest, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds, millis = divmod(rest, 1000)
    return f"{prefix}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@dataclass(frozen=True, slots=True)
class Day:
    """One local calendar day of the simulation."""

    index: int  # 0 is the warm-up day before the period
    date: str  # local date, ISO
    start: int  # local midnight, ms since the epoch (UTC)
    end: int  # next local midnight
    weekday: int  # ISO: 1 Monday ... 7 Sunday
    in_period: bool  # overlaps the simulated period

    @property
    def is_weekend(self) -> bool:
        return self.weekday >= 6

    def at(self, hour: float) -> int:
        """The instant of a local hour of this day (hours past midnight; DST days are stretched)."""
        return self.start + int(hour / 24 * (self.end - self.start))

    def profile_time(self, rng: random.Random) -> int:
        """A random instant of the day following the weekday or weekend traffic profile."""
        cumulative = _CUM_WEEKEND if self.is_weekend else _CUM_WEEKDAY
        hour = bisect.bisect_left(cumulative, rng.random())
        return self.at((hour if hour < 23 else 23) + rng.random())


class Calendar:
    """The local days that cover the simulated period, with one warm-up day before it."""

    def __init__(self, timezone: str, start_ms: int, end_ms: int) -> None:
        self.tz = ZoneInfo(timezone)
        self.start_ms, self.end_ms = start_ms, end_ms
        first = from_ms(start_ms).astimezone(self.tz).date() - timedelta(days=1)
        last = from_ms(end_ms - 1).astimezone(self.tz).date()
        days: list[Day] = []
        current = first
        while current <= last:
            midnight = to_ms(datetime(current.year, current.month, current.day, tzinfo=self.tz))
            nxt = current + timedelta(days=1)
            next_midnight = to_ms(datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz))
            in_period = next_midnight > start_ms and midnight < end_ms
            days.append(Day(len(days), current.isoformat(), midnight, next_midnight, current.isoweekday(), in_period))
            current = nxt
        self.days = tuple(days)
        self._starts = [d.start for d in self.days]

    def day_of(self, ms: int) -> Day:
        """The local day an instant falls in (clamped to the covered days)."""
        index = bisect.bisect_right(self._starts, ms) - 1
        return self.days[max(0, min(index, len(self.days) - 1))]

    def local_minutes(self, ms: int) -> tuple[int, int]:
        """(ISO weekday, minutes past local midnight) of an instant."""
        local = from_ms(ms).astimezone(self.tz)
        return local.isoweekday(), local.hour * 60 + local.minute
