"""The figures: pure functions from count cells and trips to typed, suppressed results (`cordon.flows.models`).

Nothing here reads a file or a clock. Atoms are per local day (see `cordon.flows.suppress`); periods are whole
local days.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from itertools import chain, repeat
from operator import attrgetter
from typing import Literal

from cordon.flows.models import (
    COUNT_DIMENSIONS,
    CountRow,
    CountsOut,
    Granularity,
    HeavyOut,
    HeavyRow,
    ODCell,
    ODOut,
    Period,
    ProfileOut,
    ProfilePoint,
    ThroughOut,
    ThroughRow,
    TravelTimeRow,
    TravelTimesOut,
    TrendPoint,
)
from cordon.flows.records import HEAVY_CLASSES, DurationCount, Trip, TripAtom, local_start
from cordon.flows.store import CountCell
from cordon.flows.suppress import protect, split_publishable

_PARENT_BIN: dict[str, str] = {"15min": "hour", "hour": "day"}


@lru_cache(maxsize=200_000)
def _bin(slot: int, timezone: str, granularity: str) -> datetime:
    return local_start(slot, timezone, granularity)


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of sorted values (`q` from 0 to 1).

    >>> quantile([10, 20, 30, 40], 0.5), quantile([10, 20, 30, 40], 0.85)
    (25.0, 35.5)
    """
    if not ordered:
        raise ValueError("no values")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (x, y) points; None with fewer than two distinct x.

    >>> slope([(0, 1.0), (1, 3.0), (2, 5.0)])
    2.0
    """
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


# -- counts ------------------------------------------------------------------------------------------------


def counts(
    cells: Iterable[CountCell], period: Period, timezone: str, granularity: Granularity, by: Sequence[str]
) -> CountsOut:
    """Passages per bin (15 minutes, local hour, local day) split by `by` (camera, lane, direction, class)."""
    dims = [d for d in COUNT_DIMENSIONS if d in by]
    atoms: Counter[tuple[Hashable, ...]] = Counter()
    values_of = attrgetter(*dims) if dims else None
    for cell in cells:
        start = _bin(cell.slot, timezone, granularity)
        if values_of is None:
            atoms[(cell.day, start)] += cell.n
        elif len(dims) == 1:
            atoms[(cell.day, start, values_of(cell))] += cell.n
        else:
            atoms[(cell.day, start, *values_of(cell))] += cell.n
    parents: list[Callable[[tuple[Hashable, ...]], Hashable]] = []
    if granularity in _PARENT_BIN:
        up = _PARENT_BIN[granularity]
        parents.append(lambda key: (key[0], _coarser(key[1], up), *key[2:]))
    if dims:
        parents.append(lambda key: key[:-1])
    hidden = protect(atoms, period.k, parents)
    rows = []
    for key in sorted(atoms, key=lambda key: key[1:]):
        values = {d: str(v) for d, v in zip(dims, key[2:], strict=True)}
        suppressed = key in hidden
        begins = key[1]
        assert isinstance(begins, datetime)
        rows.append(
            CountRow(
                start=begins,
                camera=values.get("camera"),
                lane=values.get("lane"),
                direction=values.get("direction"),
                vehicle_class=values.get("vehicle_class"),
                count=None if suppressed else atoms[key],
                suppressed=suppressed,
            )
        )
    return CountsOut(period=period, granularity=granularity, by=dims, rows=rows, suppressed=len(hidden))


@lru_cache(maxsize=100_000)
def _coarser(start: Hashable, granularity: str) -> datetime:
    assert isinstance(start, datetime)
    if granularity == "hour":
        return start.replace(minute=0)
    return start.replace(hour=0, minute=0)


# -- profiles -----------------------------------------------------------------------------------------------


def _day_type(day: str, weekly: bool) -> str:
    weekday = date.fromisoformat(day).isoweekday()
    if weekly:
        return str(weekday)
    return "saturday" if weekday == 6 else "sunday" if weekday == 7 else "weekday"


def profile(
    cells: Iterable[CountCell], period: Period, timezone: str, days: Sequence[str], *, weekly: bool, camera: str | None
) -> ProfileOut:
    """Mean passages per local hour of each kind of day; atoms are (day, hour) totals, suppressed below k."""
    atoms: Counter[tuple[str, int]] = Counter()
    for cell in cells:
        if camera is None or cell.camera == camera:
            atoms[(cell.day, _bin(cell.slot, timezone, "hour").hour)] += cell.n
    hidden = protect(atoms, period.k)
    day_count = Counter(_day_type(day, weekly) for day in days)
    sums: Counter[tuple[str, int]] = Counter()
    dropped: Counter[tuple[str, int]] = Counter()
    for (day, hour), n in atoms.items():
        kind = _day_type(day, weekly)
        if (day, hour) in hidden:
            dropped[(kind, hour)] += 1
        else:
            sums[(kind, hour)] += n
    points = [
        ProfilePoint(
            day_type=kind,
            hour=hour,
            mean=round(sums[(kind, hour)] / total, 3),
            days=total,
            suppressed=dropped[(kind, hour)],
        )
        for kind, total in sorted(day_count.items())
        for hour in range(24)
    ]
    return ProfileOut(period=period, kind="weekly" if weekly else "daily", camera=camera, points=points)


# -- origin-destination -------------------------------------------------------------------------------------


def od_matrix(
    day_cells: Iterable[tuple[str, str, str, int]],
    period: Period,
    kind: Literal["gates", "cameras"],
    places: Sequence[str],
) -> ODOut:
    """OD from (day, origin, destination, trips) atoms: each cell is the sum of its published day atoms."""
    atoms: Counter[tuple[str, str, str]] = Counter()
    for day, origin, destination, n in day_cells:
        atoms[(day, origin, destination)] += n
    hidden = protect(atoms, period.k)
    totals: dict[tuple[str, str], int] = {}
    dropped: Counter[tuple[str, str]] = Counter()
    for key, n in atoms.items():
        pair = key[1:]
        if key in hidden:
            dropped[pair] += 1
        else:
            totals[pair] = totals.get(pair, 0) + n
    pairs = sorted(set(totals) | set(dropped))
    cells = [
        ODCell(origin=o, destination=d, trips=totals.get((o, d)), suppressed_days=dropped[(o, d)]) for o, d in pairs
    ]
    return ODOut(period=period, kind=kind, places=list(places), cells=cells)


def trip_atoms(trips: Iterable[Trip], through_s: float) -> list[TripAtom]:
    """Gate trips per (day, entry gate, exit gate), with those in and out within `through_s` seconds."""
    found: Counter[tuple[str, str, str]] = Counter()
    fast: Counter[tuple[str, str, str]] = Counter()
    for trip in trips:
        if trip.kind == "gate":
            key = (trip.day, trip.origin, trip.destination)
            found[key] += 1
            fast[key] += trip.duration_s <= through_s
    return [TripAtom(*key, n, fast[key]) for key, n in found.items()]


def through(atoms: Iterable[TripAtom], period: Period, minutes: float) -> ThroughOut:
    """Per gate pair, the share of trips in and out within `minutes` (the atoms' limit); day atoms published
    when both the through and the other trips are 0 or ≥ k."""
    all_trips: Counter[tuple[str, str, str]] = Counter()
    fast: Counter[tuple[str, str, str]] = Counter()
    for atom in atoms:
        key = (atom.day, atom.origin, atom.destination)
        all_trips[key] += atom.trips
        fast[key] += atom.through
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    dropped: Counter[tuple[str, str]] = Counter()
    for key, n in all_trips.items():
        pair = key[1:]
        if split_publishable(fast[key], n, period.k):
            sums[pair][0] += n
            sums[pair][1] += fast[key]
        else:
            dropped[pair] += 1
    rows = []
    for pair in sorted(set(sums) | set(dropped)):
        n, t = sums.get(pair, (0, 0))
        rows.append(ThroughRow(origin=pair[0], destination=pair[1], trips=n or None, through=t if n else None,
                               share=round(t / n, 4) if n else None, suppressed_days=dropped[pair]))  # fmt: skip
    # The overall share adds up whole days (all pairs together): large atoms, and none left out for being a
    # small pair, which would bias the share towards the big same-gate (visiting) pairs.
    day_all: Counter[str] = Counter()
    day_fast: Counter[str] = Counter()
    for key, n in all_trips.items():
        day_all[key[0]] += n
        day_fast[key[0]] += fast[key]
    published = [day for day, n in day_all.items() if split_publishable(day_fast[day], n, period.k)]
    total = sum(day_all[day] for day in published)
    fast_total = sum(day_fast[day] for day in published)
    share = round(fast_total / total, 4) if total else None
    return ThroughOut(period=period, minutes=minutes, rows=rows, trips=total, through=fast_total, share=share)


def duration_counts(trips: Iterable[Trip], through_s: float) -> list[DurationCount]:
    """Trips as duration counts: every section trip, gate trips of at most `through_s` seconds."""
    found = Counter(
        (t.kind, t.origin, t.destination, t.day, t.duration_s)
        for t in trips
        if t.kind == "section" or t.duration_s <= through_s
    )
    return [(*key, n) for key, n in found.items()]


def travel_times(durations: Iterable[DurationCount], period: Period, through_minutes: float) -> TravelTimesOut:
    """Median and 85th percentile per section (every section trip) and per gate pair (through trips only),
    over the days with at least k trips, and the trend of the daily figures."""
    limit = through_minutes * 60
    grouped: dict[tuple[str, str, str], dict[str, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for kind, origin, destination, day, seconds, trips in durations:
        if kind == "section" or seconds <= limit:
            grouped[(kind, origin, destination)][day].append((seconds, trips))
    rows = []
    first = date.fromisoformat(period.first_day).toordinal()
    for (kind, origin, destination), by_day in sorted(grouped.items()):
        pooled: list[int] = []
        trend: list[TrendPoint] = []
        dropped = 0
        for day in sorted(by_day):
            values = list(chain.from_iterable(repeat(v, n) for v, n in sorted(by_day[day])))
            if len(values) < period.k:
                dropped += 1
                continue
            pooled.extend(values)
            trend.append(TrendPoint(day=day, trips=len(values), median_s=quantile(values, 0.5),
                                    p85_s=quantile(values, 0.85)))  # fmt: skip
        pooled.sort()
        rows.append(
            TravelTimeRow(
                kind="section" if kind == "section" else "gate",
                origin=origin,
                destination=destination,
                trips=len(pooled),
                median_s=quantile(pooled, 0.5) if pooled else None,
                p85_s=quantile(pooled, 0.85) if pooled else None,
                suppressed_days=dropped,
                trend=trend,
                slope_s_per_day=slope([(date.fromisoformat(p.day).toordinal() - first, p.median_s) for p in trend]),
            )
        )
    return TravelTimesOut(period=period, through_minutes=through_minutes, rows=rows)


# -- heavy vehicles -----------------------------------------------------------------------------------------


def heavy_share(cells: Iterable[CountCell], period: Period) -> HeavyOut:
    """Per camera, lorries and buses among passages of a known class; day atoms split-published."""
    heavy: Counter[tuple[str, str]] = Counter()
    known: Counter[tuple[str, str]] = Counter()
    for cell in cells:
        if cell.vehicle_class:
            known[(cell.day, cell.camera)] += cell.n
            if cell.vehicle_class in HEAVY_CLASSES:
                heavy[(cell.day, cell.camera)] += cell.n
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    dropped: Counter[str] = Counter()
    for key, n in known.items():
        if split_publishable(heavy[key], n, period.k):
            sums[key[1]][0] += heavy[key]
            sums[key[1]][1] += n
        else:
            dropped[key[1]] += 1
    rows = []
    for camera in sorted(set(sums) | set(dropped)):
        h, n = sums.get(camera, (0, 0))
        rows.append(HeavyRow(camera=camera, heavy=h if n else None, known=n or None,
                             share=round(h / n, 4) if n else None, suppressed_days=dropped[camera]))  # fmt: skip
    return HeavyOut(period=period, rows=rows)
