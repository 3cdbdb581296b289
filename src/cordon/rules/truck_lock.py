"""Vrachtwagensluis (truck lock): heavy goods vehicles that drive through a C23 zone "except local traffic".

A heavy goods vehicle that enters the zone at one of its entry cameras and leaves at one of its exit cameras
within the minimum stay of that route (the zone's own minimum when the route has none) drove through: a
candidate violation of C23 for a person to review (`route: review`, never an automatic fine), unless a
truck-lock permit for the zone (or `*`) or an emergency exemption is valid at the entry time. A longer stay is
local traffic and concludes nothing.

Heavy means what the registry (DIV) says: category N2 or N3 *and* a maximum authorised mass above the zone's
`max_mass_t` (a van at exactly 3,500 kg is not heavy, a bus is not a goods vehicle). A plate the registry does
not know (a foreign one, or a misread) falls back on the camera's class: `lorry` on either read of the pair
makes a candidate marked `class_source: camera`, because only the reviewer's eye on the images can confirm it.

Reads arrive late and out of order: the state keeps the plate's recent passages at the zone's cameras sorted
by event time and pairs an entry with the next exit only once the watermark has passed that exit. A passage
still waiting for its pair is kept `late_read_minutes` beyond what the grace period needs, so that a read from
a camera's backlog still pairs; plates that cannot be heavy leave no state at all.

A misread would break a pair if state were keyed by the plate as read. `state_key` folds it back: the plate
corrected through the read's candidates by the registry, then folded by look-alike class, so a misread entry
still meets its vehicle's exit; the candidate says how the two reads were matched (`plate_match`), for the
reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from cordon.config.rules import TruckLockRuleConfig
from cordon.config.zone import TruckLockZone, ZoneConfig
from cordon.plates import lookalike_key
from cordon.records import Finding, Movement, PlateRead, Route, VehicleType, Violation
from cordon.reference import Permit, ReferenceData, RegistryEntry
from cordon.rules.base import NOTHING, Decision, Rule, stable_id
from cordon.timeutil import from_micros, isoformat_z, to_micros

#: EU categories of goods vehicles above 3.5 t; M2/M3 (buses) and N1 (vans) are not what C23 bans.
HEAVY_GOODS = frozenset({"N2", "N3"})
#: Camera classes that rule a read out as a heavy goods vehicle (`bus`, `other` or none stay possible).
LIGHT_CLASSES = frozenset({VehicleType.CAR, VehicleType.VAN, VehicleType.MOTORCYCLE})
LEGAL_BASIS = "C23"
_MINUTE_US = 60_000_000

Facts = dict[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class Passage:
    """A passage at one of a truck-lock zone's cameras, compact."""

    at_us: int
    lock: int  # index of the truck-lock zone among those the rule watches
    camera_id: str
    event_id: str
    entry: bool
    vehicle_class: str  # the camera's class, "" when it gave none
    plate: str  # the plate it most likely shows (`resolve_plate`)
    corrected: bool  # `plate` is one of the read's candidates, not its best reading


#: The plate's passages not yet concluded, by event time (then zone, camera, event id).
TruckLockState = tuple[Passage, ...]


def _order(passage: Passage) -> tuple[int, int, str, str]:
    return (passage.at_us, passage.lock, passage.camera_id, passage.event_id)


