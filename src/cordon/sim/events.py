"""The true events, derived from the true passages in time order, exactly as the rules define them.

`TruthAnalyser.observe` sees every passage inside the period once, in true-time order, with the event id of
its read. Events that need the whole period (unpaired gate passages, short-visit patterns) come out of
`finish`; convoys come out at the end of each local day.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import date

from cordon.records import Movement, Route
from cordon.sim.actors import burglary_incident, window_allows
from cordon.sim.calendar import MINUTE, Calendar, from_ms
from cordon.sim.fleet import HEAVY_GOODS, Vehicle
from cordon.sim.roads import RoadModel
from cordon.sim.settings import PatternSettings
from cordon.sim.truth import (
    BollardAccess,
    BurglaryStay,
    Convoy,
    HotlistEntryTruth,
    HotlistPassage,
    PermitTruth,
    SectionSpeed,
    ShortVisits,
    TruckStay,
    TruthRecord,
    Unpaired,
)

_MAX_SECTION_PAIR_MS = 2 * 3_600_000
_GAS_MAX_EXCESS_KMH = 20

# (time, camera, event id) of a passage remembered for pairing
_Seen = tuple[int, int, str | None]


def corrected_speed(measured_kmh: float) -> int:
    """The speed after the Belgian margin: minus 6 km/h up to 100 km/h, minus 6 % above, rounded down."""
    value = measured_kmh - 6.0 if measured_kmh <= 100.0 else measured_kmh * 0.94
    return math.floor(value + 1e-9)


def section_route(corrected_kmh: int, limit_kmh: int, gas_eligible: bool) -> Route | None:
    """Where a section violation goes: GAS-5 for a small excess in a 30/50 zone, else the prosecutor."""
    if corrected_kmh <= limit_kmh:
        return None
    if gas_eligible and corrected_kmh - limit_kmh <= _GAS_MAX_EXCESS_KMH:
        return Route.GAS
    return Route.PROSECUTOR


class TruthAnalyser:
    """Finds the true events in the stream of true passages."""

    def __init__(
        self,
        road: RoadModel,
        calendar: Calendar,
        patterns: PatternSettings,
        hotlist: list[HotlistEntryTruth],
        permits: list[PermitTruth],
    ) -> None:
        self.road = road
        self.zone = road.zone
        self.calendar = calendar
        self.patterns = patterns
        self.names = [c.id for c in road.cameras]
        self.movement = {
            (index, lane.id): lane.movement.value for index, c in enumerate(road.cameras) for lane in c.lanes
        }
        self.gate_of = {road.camera_index[c]: gate.id for gate in self.zone.gates for c in gate.cameras}
        self.section_entry: dict[int, list[int]] = {}
        self.section_exit: dict[int, list[int]] = {}
        for index, section in enumerate(road.sections):
            self.section_entry.setdefault(section.entry, []).append(index)
            self.section_exit.setdefault(section.exit, []).append(index)
        self.truck_entry: dict[int, list[int]] = {}
        self.truck_exit: dict[int, list[int]] = {}
        for index, tz in enumerate(self.zone.truck_lock_zones):
            for camera in tz.entry_cameras:
                self.truck_entry.setdefault(road.camera_index[camera], []).append(index)
            for camera in tz.exit_cameras:
                self.truck_exit.setdefault(road.camera_index[camera], []).append(index)
        self.bollard = {road.camera_index[s.camera]: s for s in self.zone.bollard_streets}
        self.hotlist: dict[str, list[HotlistEntryTruth]] = {}
        for entry in hotlist:
            if entry.vehicle is not None:
                self.hotlist.setdefault(entry.vehicle, []).append(entry)
        self.permits: dict[str, list[PermitTruth]] = {}
        for permit in permits:
            self.permits.setdefault(permit.vehicle, []).append(permit)
        self._section: dict[tuple[int, int], _Seen] = {}
        self._truck: dict[tuple[int, int], _Seen] = {}
        self._inside: dict[int, tuple[int, int, str]] = {}  # last gate entry: time, camera, local day
        self._ends: dict[int, list[tuple[str, int, int, str | None]]] = {}  # first and last gate passages
        self._short: dict[int, list[tuple[str, bool]]] = {}
        self._vehicles: dict[int, Vehicle] = {}
        self.sequence_errors = 0
        self._convoy_window = int(patterns.convoy_max_gap_s * 1000)
        self._recent: dict[int, deque[tuple[int, int]]] = {}
        self._together: dict[int, int] = {}  # (vehicle a << 32 | vehicle b) -> bit mask of cameras, today
        self._day = ""
        self._short_ms = patterns.short_visit_max_minutes * MINUTE
        self._meetings: dict[int, list[tuple[str, int]]] = {}

    def start_day(self, day: str) -> None:
        """The passages that follow fall on this local day (ISO date); closes the previous day's convoys."""
        if day != self._day:
            self._flush_convoys()
            self._day = day

    def observe(
        self, at: int, vehicle: Vehicle, camera: int, lane: str, event_id: str | None, out: list[TruthRecord]
    ) -> None:
        """One true passage, in time order; the events it completes are appended to `out`."""
        movement = self.movement[(camera, lane)]
        index = vehicle.index
        self._vehicles[index] = vehicle
        if camera in self.gate_of:
            self._gate(at, vehicle, camera, movement, event_id, out)
        if camera in self.section_exit:
            for section in self.section_exit[camera]:
                seen = self._section.pop((index, section), None)
                if seen is not None and 0 < at - seen[0] <= _MAX_SECTION_PAIR_MS:
                    self._section_speed(section, vehicle, seen, at, event_id, out)
        if camera in self.section_entry:
            for section in self.section_entry[camera]:
                self._section[(index, section)] = (at, camera, event_id)
        if vehicle.category in HEAVY_GOODS:
            self._truck_lock(at, vehicle, camera, movement, event_id, out)
        if camera in self.bollard:
            self._bollard(at, vehicle, camera, event_id, out)
        entries = self.hotlist.get(vehicle.id)
        if entries:
            moment = from_ms(at)
            for entry in entries:
                if entry.valid_from <= moment < entry.valid_until:
                    out.append(HotlistPassage(entry.entry, entry.list, entry.category, vehicle.id,
                                              vehicle.plate.plate, self.names[camera], moment, event_id))  # fmt: skip
        self._convoy(at, index, camera)

    # -- gates: closure, short visits, burglary -------------------------------------------------------------

    def _gate(
        self, at: int, vehicle: Vehicle, camera: int, movement: str, event_id: str | None, out: list[TruthRecord]
    ) -> None:
        index = vehicle.index
        ends = self._ends.get(index)
        if ends is None:
            self._ends[index] = [(movement, at, camera, event_id)] * 2
        else:
            if ends[1][0] == movement:
                self.sequence_errors += 1  # never expected: the cordon is closed in the simulation
            ends[1] = (movement, at, camera, event_id)
        if movement == Movement.ENTRY:
            self._inside[index] = (at, camera, self._day)
            return
        entered = self._inside.pop(index, None)
        if entered is None:
            return
        same_gate = self.gate_of[entered[1]] == self.gate_of[camera]
        if at - entered[0] <= self._short_ms and (same_gate or not self.patterns.short_visit_same_gate):
            self._short.setdefault(index, []).append((entered[2], same_gate))
        if vehicle.role == "burglar":
            entry_at, exit_at = from_ms(entered[0]), from_ms(at)
            start, end = burglary_incident(entry_at, exit_at)
            out.append(BurglaryStay(vehicle.id, vehicle.plate.plate, self.names[entered[1]], entry_at,
                                    self.names[camera], exit_at, start, end))  # fmt: skip

    # -- sections -------------------------------------------------------------------------------------------

    def _section_speed(
        self, section: int, vehicle: Vehicle, seen: _Seen, at: int, event_id: str | None, out: list[TruthRecord]
    ) -> None:
        info = self.road.sections[section]
        speed = info.length_m / ((at - seen[0]) / 1000) * 3.6
        if speed <= info.limit_kmh:
            return
        corrected = corrected_speed(speed)
        route = section_route(corrected, info.limit_kmh, info.gas_eligible)
        out.append(
            SectionSpeed(
                section=info.id,
                vehicle=vehicle.id,
                plate=vehicle.plate.plate,
                entry_camera=self.names[info.entry],
                exit_camera=self.names[info.exit],
                entry_at=from_ms(seen[0]),
                exit_at=from_ms(at),
                entry_event=seen[2],
                exit_event=event_id,
                length_m=info.length_m,
                speed_kmh=round(speed, 3),
                corrected_kmh=corrected,
                limit_kmh=info.limit_kmh,
                violation=route is not None,
                route=route.value if route is not None else None,
            )
        )

    # -- truck lock -----------------------------------------------------------------------------------------

    def _truck_lock(
        self, at: int, vehicle: Vehicle, camera: int, movement: str, event_id: str | None, out: list[TruthRecord]
    ) -> None:
        if movement == Movement.EXIT:
            for zone_index in self.truck_exit.get(camera, ()):
                seen = self._truck.pop((vehicle.index, zone_index), None)
                if seen is not None:
                    self._truck_stay(zone_index, vehicle, seen, at, camera, event_id, out)
        elif movement == Movement.ENTRY:
            for zone_index in self.truck_entry.get(camera, ()):
                self._truck[(vehicle.index, zone_index)] = (at, camera, event_id)

    def _truck_stay(
        self,
        zone_index: int,
        vehicle: Vehicle,
        seen: _Seen,
        at: int,
        camera: int,
        event_id: str | None,
        out: list[TruthRecord],
    ) -> None:
        zone = self.zone.truck_lock_zones[zone_index]
        if vehicle.max_mass_kg <= zone.max_mass_t * 1000:
            return
        entry_name, exit_name = self.names[seen[1]], self.names[camera]
        min_stay = next(
            (r.min_stay_minutes for r in zone.routes if (r.entry_camera, r.exit_camera) == (entry_name, exit_name)),
            zone.min_stay_minutes,
        )
        stay = (at - seen[0]) / MINUTE
        entry_at = from_ms(seen[0])
        permit = next(
            (
                p.permit
                for p in self.permits.get(vehicle.id, ())
                if p.permit_type == "truck_lock" and p.area == zone.id and p.valid_from <= entry_at < p.valid_until
            ),
            None,
        )
        transit = stay < min_stay
        out.append(
            TruckStay(
                zone.id,
                vehicle.id,
                vehicle.plate.plate,
                vehicle.category,
                vehicle.max_mass_kg,
                entry_name,
                exit_name,
                entry_at,
                from_ms(at),
                seen[2],
                event_id,
                round(stay, 3),
                min_stay,
                transit,
                permit,
                transit and permit is None,
            )
        )

    # -- bollards -------------------------------------------------------------------------------------------

    def _bollard(self, at: int, vehicle: Vehicle, camera: int, event_id: str | None, out: list[TruthRecord]) -> None:
        street = self.bollard[camera]
        moment = from_ms(at)
        weekday, minutes = self.calendar.local_minutes(at)
        permit: str | None = None
        emergency = False
        for p in self.permits.get(vehicle.id, ()):
            if not p.valid_from <= moment < p.valid_until:
                continue
            if p.permit_type == "emergency":
                permit, emergency = p.permit, True
                break
            if p.permit_type == "access" and p.area == street.id and window_allows(p.windows, weekday, minutes):
                permit = p.permit
                break
        permitted = permit is not None
        out.append(BollardAccess(street.id, vehicle.id, vehicle.plate.plate, self.names[camera], moment, event_id,
                                 permit, permitted, emergency, not permitted and street.camera_enforced))  # fmt: skip

    # -- convoys --------------------------------------------------------------------------------------------

    def _convoy(self, at: int, index: int, camera: int) -> None:
        """Pairs seen within Δt at this camera; a pair is an int key, its cameras a bit mask (this is hot)."""
        recent = self._recent.get(camera)
        if recent is None:
            recent = self._recent[camera] = deque()
        horizon = at - self._convoy_window
        while recent and recent[0][0] < horizon:
            recent.popleft()
        together, bit = self._together, 1 << camera
        for _, other in recent:
            if other != index:
                key = (other << 32) | index if other < index else (index << 32) | other
                together[key] = together.get(key, 0) | bit
        recent.append((at, index))

    def _flush_convoys(self) -> None:
        """Close a local day: pairs together at >= m cameras count one meeting day."""
        needed = self.patterns.convoy_min_cameras
        for key, cameras in self._together.items():
            if cameras.bit_count() >= needed:
                self._meetings.setdefault(key, []).append((self._day, cameras))
        self._together.clear()

    def _convoys(self, out: list[TruthRecord]) -> None:
        for key, meetings in sorted(self._meetings.items()):
            if len(meetings) < self.patterns.convoy_min_days:
                continue
            va, vb = self._vehicles[key >> 32], self._vehicles[key & 0xFFFFFFFF]
            mask = 0
            for _, seen in meetings:
                mask |= seen
            cameras = sorted(name for c, name in enumerate(self.names) if mask >> c & 1)
            out.append(Convoy((va.id, vb.id), (va.plate.plate, vb.plate.plate), tuple(day for day, _ in meetings),
                              tuple(cameras), va.role == "convoy" and vb.role == "convoy"))  # fmt: skip

    # -- the end of the period ------------------------------------------------------------------------------

    def finish(self, out: list[TruthRecord]) -> None:
        """Events that need the whole period: the last day's convoys, unpaired passages, short-visit patterns."""
        self._flush_convoys()
        self._convoys(out)
        for index in sorted(self._ends):
            vehicle = self._vehicles[index]
            first, last = self._ends[index]
            if first[0] == Movement.EXIT:
                out.append(Unpaired(vehicle.id, vehicle.plate.plate, "exit", self.names[first[2]], from_ms(first[1]),
                                    first[3], "inside_at_start"))  # fmt: skip
            if last[0] == Movement.ENTRY:
                out.append(Unpaired(vehicle.id, vehicle.plate.plate, "entry", self.names[last[2]], from_ms(last[1]),
                                    last[3], "inside_at_end"))  # fmt: skip
        for index in sorted(self._short):
            visits = self._short[index]
            days = sorted({day for day, _ in visits})
            if self._pattern(days):
                vehicle = self._vehicles[index]
                out.append(ShortVisits(vehicle.id, vehicle.plate.plate, vehicle.role, tuple(days), len(visits),
                                       sum(1 for _, same in visits if same)))  # fmt: skip

    def _pattern(self, days: list[str]) -> bool:
        """At least k distinct days within any window of D days."""
        k, window = self.patterns.short_visit_min_days, self.patterns.short_visit_window_days
        ordinals = [date.fromisoformat(d).toordinal() for d in days]
        return any(ordinals[i + k - 1] - ordinals[i] < window for i in range(len(ordinals) - k + 1))
