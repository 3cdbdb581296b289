"""The one door to the figures, for the API and the CLI: checks the question, reads the flow store, computes
the figure (pure functions of `cordon.flows.figures`) and returns a typed, suppressed result.

It reads only the flow store: no plate, no police store, no consultation door is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from cordon.config.zone import ZoneConfig
from cordon.errors import ErrorDetail, unprocessable
from cordon.flows import figures
from cordon.flows.models import (
    COUNT_DIMENSIONS,
    CountsOut,
    Figure,
    Granularity,
    HeavyOut,
    ODOut,
    Period,
    ProfileOut,
    ThroughOut,
    TravelTimesOut,
)
from cordon.flows.records import SLOT_S, Trip, TripAtom, day_bounds, days_between
from cordon.flows.store import FlowStore
from cordon.flows.trips import ZoneLayout, camera_transitions, day_trips

MAX_DAYS = 400
FigureName = Literal["counts", "profile", "od", "travel-times", "through", "heavy-share"]


def _invalid(loc: str, message: str) -> Exception:
    return unprocessable("invalid_parameter", message, (ErrorDetail(loc, "invalid_parameter", message),))


class FlowsService:
    """Figures over one flow store."""

    def __init__(self, store: FlowStore, zone: ZoneConfig, *, k: int = 5, through_minutes: float = 15) -> None:
        self.store = store
        self.zone = zone
        self.k = k
        self.through_minutes = through_minutes
        self.timezone = zone.zone.timezone
        self.layout = ZoneLayout.of(zone)

    # -- the question ---------------------------------------------------------------------------------------

    def period(self, first: str | None, last: str | None) -> Period:
        """Whole local days; by default every day the store holds."""
        known = self.store.record_days()
        first = first or (known[0] if known else date.today().isoformat())
        last = last or (known[-1] if known else first)
        for loc, value in (("from", first), ("to", last)):
            try:
                date.fromisoformat(value)
            except ValueError:
                raise _invalid(loc, f"{value!r} is not a day (YYYY-MM-DD)") from None
        if last < first:
            raise _invalid("to", "the period ends before it starts")
        if len(days_between(first, last)) > MAX_DAYS:
            raise _invalid("to", f"a period is at most {MAX_DAYS} days")
        return Period(first_day=first, last_day=last, k=self.k)

    def _open_trips(self, period: Period) -> list[Trip]:
        """Trips of the period's days not closed yet, linked on the fly (closed days keep theirs)."""
        closed = self.store.closed_days()
        trips: list[Trip] = []
        for day in days_between(period.first_day, period.last_day):
            if day not in closed:
                trips += day_trips(self.store.day_records(day), self.layout)
        return trips

    def _trip_atoms(self, period: Period, minutes: float) -> list[TripAtom]:
        through_s = minutes * 60
        kept = self.store.trip_atoms(period.first_day, period.last_day, through_s)
        return kept + figures.trip_atoms(self._open_trips(period), through_s)

    def _bin_s(self, period: Period, granularity: Granularity) -> int | None:
        """How SQLite may bin the counts: local days; hours when every offset of the period is whole hours (so
        a UTC hour is a local hour, as in Belgium); else 15-minute slots, binned here."""
        if granularity == "day":
            return None
        if granularity == "hour":
            bounds = [day_bounds(day, self.timezone) for day in days_between(period.first_day, period.last_day)]
            if all(int(edge.timestamp()) % 3600 == 0 for pair in bounds for edge in pair):
                return 3600
        return SLOT_S

    # -- the figures -----------------------------------------------------------------------------------------

    def counts(
        self, first: str | None, last: str | None, granularity: Granularity = "hour", by: Sequence[str] = ()
    ) -> CountsOut:
        by = list(by) or list(COUNT_DIMENSIONS)
        unknown = [d for d in by if d not in COUNT_DIMENSIONS]
        if unknown:
            raise _invalid("by", f"unknown dimension {unknown[0]!r}; choose from {', '.join(COUNT_DIMENSIONS)}")
        period = self.period(first, last)
        cells = self.store.count_cells(period.first_day, period.last_day, by, bin_s=self._bin_s(period, granularity))
        return figures.counts(cells, period, self.timezone, granularity, by)

    def profile(
        self, first: str | None, last: str | None, *, weekly: bool = False, camera: str | None = None
    ) -> ProfileOut:
        if camera is not None and self.zone.camera(camera) is None:
            raise _invalid("camera", f"unknown camera {camera!r}")
        period = self.period(first, last)
        cells = self.store.count_cells(period.first_day, period.last_day, (), bin_s=self._bin_s(period, "hour"),
                                       camera=camera)  # fmt: skip
        days = days_between(period.first_day, period.last_day)
        return figures.profile(cells, period, self.timezone, days, weekly=weekly, camera=camera)

    def od(self, first: str | None, last: str | None, cameras: Sequence[str] = ()) -> ODOut:
        """Between the zone's gates, or (with `cameras`) between those cameras."""
        period = self.period(first, last)
        if not cameras:
            gates = [gate.id for gate in self.zone.gates]
            gate_atoms = [(a.day, a.origin, a.destination, a.trips) for a in self._trip_atoms(period, 0)]
            return figures.od_matrix(gate_atoms, period, "gates", gates)
        for camera in cameras:
            if self.zone.camera(camera) is None:
                raise _invalid("cameras", f"unknown camera {camera!r}")
        if len(set(cameras)) < 2:
            raise _invalid("cameras", "an origin-destination matrix needs at least two cameras")
        chosen = frozenset(cameras)
        atoms: list[tuple[str, str, str, int]] = []
        for day in days_between(period.first_day, period.last_day):
            moves = camera_transitions(self.store.day_records(day, cameras=chosen), chosen)
            atoms.extend((day, a, b, n) for (a, b), n in moves.items())
        return figures.od_matrix(atoms, period, "cameras", sorted(chosen))

    def travel_times(self, first: str | None, last: str | None) -> TravelTimesOut:
        period = self.period(first, last)
        limit = self.through_minutes * 60
        durations = self.store.durations(period.first_day, period.last_day, limit)
        durations += figures.duration_counts(self._open_trips(period), limit)
        return figures.travel_times(durations, period, self.through_minutes)

    def through(self, first: str | None, last: str | None, minutes: float | None = None) -> ThroughOut:
        if minutes is not None and not 0 < minutes <= 240:
            raise _invalid("minutes", "minutes must be above 0 and at most 240")
        period = self.period(first, last)
        minutes = minutes or self.through_minutes
        return figures.through(self._trip_atoms(period, minutes), period, minutes)

    def heavy_share(self, first: str | None, last: str | None) -> HeavyOut:
        period = self.period(first, last)
        cells = self.store.count_cells(period.first_day, period.last_day, ("camera", "vehicle_class"), bin_s=None)
        return figures.heavy_share(cells, period)

    def figure(self, name: FigureName, first: str | None, last: str | None) -> Figure:
        """A figure by its name, with its default options (what exports use)."""
        if name == "counts":
            return self.counts(first, last)
        if name == "profile":
            return self.profile(first, last)
        if name == "od":
            return self.od(first, last)
        if name == "travel-times":
            return self.travel_times(first, last)
        if name == "through":
            return self.through(first, last)
        return self.heavy_share(first, last)
