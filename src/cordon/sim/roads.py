"""A small road model derived from the zone file: places, routes, the cameras a route passes, travel distances.

The zone file says where cameras stand and what their lanes mean; it has no road network. This module derives
one that is good enough for traffic that looks real to the rules:

- **gates** stand where their cameras stand; a vehicle crossing a gate is read on an `entry` or `exit` lane;
- **districts** (a centre and a ring halfway to the gates) are where residents live and visitors go;
- **streets** behind a bollard camera are reached only by driving past that camera;
- **enclaves**: a truck-lock camera that is not on a gate (the industrial estate's access) separates the
  truck-lock zone from an enclave, served by the nearest gate without truck-lock cameras (the motorway ramp);
- a route is a straight line (or two, through an enclave's access) and passes the internal cameras within a
  corridor of it; section cameras watch one direction, so they are passed only in that direction, and the
  leg between a section's two cameras is as long as the section's surveyed `length_m`.

Positions are metres east and north of the centre (an equirectangular projection: exact enough for a town).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from cordon.config.zone import ZoneConfig
from cordon.records import Movement

DETOUR = 1.3  # road distance / straight-line distance
_EARTH_M_PER_DEG = 111_195.0
_MAJOR_ROAD = re.compile(r"\b[NERA]\d+")
_RING_BEARINGS = 8


class PlaceKind(StrEnum):
    """What a place is for the traffic."""

    GATE = "gate"
    DISTRICT = "district"
    ENCLAVE = "enclave"
    STREET = "street"


@dataclass(frozen=True, slots=True)
class Stop:
    """A point on a route where a camera sees the vehicle: (camera index, lane id) alternatives, one chosen."""

    choices: tuple[tuple[int, str], ...]
    spot: int = -1  # index of the mobile camera's spot, or -1 for a fixed camera


@dataclass(frozen=True, slots=True)
class Leg:
    """A stretch of road ending at a camera; `section` >= 0 when it is a section driven at the section speed."""

    metres: float
    stop: Stop
    section: int = -1


@dataclass(frozen=True, slots=True)
class Route:
    """From a place to a place: a camera at the start (a gate entry), legs to each camera, the rest."""

    first: Stop | None
    legs: tuple[Leg, ...]
    tail_metres: float


@dataclass(frozen=True, slots=True)
class Place:
    """Somewhere a trip starts or ends."""

    id: str
    kind: PlaceKind
    x: float
    y: float
    region: str  # "town", or the id of the enclave it lies in
    gate: int = -1  # index in RoadModel.gates when kind is GATE
    street: int = -1  # index in the zone's bollard streets when kind is STREET


@dataclass(frozen=True, slots=True)
class GateInfo:
    """A gate: where it is, the lanes that read vehicles coming in and going out, and its road class."""

    id: str
    name: str
    x: float
    y: float
    entry: tuple[tuple[int, str], ...]
    exit: tuple[tuple[int, str], ...]
    major: bool
    truck_route: bool  # heavy goods vehicles use it (a truck-lock gate or an enclave's access)


@dataclass(frozen=True, slots=True)
class SectionInfo:
    """A section of the zone, by camera index."""

    id: str
    entry: int
    exit: int
    length_m: float
    limit_kmh: int
    gas_eligible: bool


@dataclass(frozen=True, slots=True)
class _Candidate:
    camera: int
    x: float
    y: float
    spot: int


class RoadModel:
    """Places and routes of one zone; routes are computed once per pair of places and cached."""

    def __init__(self, zone: ZoneConfig) -> None:
        self.zone = zone
        self.cameras = zone.cameras
        self.camera_index = {camera.id: index for index, camera in enumerate(zone.cameras)}
        fixed = [c for c in zone.cameras if c.lat is not None and c.lon is not None]
        if not fixed:
            raise ValueError("the simulation needs fixed cameras")
        self.lat0 = sum(c.lat for c in fixed) / len(fixed)  # type: ignore[misc]
        self.lon0 = sum(c.lon for c in fixed) / len(fixed)  # type: ignore[misc]
        self._m_per_deg_lon = _EARTH_M_PER_DEG * math.cos(math.radians(self.lat0))
        self.positions: dict[int, tuple[float, float]] = {
            self.camera_index[c.id]: self.xy(c.lat, c.lon)  # type: ignore[arg-type]
            for c in fixed
        }
        self.sections = tuple(
            SectionInfo(
                s.id,
                self.camera_index[s.entry_camera],
                self.camera_index[s.exit_camera],
                s.length_m,
                s.speed_limit_kmh,
                s.gas_eligible if s.gas_eligible is not None else s.speed_limit_kmh <= 50,
            )
            for s in zone.sections
        )
        self.section_of_pair = {(s.entry, s.exit): index for index, s in enumerate(self.sections)}
        gate_cameras = {self.camera_index[c] for gate in zone.gates for c in gate.cameras}
        self.bollard_cameras = {self.camera_index[s.camera] for s in zone.bollard_streets}
        portal_cameras = {
            self.camera_index[c] for tz in zone.truck_lock_zones for c in (*tz.entry_cameras, *tz.exit_cameras)
        }
        self.enclave_portals = tuple(
            sorted(
                c
                for c in portal_cameras - gate_cameras
                if self._lanes(c, Movement.ENTRY) and self._lanes(c, Movement.EXIT) and c in self.positions
            )
        )
        self.mobile = next((self.camera_index[c.id] for c in zone.cameras if c.kind == "mobile"), -1)
        self._access = self._enclave_access(portal_cameras)
        self.gates = self._gates(portal_cameras)
        self.places: list[Place] = []
        self.gate_places: list[int] = []
        self.district_places: list[int] = []
        self.street_places: list[int] = []
        self.enclave_places: list[int] = []
        self._build_places()
        self.spots = self._mobile_spots()
        self._candidates = self._corridor_candidates(gate_cameras | self.bollard_cameras | set(self.enclave_portals))
        self._routes: dict[tuple[int, int], Route] = {}

    # -- geometry -------------------------------------------------------------------------------------------

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Metres east and north of the centre."""
        return ((lon - self.lon0) * self._m_per_deg_lon, (lat - self.lat0) * _EARTH_M_PER_DEG)

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        """The WGS84 position of a point of the model."""
        return (self.lat0 + y / _EARTH_M_PER_DEG, self.lon0 + x / self._m_per_deg_lon)

    def _camera_latlon(self, camera_ids: tuple[str, ...]) -> tuple[float, float] | None:
        points = [
            (c.lat, c.lon) for c in self.zone.cameras if c.id in camera_ids and c.lat is not None and c.lon is not None
        ]
        if not points:
            return None
        return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))

    def _lanes(self, camera: int, movement: Movement) -> tuple[tuple[int, str], ...]:
        return tuple((camera, lane.id) for lane in self.cameras[camera].lanes if lane.movement == movement)

    # -- places ---------------------------------------------------------------------------------------------

    def _gates(self, portal_cameras: set[int]) -> tuple[GateInfo, ...]:
        gates = []
        access = self._access
        for gate in self.zone.gates:
            indices = [self.camera_index[c] for c in gate.cameras]
            point = self._camera_latlon(gate.cameras)
            entry = tuple(choice for c in indices for choice in self._lanes(c, Movement.ENTRY))
            exit_ = tuple(choice for c in indices for choice in self._lanes(c, Movement.EXIT))
            if point is None or not entry or not exit_:
                continue  # a gate the simulation cannot drive through (no fixed camera, or one direction)
            x, y = self.xy(*point)
            truck = bool(portal_cameras.intersection(indices)) or gate.id in access.values()
            major = truck or bool(_MAJOR_ROAD.search(gate.name))
            gates.append(GateInfo(gate.id, gate.name, x, y, entry, exit_, major, truck))
        if not gates:
            raise ValueError("the simulation needs a gate whose cameras read both entries and exits")
        if not any(g.truck_route for g in gates):  # no truck lock: heavy traffic takes the main roads
            gates = [
                GateInfo(g.id, g.name, g.x, g.y, g.entry, g.exit, g.major, g.major or not any(h.major for h in gates))
                for g in gates
            ]
        return tuple(gates)

    def _enclave_access(self, portal_cameras: set[int]) -> dict[int, str]:
        """For each enclave portal camera, the nearest gate without truck-lock cameras: the enclave's access."""
        access: dict[int, str] = {}
        for portal in self.enclave_portals:
            px, py = self.positions[portal]
            best: tuple[float, str] | None = None
            for gate in self.zone.gates:
                if portal_cameras.intersection(self.camera_index[c] for c in gate.cameras):
                    continue
                point = self._camera_latlon(gate.cameras)
                if point is None:
                    continue
                gx, gy = self.xy(*point)
                distance = math.hypot(gx - px, gy - py)
                if best is None or distance < best[0]:
                    best = (distance, gate.id)
            if best is not None:
                access[portal] = best[1]
        return access

    def _build_places(self) -> None:
        enclave_of_gate = {gate_id: f"enclave-{self.cameras[p].id}" for p, gate_id in self._access.items()}
        for index, gate in enumerate(self.gates):
            self.gate_places.append(len(self.places))
            region = enclave_of_gate.get(gate.id, "town")
            self.places.append(Place(gate.id, PlaceKind.GATE, gate.x, gate.y, region, gate=index))
        radius = max(600.0, 0.5 * sorted(math.hypot(g.x, g.y) for g in self.gates)[len(self.gates) // 2])
        self.district_places.append(len(self.places))
        self.places.append(Place("centre", PlaceKind.DISTRICT, 0.0, 0.0, "town"))
        for k in range(_RING_BEARINGS):
            angle = 2 * math.pi * k / _RING_BEARINGS
            self.district_places.append(len(self.places))
            self.places.append(
                Place(f"district-{k}", PlaceKind.DISTRICT, radius * math.sin(angle), radius * math.cos(angle), "town")
            )
        for portal in self.enclave_portals:
            px, py = self.positions[portal]
            norm = math.hypot(px, py) or 1.0
            self.enclave_places.append(len(self.places))
            enclave = f"enclave-{self.cameras[portal].id}"
            self.places.append(Place(enclave, PlaceKind.ENCLAVE, px + 500 * px / norm, py + 500 * py / norm, enclave))
        for index, street in enumerate(self.zone.bollard_streets):
            camera = self.camera_index[street.camera]
            if camera not in self.positions:
                continue
            x, y = self.positions[camera]
            self.street_places.append(len(self.places))
            self.places.append(Place(street.id, PlaceKind.STREET, x, y, "town", street=index))

    def _mobile_spots(self) -> tuple[tuple[float, float], ...]:
        if self.mobile < 0:
            return ()
        count = min(6, len(self.gates))
        chosen = [self.gates[round(i * len(self.gates) / count)] for i in range(count)]
        return tuple((0.4 * g.x, 0.4 * g.y) for g in chosen)

    def _corridor_candidates(self, excluded: set[int]) -> tuple[_Candidate, ...]:
        found = [
            _Candidate(index, x, y, -1)
            for index, (x, y) in sorted(self.positions.items())
            if index not in excluded and self.cameras[index].kind == "fixed"
        ]
        found.extend(_Candidate(self.mobile, x, y, spot) for spot, (x, y) in enumerate(self.spots))
        return tuple(found)

    # -- routes ---------------------------------------------------------------------------------------------

    def route(self, origin: int, destination: int) -> Route:
        """The route between two places (indices in `places`), computed once."""
        key = (origin, destination)
        found = self._routes.get(key)
        if found is None:
            found = self._routes[key] = self._compute(self.places[origin], self.places[destination])
        return found

    def _compute(self, origin: Place, destination: Place) -> Route:
        waypoints: list[tuple[float, float, Stop | None]] = [(origin.x, origin.y, None)]
        if origin.region != destination.region:  # through an enclave's portal
            inbound = destination.region == "town"
            portal = self._portal_of(origin.region if inbound else destination.region)
            px, py = self.positions[portal]
            lanes = self._lanes(portal, Movement.ENTRY if inbound else Movement.EXIT)
            waypoints.extend(self._corridor(origin.x, origin.y, px, py))
            waypoints.append((px, py, Stop(lanes)))
            waypoints.extend(self._corridor(px, py, destination.x, destination.y))
        else:
            waypoints.extend(self._corridor(origin.x, origin.y, destination.x, destination.y))
        end_stop: Stop | None = None
        if destination.kind == PlaceKind.GATE:
            end_stop = Stop(self.gates[destination.gate].exit)
        elif destination.kind == PlaceKind.STREET:
            camera = self.camera_index[self.zone.bollard_streets[destination.street].camera]
            end_stop = Stop(tuple((camera, lane.id) for lane in self.cameras[camera].lanes))
        if end_stop is not None:
            waypoints.append((destination.x, destination.y, end_stop))
        legs: list[Leg] = []
        x, y = origin.x, origin.y
        previous: Stop | None = Stop(self.gates[origin.gate].entry) if origin.kind == PlaceKind.GATE else None
        for wx, wy, stop in waypoints[1:]:
            if stop is None:
                continue
            metres = math.hypot(wx - x, wy - y) * DETOUR
            section = self._section_between(previous, stop)
            if section >= 0:
                metres = self.sections[section].length_m
            legs.append(Leg(metres, stop, section))
            x, y, previous = wx, wy, stop
        tail = math.hypot(destination.x - x, destination.y - y) * DETOUR
        first = Stop(self.gates[origin.gate].entry) if origin.kind == PlaceKind.GATE else None
        return Route(first, tuple(legs), tail)

    def _portal_of(self, region: str) -> int:
        return next(p for p in self.enclave_portals if f"enclave-{self.cameras[p].id}" == region)

    def _section_between(self, previous: Stop | None, stop: Stop) -> int:
        if previous is None or len(previous.choices) != 1 or len(stop.choices) != 1:
            return -1
        return self.section_of_pair.get((previous.choices[0][0], stop.choices[0][0]), -1)

    def _corridor(self, ax: float, ay: float, bx: float, by: float) -> list[tuple[float, float, Stop | None]]:
        """The internal cameras a straight drive from a to b passes, in order."""
        length = math.hypot(bx - ax, by - ay)
        if length < 1:
            return []
        tolerance = max(120.0, 0.04 * length)
        found: list[tuple[float, _Candidate]] = []
        for cand in self._candidates:
            d1 = math.hypot(cand.x - ax, cand.y - ay)
            d2 = math.hypot(bx - cand.x, by - cand.y)
            if d1 + d2 - length > tolerance or not self._direction_ok(cand.camera, bx - ax, by - ay, cand.spot):
                continue
            found.append((d1 / (d1 + d2), cand))
        found.sort(key=lambda item: item[0])
        ordered = [cand for _, cand in found]
        ordered = self._drop_inside_sections(ordered)
        stops: list[tuple[float, float, Stop | None]] = []
        for cand in ordered:
            lanes = tuple((cand.camera, lane.id) for lane in self.cameras[cand.camera].lanes)
            stops.append((cand.x, cand.y, Stop(lanes, cand.spot)))
        return stops

    def _direction_ok(self, camera: int, dx: float, dy: float, spot: int) -> bool:
        """Section cameras read one direction only: the direction of their section."""
        if spot >= 0:
            return True
        directions = [s for s in self.sections if camera in (s.entry, s.exit)]
        if not directions:
            return True
        for s in directions:
            (ex, ey), (xx, xy) = self.positions.get(s.entry, (0, 0)), self.positions.get(s.exit, (0, 0))
            if (xx - ex) * dx + (xy - ey) * dy > 0:
                return True
        return False

    def _drop_inside_sections(self, ordered: list[_Candidate]) -> list[_Candidate]:
        """A camera between a section's two cameras would split the section: leave it out."""
        cameras = [c.camera if c.spot < 0 else -1 for c in ordered]
        keep = [True] * len(ordered)
        for i, camera in enumerate(cameras):
            for s in self.sections:
                if s.entry == camera and s.exit in cameras[i + 1 :]:
                    j = cameras.index(s.exit, i + 1)
                    for k in range(i + 1, j):
                        keep[k] = False
        return [c for c, kept in zip(ordered, keep, strict=True) if kept]
