"""Everyday traffic, day by day: residents, commuters coming in, visitors, through traffic, trucks and buses.

The volume is set by `vehicles_per_day`, the number of vehicles entering the cordon on a weekday, divided by
`TrafficMix`. Most vehicles recur (a resident drives out every morning, a through commuter crosses the town
twice a day), which is what makes patterns and plate histories look real.
"""

from __future__ import annotations

import bisect
import math
import random
from functools import partial

from cordon.sim.calendar import HOUR, MINUTE, Day
from cordon.sim.fleet import Fleet, Vehicle
from cordon.sim.roads import RoadModel
from cordon.sim.settings import SimSettings
from cordon.sim.trips import Traffic


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [x / total for x in out] if total > 0 else out


def clip(value: float, low: float, high: float) -> float:
    """`value` kept within [low, high]."""
    return low if value < low else high if value > high else value


def lognormal_ms(rng: random.Random, median_min: float, sigma: float, low_min: float, high_min: float) -> int:
    """A duration (ms) with a log-normal spread around a median, clipped, in minutes."""
    minutes = median_min * math.exp(rng.gauss(0.0, sigma))
    return int(clip(minutes, low_min, high_min) * MINUTE)


class Demand:
    """The ordinary traffic of the town."""

    def __init__(self, settings: SimSettings, road: RoadModel, fleet: Fleet, traffic: Traffic) -> None:
        self.settings = settings
        self.mix = settings.mix
        self.road = road
        self.fleet = fleet
        self.traffic = traffic
        self.rng = fleet.rng
        e = settings.vehicles_per_day
        self.gates = road.gate_places
        self._gate_cum = _cumulative([3.0 if road.gates[road.places[g].gate].major else 1.0 for g in self.gates])
        self._exit_cum = {g: self._exits_from(g) for g in self.gates}
        self.districts = road.district_places
        self._district_cum = _cumulative([3.0] + [1.0] * (len(self.districts) - 1))
        self.enclaves = road.enclave_places
        town_truck = [g for g in self.gates if road.gates[road.places[g].gate].truck_route]
        self.truck_gates = town_truck or self.gates
        self.truck_town_gates = [g for g in self.truck_gates if road.places[g].region == "town"] or self.truck_gates
        self.enclave_gates = [g for g in self.gates if road.places[g].region != "town"]
        self.n_residents = round(self.mix.residents * e / 0.8)
        self.n_commuters = round(self.mix.commuters_in * e / 0.9)
        self.n_visitors = max(1, round(self.mix.visitors * e * 2.5))
        self.n_regulars = round(0.35 * self.mix.through * e / 1.8) if len(self.gates) > 1 else 0
        self.n_occasional = max(1, round(0.65 * self.mix.through * e * 3))
        for name, size in (
            ("residents", self.n_residents),
            ("commuters", self.n_commuters),
            ("visitors", self.n_visitors),
            ("through_regular", self.n_regulars),
            ("through", self.n_occasional),
        ):
            fleet.pool(name, size)
        self.truck_roles = self._truck_pools()
        self.extra_residents: list[Vehicle] = []  # residents of bollard streets, emergency services
        self.buses: list[Vehicle] = []
        self.bus_lines = self._bus_lines()

    # -- choices --------------------------------------------------------------------------------------------

    def random_gate(self) -> int:
        return self.gates[bisect.bisect_left(self._gate_cum, self.rng.random())]

    def exit_gate(self, gate_in: int) -> int:
        """Another gate, preferring the far side of town (through traffic)."""
        cumulative, gates = self._exit_cum[gate_in]
        if not gates:
            return gate_in
        return gates[bisect.bisect_left(cumulative, self.rng.random())]

    def random_district(self) -> int:
        return self.districts[bisect.bisect_left(self._district_cum, self.rng.random())]

    def _exits_from(self, gate_in: int) -> tuple[list[float], list[int]]:
        a = self.road.places[gate_in]
        others = [g for g in self.gates if g != gate_in]
        weights = []
        for g in others:
            b = self.road.places[g]
            cos = (a.x * b.x + a.y * b.y) / ((math.hypot(a.x, a.y) * math.hypot(b.x, b.y)) or 1.0)
            weights.append((3.0 if self.road.gates[b.gate].major else 1.0) * ((1 - cos) / 2 + 0.1))
        return _cumulative(weights), others

    def day_factor(self, day: Day) -> float:
        return {6: self.mix.saturday_factor, 7: self.mix.sunday_factor}.get(day.weekday, 1.0)

    # -- makers ---------------------------------------------------------------------------------------------

    def _category(self, van: float = 0.08, moto: float = 0.02) -> str:
        roll = self.rng.random()
        return "N1" if roll < van else "L3" if roll < van + moto else "M1"

    def make_resident(self) -> Vehicle:
        role = "resident_commuter" if self.rng.random() < 0.55 else "resident"
        country = "BE" if self.rng.random() > 0.3 * self.fleet.countries.foreign_share() else None
        return self.fleet.new(
            role, self._category(), country=country, gate=self.random_gate(), home=self.random_district(), inside=True
        )

    def make_commuter(self) -> Vehicle:
        work = self.rng.choice(self.enclaves) if self.enclaves and self.rng.random() < 0.3 else self.random_district()
        return self.fleet.new("commuter", self._category(0.1), gate=self.random_gate(), home=work)

    def _make_visitor(self) -> Vehicle:
        return self.fleet.new("visitor", self._category(0.15), gate=self.random_gate(), home=self.random_district())

    def make_regular(self) -> Vehicle:
        gate = self.random_gate()
        return self.fleet.new("through_regular", self._category(0.1), gate=gate, home=self.exit_gate(gate))

    def _make_through(self) -> Vehicle:
        return self.fleet.new("through", self._category(0.12), gate=self.random_gate())

    # -- one day --------------------------------------------------------------------------------------------

    def generate(self, day: Day) -> None:
        """Every ordinary trip that starts on this local day."""
        self._residents(day)
        self._commuters(day)
        self._visitors(day)
        self._through(day)
        self._trucks(day)
        self._buses(day)

    def _residents(self, day: Day) -> None:
        rng, traffic = self.rng, self.traffic
        residents = [self.fleet.from_pool("residents", s, self.make_resident) for s in range(self.n_residents)]
        for v in residents + self.extra_residents:
            if v.role == "resident_commuter" and not day.is_weekend:
                if rng.random() < 0.92:
                    at = day.at(clip(rng.gauss(7.6, 0.7), 5.0, 10.5))
                    back = v.gate if rng.random() < 0.85 else self.random_gate()
                    traffic.outing(v, at, v.gate, int(rng.uniform(8.0, 10.0) * HOUR), back)
                if rng.random() < 0.15:
                    at = day.at(rng.uniform(19.0, 21.5))
                    traffic.outing(v, at, self.random_gate(), int(rng.uniform(0.7, 3.0) * HOUR), self.random_gate())
            elif rng.random() < 0.5:
                at = day.profile_time(rng)
                gate = v.gate if rng.random() < 0.6 else self.random_gate()
                traffic.outing(v, at, gate, lognormal_ms(rng, 90, 0.6, 15, 480), gate)
            if day.weekday == 6 and rng.random() < 0.03:  # a weekend away, back on Sunday evening
                traffic.outing(v, day.at(rng.uniform(9, 12)), v.gate, int(rng.uniform(30, 34) * HOUR), v.gate)
            if rng.random() < 0.3:
                traffic.errand(v, self.random_district(), day.profile_time(rng), lognormal_ms(rng, 40, 0.5, 10, 180))

    def _commuters(self, day: Day) -> None:
        rng = self.rng
        share = 0.12 if day.is_weekend else 0.9
        for slot in range(self.n_commuters):
            v = self.fleet.from_pool("commuters", slot, self.make_commuter)
            if rng.random() >= share:
                continue
            at = day.at(clip(rng.gauss(7.8, 0.75), 5.5, 11.0))
            out = v.gate if rng.random() < 0.85 else self.random_gate()
            self.traffic.visit(v, v.gate, v.home, at, int(rng.uniform(7.5, 9.5) * HOUR), out)

    def _visitors(self, day: Day) -> None:
        rng = self.rng
        for _ in range(round(self.mix.visitors * self.settings.vehicles_per_day * self.day_factor(day))):
            v = self.fleet.from_pool("visitors", rng.randrange(self.n_visitors), self._make_visitor)
            gate_in = v.gate if rng.random() < 0.85 else self.random_gate()
            gate_out = gate_in if rng.random() < 0.8 else self.random_gate()
            roll = rng.random()
            place = v.home if roll < 0.5 else rng.choice(self.enclaves) if self.enclaves and roll < 0.6 else None
            place = place if place is not None else self.random_district()
            overnight = rng.random() < 0.03  # family, a hotel
            stay = int(rng.uniform(12, 40) * HOUR) if overnight else lognormal_ms(rng, 55, 0.8, 3, 600)
            self.traffic.visit(v, gate_in, place, day.profile_time(rng), stay, gate_out)

    def _through(self, day: Day) -> None:
        if len(self.gates) < 2:
            return
        rng, traffic = self.rng, self.traffic
        if not day.is_weekend:
            for slot in range(self.n_regulars):
                v = self.fleet.from_pool("through_regular", slot, self.make_regular)
                if rng.random() < 0.9:
                    traffic.through(v, v.gate, v.home, day.at(clip(rng.gauss(7.7, 0.6), 5.5, 10.0)))
                    traffic.through(v, v.home, v.gate, day.at(clip(rng.gauss(17.3, 0.8), 15.0, 20.0)))
        share = 0.95 if day.is_weekend else 0.65
        count = round(share * self.mix.through * self.settings.vehicles_per_day * self.day_factor(day))
        for _ in range(count):
            v = self.fleet.from_pool("through", rng.randrange(self.n_occasional), self._make_through)
            gate_in = v.gate if rng.random() < 0.8 else self.random_gate()
            traffic.through(v, gate_in, self.exit_gate(gate_in), day.profile_time(rng))

    def _trucks(self, day: Day) -> None:
        rng = self.rng
        factor = {6: 0.3, 7: 0.1}.get(day.weekday, 1.0)
        for role, count in self.truck_roles:
            size = self.fleet.pool_size(role)
            make = partial(self.make_truck, role)
            for _ in range(round(count * factor)):
                self._truck_trip(self.fleet.from_pool(role, rng.randrange(size), make), day.at(rng.uniform(5.0, 19.5)))

    def _truck_pools(self) -> list[tuple[str, float]]:
        """Truck roles with their weekday trips; the pools hold recurring trucks (permit holders recur most)."""
        weekday_count = self.mix.trucks * self.settings.vehicles_per_day
        shares = {"truck_through": 0.04, "truck_permit": 0.22, "truck_long_stay": 0.10, "truck_estate": 0.64}
        if not (self.enclaves and self.enclave_gates):  # no estate behind a truck-lock camera: local deliveries
            shares["truck_permit"] += shares["truck_estate"] / 2
            shares["truck_long_stay"] += shares.pop("truck_estate") / 2
        roles = []
        for role, share in shares.items():
            count = share * weekday_count
            self.fleet.pool(role, max(1, round(count * (1.5 if role == "truck_permit" else 2.0))))
            roles.append((role, count))
        return roles

    def make_truck(self, role: str) -> Vehicle:
        gates = self.enclave_gates if role == "truck_estate" else self.truck_gates
        category = "N3" if self.rng.random() < 0.65 else "N2"
        return self.fleet.new(role, category, gate=self.rng.choice(gates), foreign_factor=3.0)

    def _truck_trip(self, v: Vehicle, at: int) -> None:
        rng, traffic = self.rng, self.traffic
        if v.role == "truck_through":
            others = [g for g in self.truck_gates if g != v.gate]
            if others:
                traffic.through(v, v.gate, rng.choice(others), at)
        elif v.role == "truck_estate":
            traffic.visit(v, v.gate, rng.choice(self.enclaves), at, int(rng.uniform(20, 120) * MINUTE), v.gate)
        else:
            stay = (
                lognormal_ms(rng, 18, 0.6, 4, 180) if v.role == "truck_permit" else int(rng.uniform(35, 180) * MINUTE)
            )
            gate_out = v.gate if rng.random() < 0.6 else rng.choice(self.truck_gates)
            traffic.visit(v, v.gate, self.random_district(), at, stay, gate_out)

    # -- buses ----------------------------------------------------------------------------------------------

    def _bus_lines(self) -> list[tuple[int, int]]:
        major = [g for g in self.gates if self.road.gates[self.road.places[g].gate].major] or self.gates
        if len(major) < 2:
            return []
        lines: list[tuple[int, int]] = []
        wanted = 3 if self.settings.vehicles_per_day >= 20_000 else 1
        for a in major[:: max(1, len(major) // wanted)][:wanted]:
            others = self._exit_cum[a][1]
            far = max(others, key=lambda g: -self._cos(a, g))
            if far != a and (a, far) not in lines:
                lines.append((a, far))
        return lines

    def _cos(self, a: int, b: int) -> float:
        pa, pb = self.road.places[a], self.road.places[b]
        return (pa.x * pb.x + pa.y * pb.y) / ((math.hypot(pa.x, pa.y) * math.hypot(pb.x, pb.y)) or 1.0)

    def _buses(self, day: Day) -> None:
        if day.weekday == 7:
            first, last, headway = 8.0, 19.0, 1.0
        elif day.weekday == 6:
            first, last, headway = 7.0, 20.0, 1.0
        else:
            first, last, headway = 6.0, 21.0, 0.5
        if self.settings.vehicles_per_day < 20_000:
            headway *= 2
        centre = self.districts[0]
        for line, (a, b) in enumerate(self.bus_lines):
            for origin, destination in ((a, b), (b, a)):
                hour = first + line * headway / len(self.bus_lines)  # lines from one terminus do not leave together
                while hour <= last:
                    at = day.at(hour + self.rng.uniform(0, 0.03))
                    self.traffic.visit(self._free_bus(at), origin, centre, at, 2 * MINUTE, destination)
                    hour += headway

    def _free_bus(self, at: int) -> Vehicle:
        for bus in self.buses:
            if not bus.inside and bus.busy_until <= at:
                return bus
        bus = self.fleet.new("bus", "M3", country="BE")
        self.buses.append(bus)
        return bus
