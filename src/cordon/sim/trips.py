"""Driving: a vehicle follows a route and is seen by every camera on it, at the time it gets there.

`Traffic` turns trips (a visit, a resident's outing, a through drive, an errand in town) into passages:
tuples `(time_ms, seq, vehicle, camera, lane, spot)` appended to one buffer that the engine sorts and flushes.
A vehicle is never in two places at once: a trip is refused when the vehicle is busy or on the wrong side of
the cordon.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field

from cordon.sim.calendar import HOUR
from cordon.sim.fleet import Vehicle
from cordon.sim.roads import RoadModel
from cordon.sim.settings import TrafficMix

#: (true time ms, sequence, vehicle index, camera index, lane id, mobile spot or -1)
PassageTuple = tuple[int, int, int, int, str, int]

FREE_FLOW = 42 / 3600  # average town speed including junctions, metres per millisecond (42 km/h)
_PACE = {"N2": 0.85, "N3": 0.8, "M3": 0.75}


@dataclass(slots=True)
class MobileSchedule:
    """Where the mobile camera stands and when: per spot, sorted (start, end) intervals in ms."""

    intervals: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    _starts: dict[int, list[int]] = field(default_factory=dict)

    def add(self, spot: int, start: int, end: int) -> None:
        spans = self.intervals.setdefault(spot, [])
        spans.append((start, end))
        spans.sort()
        self._starts[spot] = [s for s, _ in spans]

    def present(self, spot: int, at: int) -> bool:
        starts = self._starts.get(spot)
        if not starts:
            return False
        index = bisect.bisect_right(starts, at) - 1
        return index >= 0 and at < self.intervals[spot][index][1]


class Traffic:
    """Makes passages from trips."""

    def __init__(self, road: RoadModel, rng: random.Random, mix: TrafficMix, mobile: MobileSchedule) -> None:
        self.road = road
        self.rng = rng
        self.mix = mix
        self.mobile = mobile
        self.passages: list[PassageTuple] = []
        self._seq = 0
        self._limits = [s.limit_kmh for s in road.sections]

    # -- driving --------------------------------------------------------------------------------------------

    def pace(self, vehicle: Vehicle, at: int) -> float:
        """Speed factor of one trip: the driver, the vehicle, the night."""
        factor = self.rng.gauss(1.0, 0.1)
        factor = (0.6 if factor < 0.6 else 1.5 if factor > 1.5 else factor) * _PACE.get(vehicle.category, 1.0)
        hour = (at // HOUR) % 24  # UTC hour: close enough for "the roads are empty at night"
        return factor * 1.1 if hour < 5 or hour >= 21 else factor

    def section_speed(self, vehicle: Vehicle, section: int) -> float:
        """True average speed on a section, metres per ms: most below the limit, some around the margin, a few
        far above."""
        limit = self._limits[section]
        rng = self.rng
        if vehicle.lead_foot:
            kmh = limit * rng.uniform(1.08, 1.6)
        elif rng.random() < self.mix.margin_rate:
            kmh = limit + rng.uniform(2.0, 10.0)
        else:
            share = rng.gauss(0.93, 0.06)
            kmh = limit * (share if share < 1.3 else 1.3)
        if vehicle.category in _PACE and kmh > 89.0:
            kmh = 89.0  # speed limiter of heavy vehicles
        return (kmh if kmh > 8.0 else 8.0) / 3600

    def drive(self, vehicle: Vehicle, origin: int, destination: int, depart: int) -> int:
        """Drive from one place to another, leaving at `depart`; returns the arrival time."""
        route = self.road.route(origin, destination)
        rng = self.rng
        speed = FREE_FLOW * self.pace(vehicle, depart)
        out = self.passages
        index = vehicle.index
        t = float(depart)
        if route.first is not None:
            choices = route.first.choices
            camera, lane = choices[0] if len(choices) == 1 else rng.choice(choices)
            self._seq += 1
            out.append((depart, self._seq, index, camera, lane, -1))
        for leg in route.legs:
            if leg.section >= 0:
                t += leg.metres / self.section_speed(vehicle, leg.section)
            else:
                t += leg.metres / speed
            stop = leg.stop
            if stop.spot >= 0 and not self.mobile.present(stop.spot, int(t)):
                continue
            choices = stop.choices
            camera, lane = choices[0] if len(choices) == 1 else rng.choice(choices)
            self._seq += 1
            out.append((int(t), self._seq, index, camera, lane, stop.spot))
        return int(t + route.tail_metres / speed)

    def follow(self, follower: Vehicle, first: int, last: int, min_gap_s: float, max_gap_s: float) -> int:
        """Copy passages `first:last` of the buffer for a vehicle driving a few seconds behind; last time."""
        end = 0
        for at, _, _, camera, lane, spot in self.passages[first:last]:
            self._seq += 1
            end = at + int(1000 * self.rng.uniform(min_gap_s, max_gap_s))
            self.passages.append((end, self._seq, follower.index, camera, lane, spot))
        return end

    # -- trips ----------------------------------------------------------------------------------------------

    def visit(self, vehicle: Vehicle, gate_in: int, place: int, at: int, stay: int, gate_out: int) -> bool:
        """In through one gate, a stay at a place, out through a gate."""
        if vehicle.inside or vehicle.busy_until > at:
            return False
        arrive = self.drive(vehicle, gate_in, place, at)
        vehicle.busy_until = self.drive(vehicle, place, gate_out, arrive + stay) + 60_000
        return True

    def outing(self, vehicle: Vehicle, at: int, gate_out: int, away: int, gate_in: int) -> bool:
        """A resident leaves home for a while outside the cordon, and comes back."""
        if not vehicle.inside or vehicle.busy_until > at:
            return False
        out = self.drive(vehicle, vehicle.home, gate_out, at)
        vehicle.busy_until = self.drive(vehicle, gate_in, vehicle.home, out + away) + 60_000
        return True

    def through(self, vehicle: Vehicle, gate_in: int, gate_out: int, at: int) -> bool:
        """In at one gate, out at another, without stopping."""
        if vehicle.inside or vehicle.busy_until > at:
            return False
        vehicle.busy_until = self.drive(vehicle, gate_in, gate_out, at) + 60_000
        return True

    def errand(self, vehicle: Vehicle, place: int, at: int, stay: int) -> bool:
        """A drive inside the town and back home."""
        if not vehicle.inside or vehicle.busy_until > at:
            return False
        arrive = self.drive(vehicle, vehicle.home, place, at)
        vehicle.busy_until = self.drive(vehicle, place, vehicle.home, arrive + stay) + 60_000
        return True
