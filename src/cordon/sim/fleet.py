"""The vehicles of a run: their plates, classes and masses, roles, and where they are (inside or out, busy until).

Pools of recurring vehicles (residents, commuters, visitors, through traffic) are filled lazily: a vehicle is
made the first time its slot is drawn, so a one-day run does not pay for a week's population.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from cordon.sim.plategen import CountryMix, Plate, PlateMaker
from cordon.sim.roads import RoadModel
from cordon.sim.truth import VehicleTruth

# EU vehicle category -> the camera's class.
VEHICLE_TYPE = {"M1": "car", "N1": "van", "N2": "lorry", "N3": "lorry", "M3": "bus", "L3": "motorcycle"}
HEAVY_GOODS = frozenset({"N2", "N3"})


@dataclass(slots=True, eq=False)
class Vehicle:
    """A simulated vehicle: what it is (truth) and where it is now (state of the simulation)."""

    index: int
    id: str  # "v0000042"
    plate: Plate
    category: str
    max_mass_kg: int
    role: str
    gate: int = -1  # usual gate (place index)
    home: int = -1  # where it lives or works (place index)
    lead_foot: bool = False
    inside: bool = False
    busy_until: int = 0
    seen: bool = False

    @property
    def vehicle_type(self) -> str:
        return VEHICLE_TYPE[self.category]

    def truth(self, permits: tuple[str, ...] = (), hotlist: tuple[str, ...] = ()) -> VehicleTruth:
        """The vehicle's truth record, with the ids of its permits and hotlist entries."""
        return VehicleTruth(
            vehicle=self.id,
            plate=self.plate.plate,
            display=self.plate.display,
            country=self.plate.country,
            category=self.category,
            vehicle_type=self.vehicle_type,
            max_mass_kg=self.max_mass_kg,
            role=self.role,
            registered=self.plate.country == "BE",
            lead_foot=self.lead_foot,
            permits=permits,
            hotlist=hotlist,
        )


def max_mass(rng: random.Random, category: str) -> int:
    """A plausible maximum authorised mass (kg) for an EU vehicle category."""
    if category == "N1":
        return 3500 if rng.random() < 0.5 else 10 * rng.randint(200, 349)  # many vans sit exactly at 3.5 t
    low, high = {"M1": (1200, 2500), "N2": (7500, 12000), "N3": (18000, 44000), "M3": (18000, 19500)}.get(
        category, (150, 400)
    )
    return 10 * rng.randint(low // 10, high // 10)


class Fleet:
    """Every vehicle of the run, made on demand, with unique plates."""

    def __init__(self, rng: random.Random, road: RoadModel, lead_foot_rate: float) -> None:
        self.rng = rng
        self.road = road
        self.vehicles: list[Vehicle] = []
        self.plates = PlateMaker(rng)
        lat, lon = road.latlon(0.0, 0.0)
        self.countries = CountryMix(lat, lon)
        self.lead_foot_rate = lead_foot_rate
        self._pools: dict[str, list[Vehicle | None]] = {}
        self._shares: dict[tuple[int, float], list[float]] = {}

    def country(self, gate: int, factor: float = 1.0) -> str:
        """A plate country for a vehicle that comes in through a gate (place index; -1: no gate)."""
        key = (gate, factor)
        cumulative = self._shares.get(key)
        if cumulative is None:
            direction = None
            if gate >= 0:
                place = self.road.places[gate]
                norm = math.hypot(place.x, place.y) or 1.0
                direction = (place.x / norm, place.y / norm)
            cumulative = self._shares[key] = self.countries.shares(direction, factor)
        index = bisect.bisect_left(cumulative, self.rng.random())
        return CountryMix.COUNTRIES[min(index, len(CountryMix.COUNTRIES) - 1)]

    def new(
        self,
        role: str,
        category: str = "M1",
        *,
        country: str | None = None,
        gate: int = -1,
        home: int = -1,
        inside: bool = False,
        foreign_factor: float = 1.0,
        plate: Plate | None = None,
    ) -> Vehicle:
        """A new vehicle; its plate's country follows the gate it uses unless given."""
        if plate is None:
            plate = self.plates.make(country or self.country(gate, foreign_factor), category)
        vehicle = Vehicle(
            index=len(self.vehicles),
            id=f"v{len(self.vehicles):07d}",
            plate=plate,
            category=category,
            max_mass_kg=max_mass(self.rng, category),
            role=role,
            gate=gate,
            home=home,
            lead_foot=self.rng.random() < self.lead_foot_rate,
            inside=inside,
        )
        self.vehicles.append(vehicle)
        return vehicle

    def pool(self, name: str, size: int) -> list[Vehicle | None]:
        """A pool of recurring vehicles, `size` slots, filled on demand."""
        return self._pools.setdefault(name, [None] * size)

    def from_pool(self, name: str, slot: int, make: Callable[[], Vehicle]) -> Vehicle:
        """The vehicle in a pool's slot, made by `make` the first time."""
        pool = self._pools[name]
        vehicle = pool[slot]
        if vehicle is None:
            vehicle = pool[slot] = make()
        return vehicle

    def pool_size(self, name: str) -> int:
        return len(self._pools.get(name, ()))