@dataclass(frozen=True, slots=True)
class _Lock:
    """A watched truck-lock zone with its figures in the units the rule compares."""

    zone: TruckLockZone
    max_mass_kg: int
    default_stay_us: int
    route_stay_us: dict[tuple[str, str], int]
    longest_stay_us: dict[str, int]  # per entry camera: the longest minimum stay of any route out

    @classmethod
    def of(cls, zone: TruckLockZone) -> _Lock:
        default = round(zone.min_stay_minutes * _MINUTE_US)
        routes = {(r.entry_camera, r.exit_camera): round(r.min_stay_minutes * _MINUTE_US) for r in zone.routes}
        longest = dict.fromkeys(zone.entry_cameras, default)
        for (entry_camera, _), stay in routes.items():
            longest[entry_camera] = max(longest.get(entry_camera, default), stay)
        return cls(zone, round(zone.max_mass_t * 1000), default, routes, longest)

    def min_stay_us(self, entry_camera: str, exit_camera: str) -> int:
        return self.route_stay_us.get((entry_camera, exit_camera), self.default_stay_us)

    def heavy_in_registry(self, entry: RegistryEntry) -> bool:
        return entry.category.upper() in HEAVY_GOODS and entry.max_mass_kg > self.max_mass_kg


class TruckLockRule(Rule[TruckLockRuleConfig, TruckLockState]):
    """Heavy goods vehicles through a C23 zone: entry and exit within the minimum stay, without a permit."""

    type = "truck_lock"

    def __init__(self, config: TruckLockRuleConfig, zone: ZoneConfig, reference: ReferenceData) -> None:
        super().__init__(config, zone, reference)
        watched = [z for z in zone.truck_lock_zones if not config.zones or z.id in config.zones]
        self._locks = tuple(_Lock.of(z) for z in watched)
        self._entries: dict[str, tuple[int, ...]] = {}
        self._exits: dict[str, tuple[int, ...]] = {}
        for index, lock_zone in enumerate(watched):
            for camera in lock_zone.entry_cameras:
                self._entries[camera] = (*self._entries.get(camera, ()), index)
            for camera in lock_zone.exit_cameras:
                self._exits[camera] = (*self._exits.get(camera, ()), index)
        self._late_us = round(config.late_read_minutes * _MINUTE_US)
        self._tz = ZoneInfo(zone.zone.timezone)

    def cameras(self) -> frozenset[str] | None:
        return frozenset(self._entries) | frozenset(self._exits)

    def memory_us(self) -> int:
        longest = max((stay for lock in self._locks for stay in lock.longest_stay_us.values()), default=0)
        return longest + self._late_us

    # -- one read ---------------------------------------------------------------------------------------------

    def decide(self, read: PlateRead, state: TruckLockState | None) -> tuple[TruckLockState | None, Decision]:
        camera = self.zone.camera(read.observed_by)
        movement = camera.movement_of(read.lane_id) if camera is not None else None
        if movement is Movement.ENTRY:
            locks = self._entries.get(read.observed_by, ())
        elif movement is Movement.EXIT:
            locks = self._exits.get(read.observed_by, ())
        else:
            return state, NOTHING
        vehicle_class = read.vehicle_type.value if read.vehicle_type is not None else ""
        at_us, entry, known = to_micros(read.date_observed), movement is Movement.ENTRY, state or ()
        seen = {p.lock for p in known if (p.camera_id, p.event_id) == read.key}  # a read delivered twice
        plate = self.resolve_plate(read)
        added = tuple(
            Passage(at_us, lock, read.observed_by, read.event_id, entry, vehicle_class, plate, plate != read.plate)
            for lock in locks
            if lock not in seen and self._may_be_heavy(plate, vehicle_class, lock)
        )
        if not added:
            return state, NOTHING
        return tuple(sorted((*known, *added), key=_order)), NOTHING

    def resolve_plate(self, read: PlateRead) -> str:
        """The plate a read most likely shows: as read when the registry knows it, else the likeliest of its
        candidates the registry knows as a heavy goods vehicle (a Belgian truck's misread), else as read."""
        registry = self.reference.registry
        if read.plate in registry:
            return read.plate
        for candidate in sorted(read.candidates, key=lambda c: -c.confidence):
            registered = registry.get(candidate.plate)
            if registered is not None and any(lock.heavy_in_registry(registered) for lock in self._locks):
                return candidate.plate
        return read.plate

    def state_key(self, read: PlateRead) -> str:
        """The key under which a read should meet the vehicle's other reads: its resolved plate folded by
        look-alike class, so that a misread entry still pairs with a correct exit. Today's engine keys every
        rule's state by `read.plate`; this is for a per-rule key hook in the engine (see the module's notes)."""
        return lookalike_key(self.resolve_plate(read))

    def _may_be_heavy(self, plate: str, vehicle_class: str, lock: int) -> bool:
        """Whether this read could belong to a heavy goods vehicle's pair: a read that cannot leaves no state."""
        registered = self.reference.registry.get(plate)
        if registered is not None:
            return self._locks[lock].heavy_in_registry(registered)
        return self.config.camera_fallback and vehicle_class not in LIGHT_CLASSES

    # -- the watermark passed ---------------------------------------------------------------------------------

    def deadline(self, state: TruckLockState) -> int | None:
        due = [self._due(sequence) for sequence in self._by_lock(state).values()]
        return min((d for d in due if d is not None), default=None)

    def expire(self, plate: str, state: TruckLockState, watermark_us: int) -> tuple[TruckLockState | None, Decision]:
        kept: list[Passage] = []
        decisions: list[Decision] = []
        for sequence in self._by_lock(state).values():
            while True:  # a pair taken out may leave an older passage due too
                remaining, decision = self._walk(sequence, watermark_us)
                decisions.append(decision)
                if len(remaining) == len(sequence):
                    break
                sequence = remaining
            kept += sequence
        violations = tuple(v for d in decisions for v in d.violations)
        findings = tuple(f for d in decisions for f in d.findings)
        return (tuple(sorted(kept, key=_order)) or None), Decision(violations=violations, findings=findings)

    @staticmethod
    def _by_lock(state: TruckLockState) -> dict[int, list[Passage]]:
        sequences: dict[int, list[Passage]] = {}
        for passage in state:
            sequences.setdefault(passage.lock, []).append(passage)
        return sequences

    def _due(self, sequence: list[Passage]) -> int | None:
        """The earliest watermark at which `_walk` changes this zone's sequence (mirrors its cases)."""
        due: list[int] = []
        index = 0
        while index < len(sequence):
            passage = sequence[index]
            following = sequence[index + 1] if index + 1 < len(sequence) else None
            if passage.entry and following is not None and not following.entry:
                due.append(following.at_us)
                index += 2
                continue
            due.append(self._drop_at(passage, following))
            index += 1
        return min(due, default=None)

    def _drop_at(self, passage: Passage, following: Passage | None) -> int:
        """When a passage without its pair is given up: once no read that could still pair it may arrive."""
        if not passage.entry:
            return passage.at_us + self._late_us  # an exit whose entry never came
        # past the longest minimum stay any exit makes a long stay (local traffic); before, another entry
        # shows the exit was missed
        longest = self._locks[passage.lock].longest_stay_us.get(passage.camera_id, 0)
        given_up = passage.at_us + longest if following is None else min(following.at_us, passage.at_us + longest)
        return given_up + self._late_us

    def _walk(self, sequence: list[Passage], watermark_us: int) -> tuple[list[Passage], Decision]:
        """Pair each entry with the exit after it once the watermark has passed that exit; give up what is due."""
        kept: list[Passage] = []
        decisions: list[Decision] = []
        index = 0
        while index < len(sequence):
            passage = sequence[index]
            following = sequence[index + 1] if index + 1 < len(sequence) else None
            if passage.entry and following is not None and not following.entry:
                if following.at_us <= watermark_us:
                    decisions.append(self._conclude(passage, following))
                else:
                    kept += (passage, following)
                index += 2
                continue
            if self._drop_at(passage, following) > watermark_us:
                kept.append(passage)
            index += 1
        violations = tuple(v for d in decisions for v in d.violations)
        findings = tuple(f for d in decisions for f in d.findings)
        return kept, Decision(violations=violations, findings=findings)

    # -- the decision on a stay -------------------------------------------------------------------------------

    def _conclude(self, entry: Passage, exit_: Passage) -> Decision:
        """A stay: a candidate violation, an exempt transit (a finding), or nothing (local traffic, light)."""
        lock = self._locks[entry.lock]
        stay_us = exit_.at_us - entry.at_us
        min_stay_us = lock.min_stay_us(entry.camera_id, exit_.camera_id)
        if stay_us >= min_stay_us:
            return NOTHING  # stayed long enough to be local traffic
        registry = self.reference.registry
        plate = next((p for p in (entry.plate, exit_.plate) if p in registry), entry.plate)
        registered = registry.get(plate)
        if registered is not None:
            if not lock.heavy_in_registry(registered):
                return NOTHING
        elif VehicleType.LORRY.value not in (entry.vehicle_class, exit_.vehicle_class):
            return NOTHING  # unknown to the registry and no camera saw a lorry
        reads = ((entry.camera_id, entry.event_id), (exit_.camera_id, exit_.event_id))
        facts: Facts = {
            "zone": lock.zone.id,
            "entry_camera": entry.camera_id,
            "entry_at": isoformat_z(from_micros(entry.at_us)),
            "exit_camera": exit_.camera_id,
            "exit_at": isoformat_z(from_micros(exit_.at_us)),
            "stay_minutes": round(stay_us / _MINUTE_US, 3),
            "min_stay_minutes": min_stay_us / _MINUTE_US,
            "max_mass_t": lock.zone.max_mass_t,
            "class_source": "registry" if registered is not None else "camera",
            "category": registered.category if registered is not None else None,
            "max_mass_kg": registered.max_mass_kg if registered is not None else None,
            "entry_class": entry.vehicle_class or None,
            "exit_class": exit_.vehicle_class or None,
            "plate_match": _plate_match(entry, exit_),
        }
        if exit_.plate != entry.plate:
            facts["other_plate"] = exit_.plate if plate == entry.plate else entry.plate
        permit = self._exemption({entry.plate, exit_.plate}, lock.zone.id, from_micros(entry.at_us))
        if permit is not None:
            facts.update(permit=permit.permit_id, permit_type=permit.permit_type)
            return Decision(findings=(self._finding(plate, reads, exit_, facts),))
        facts["fine_eur"] = self.config.fine_eur
        violation = Violation(
            violation_id=stable_id(self.id, "transit", *reads),
            rule_id=self.id,
            rule_type=self.type,
            plate=plate,
            date_observed=from_micros(exit_.at_us),
            read_ids=reads,
            route=Route.REVIEW,
            legal_basis=LEGAL_BASIS,
            facts=facts,
        )
        return Decision(violations=(violation,))

    def _exemption(self, plates: set[str], zone_id: str, entry_at: datetime) -> Permit | None:
        """A truck-lock permit for this zone (or every zone), or an emergency exemption, valid at the entry."""
        local = entry_at.astimezone(self._tz)
        for permit in (p for plate in sorted(plates) for p in self.reference.permits.get(plate, ())):
            applies = permit.permit_type == "emergency" or (
                permit.permit_type == "truck_lock" and permit.area in (zone_id, "*")
            )
            if applies and permit.valid_at(entry_at, local):
                return permit
        return None

    def _finding(self, plate: str, reads: tuple[tuple[str, str], ...], exit_: Passage, facts: Facts) -> Finding:
        return self.finding(
            "exempt_transit",
            plate=plate,
            camera_id=exit_.camera_id,
            at=from_micros(exit_.at_us),
            read_ids=reads,
            facts=facts,
        )


def _plate_match(entry: Passage, exit_: Passage) -> str:
    """How the two reads were found to be one vehicle: the same plate as read, one corrected to a candidate
    the registry knows, or plates that differ only by look-alike characters."""
    if entry.plate != exit_.plate:
        return "lookalike"
    return "candidate" if entry.corrected or exit_.corrected else "exact"
