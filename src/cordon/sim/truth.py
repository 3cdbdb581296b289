"""The ground truth of a simulation: typed, frozen records, one JSON object per line with a `kind` field.

A scorer joins truth to reads by `(camera, eventId)`: every `passage` names the event id of its read (null when
the camera missed it). The events the rules should find carry the event ids of their evidence reads too.

| kind | what | scored as (`cordon eval`) |
|---|---|---|
| `run` | seed, zone, period, settings, pattern parameters (first line) | |
| `camera` | each camera's true capture rate, clock offset and drift, and whether it stays in sync | |
| `vehicle` | real plate, class, EU category, maximum authorised mass, role (before its first passage) | |
| `hotlist_entry`, `permit` | the lists and permits the simulation used (also `--fixtures` CSV files) | |
| `passage` | every true passage: vehicle, camera, lane, movement, true time, read event id | |
| `section_speed` | every section drive above the limit: true, corrected speed, violation, route | `section_control` |
| `truck_stay` | every stay of a heavy goods vehicle in a truck-lock zone: transit, permit, candidate | `truck_lock` |
| `bollard_access` | every passage at a bollard camera: permit, permitted, GAS case | `access_control` |
| `hotlist_passage` | every passage of a hotlisted vehicle while its entry is valid | `hotlist` |
| `unpaired` | gate passages without their pair in the period (inside at the start, or at the end) | `zone_closure` |
| `short_visits` | vehicles with short visits on at least k distinct days within D days | `short_visit` |
| `convoy` | pairs seen together within Δt at ≥ m distinct cameras in a day, on ≥ d days | `convoy` |
| `burglary` | a crew's night stay, with the incident window it covers | `burglary` |
| `summary` | counts (last line) | |
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic.alias_generators import to_camel

TRUTH_FORMAT_VERSION = 1

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


def iso(moment: datetime) -> str:
    """ISO 8601, UTC, milliseconds, `Z`: the form of every time in the simulator's files."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TruthRecord:
    """Base of every truth record: `kind` names it in JSON, fields are camelCase there."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict[str, JsonValue]:
        """The record as JSON-ready data, `kind` first."""
        out: dict[str, JsonValue] = {"kind": self.kind}
        for name, camel in _camel_fields(type(self)):
            out[camel] = _jsonable(getattr(self, name))
        return out


_CAMEL: dict[type[TruthRecord], tuple[tuple[str, str], ...]] = {}


def _camel_fields(cls: type[TruthRecord]) -> tuple[tuple[str, str], ...]:
    found = _CAMEL.get(cls)
    if found is None:
        found = _CAMEL[cls] = tuple((f.name, to_camel(f.name)) for f in dataclasses.fields(cls))
    return found


def _jsonable(value: Any) -> JsonValue:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class RunInfo(TruthRecord):
    """How the run was made: enough to make it again, and the parameters the analyses must share."""

    kind: ClassVar[str] = "run"
    format_version: int
    zone: str
    seed: int
    start: datetime
    end: datetime
    vehicles_per_day: int
    noise: dict[str, Any]
    patterns: dict[str, Any]
    reads_order: str  # "delivery": lines of the reads file are in delivery order


@dataclass(frozen=True, slots=True)
class CameraTruth(TruthRecord):
    """A camera's true quality and clock; `clock_offset_s(t) = offset + drift * days since start`."""

    kind: ClassVar[str] = "camera"
    camera: str
    capture_rate: float
    misread_rate: float
    clock_offset_s: float
    clock_drift_s_per_day: float
    clock_tolerance_s: float
    in_sync: bool  # |offset| stays within the camera's tolerance over the whole period


@dataclass(frozen=True, slots=True)
class VehicleTruth(TruthRecord):
    """A vehicle as the registry (for Belgian plates) and the simulation know it."""

    kind: ClassVar[str] = "vehicle"
    vehicle: str
    plate: str  # normalised
    display: str  # as printed
    country: str
    category: str  # EU category: M1 car, N1 van, N2/N3 goods vehicle, M3 bus, L3 motorcycle
    vehicle_type: str  # the camera's class (`car`, `van`, `lorry`, `bus`, `motorcycle`)
    max_mass_kg: int
    role: str
    registered: bool  # in the Belgian vehicle registry (Belgian plates only)
    lead_foot: bool  # speeds on every section
    permits: tuple[str, ...] = ()  # ids of its `permit` records
    hotlist: tuple[str, ...] = ()  # ids of the `hotlist_entry` records on its plate


@dataclass(frozen=True, slots=True)
class HotlistEntryTruth(TruthRecord):
    """One hotlist entry the simulation placed."""

    kind: ClassVar[str] = "hotlist_entry"
    entry: str
    list: str
    category: str
    plate: str
    country: str
    reason: str
    priority: int
    valid_from: datetime
    valid_until: datetime
    vehicle: str | None  # None: the plate never drives in


@dataclass(frozen=True, slots=True)
class PermitTruth(TruthRecord):
    """A truck-lock permit, a bollard access permit, or an emergency vehicle's exemption."""

    kind: ClassVar[str] = "permit"
    permit: str
    permit_type: str  # "truck_lock", "access", "emergency"
    plate: str
    area: str  # truck-lock zone id, bollard street id, or "*" (every street)
    valid_from: datetime
    valid_until: datetime
    windows: tuple[str, ...]  # local time, "12345 06:00-11:00" (ISO weekdays); empty: always
    vehicle: str


@dataclass(frozen=True, slots=True)
class Passage(TruthRecord):
    """A vehicle passing a camera lane, at the true time; `event_id` is its read's (None: not read)."""

    kind: ClassVar[str] = "passage"
    vehicle: str
    plate: str
    camera: str
    lane: str
    movement: str
    at: datetime
    event_id: str | None
    read_plate: str | None  # the normalised plate the camera read (differs from `plate` on a misread)
    lat: float | None = None  # position of the mobile camera
    lon: float | None = None

    def to_json(self) -> dict[str, JsonValue]:
        """As the base class, faster (there are millions); the mobile camera's position only when set."""
        out: dict[str, JsonValue] = {
            "kind": "passage",
            "vehicle": self.vehicle,
            "plate": self.plate,
            "camera": self.camera,
            "lane": self.lane,
            "movement": self.movement,
            "at": iso(self.at),
            "eventId": self.event_id,
            "readPlate": self.read_plate,
        }
        if self.lat is not None:
            out["lat"], out["lon"] = self.lat, self.lon
        return out


@dataclass(frozen=True, slots=True)
class SectionSpeed(TruthRecord):
    """A drive through a section above the limit; `speed_kmh = length_m / (exit_at - entry_at)`."""

    kind: ClassVar[str] = "section_speed"
    section: str
    vehicle: str
    plate: str
    entry_camera: str
    exit_camera: str
    entry_at: datetime
    exit_at: datetime
    entry_event: str | None
    exit_event: str | None
    length_m: float
    speed_kmh: float
    corrected_kmh: int
    limit_kmh: int
    violation: bool  # corrected speed above the limit
    route: str | None  # "gas" or "prosecutor" for a violation


@dataclass(frozen=True, slots=True)
class TruckStay(TruthRecord):
    """A heavy goods vehicle's stay in a truck-lock zone; a transit without a valid permit is a candidate."""

    kind: ClassVar[str] = "truck_stay"
    zone: str
    vehicle: str
    plate: str
    category: str
    max_mass_kg: int
    entry_camera: str
    exit_camera: str
    entry_at: datetime
    exit_at: datetime
    entry_event: str | None
    exit_event: str | None
    stay_minutes: float
    min_stay_minutes: float
    transit: bool
    permit: str | None
    candidate: bool


@dataclass(frozen=True, slots=True)
class BollardAccess(TruthRecord):
    """A vehicle driving past a bollard camera into its street."""

    kind: ClassVar[str] = "bollard_access"
    street: str
    vehicle: str
    plate: str
    camera: str
    at: datetime
    event_id: str | None
    permit: str | None
    permitted: bool  # a valid permit (or an emergency exemption) at that local time
    emergency: bool
    gas_case: bool  # not permitted, in a camera-enforced street


@dataclass(frozen=True, slots=True)
class HotlistPassage(TruthRecord):
    """A passage of a hotlisted vehicle while its entry was valid."""

    kind: ClassVar[str] = "hotlist_passage"
    entry: str
    list: str
    category: str
    vehicle: str
    plate: str
    camera: str
    at: datetime
    event_id: str | None


@dataclass(frozen=True, slots=True)
class Unpaired(TruthRecord):
    """A gate passage without its pair inside the period: the vehicle was inside at the start or at the end."""

    kind: ClassVar[str] = "unpaired"
    vehicle: str
    plate: str
    movement: str  # "exit" (inside at the start) or "entry" (still inside at the end)
    camera: str
    at: datetime
    event_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ShortVisits(TruthRecord):
    """A vehicle that entered and left within N minutes on at least k distinct days within D days (by default
    leaving by the gate it came in: see `PatternSettings.short_visit_same_gate`)."""

    kind: ClassVar[str] = "short_visits"
    vehicle: str
    plate: str
    role: str
    days: tuple[str, ...]  # local dates with a short visit
    visits: int
    same_gate_visits: int  # short visits that left by the gate they came in (home delivery looks like this)


@dataclass(frozen=True, slots=True)
class Convoy(TruthRecord):
    """Two vehicles seen within Δt of each other at ≥ m distinct cameras in a local day, on ≥ d such days."""

    kind: ClassVar[str] = "convoy"
    vehicles: tuple[str, str]
    plates: tuple[str, str]
    days: tuple[str, ...]  # local dates of the meetings
    cameras: tuple[str, ...]  # every camera where they were together on those days
    designed: bool  # the simulation's convoy pair (others drove together by chance)


@dataclass(frozen=True, slots=True)
class BurglaryStay(TruthRecord):
    """A burglary crew's stay in the zone at night; the incident happened within it."""

    kind: ClassVar[str] = "burglary"
    vehicle: str
    plate: str
    entry_camera: str
    entry_at: datetime
    exit_camera: str
    exit_at: datetime
    incident_from: datetime
    incident_until: datetime


@dataclass(frozen=True, slots=True)
class Summary(TruthRecord):
    """Counts of the run (last line)."""

    kind: ClassVar[str] = "summary"
    counts: dict[str, int]


RECORD_TYPES: dict[str, type[TruthRecord]] = {
    cls.kind: cls
    for cls in (
        RunInfo,
        CameraTruth,
        VehicleTruth,
        HotlistEntryTruth,
        PermitTruth,
        Passage,
        SectionSpeed,
        TruckStay,
        BollardAccess,
        HotlistPassage,
        Unpaired,
        ShortVisits,
        Convoy,
        BurglaryStay,
        Summary,
    )
}


_PARSERS: dict[type[TruthRecord], tuple[tuple[str, str, bool, bool], ...]] = {}


def _field_parsers(cls: type[TruthRecord]) -> tuple[tuple[str, str, bool, bool], ...]:
    found = _PARSERS.get(cls)
    if found is not None:
        return found
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        is_time = datetime in args
        is_tuple = any(typing.get_origin(a) is tuple for a in args)
        out.append((f.name, to_camel(f.name), is_time, is_tuple))
    found = _PARSERS[cls] = tuple(out)
    return found


def record_from_json(data: dict[str, Any]) -> TruthRecord:
    """A truth record back from its JSON form (`kind` picks the type)."""
    cls = RECORD_TYPES.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"unknown truth record kind {data.get('kind')!r}")
    values: dict[str, Any] = {}
    for name, camel, is_time, is_tuple in _field_parsers(cls):
        if camel not in data:
            continue
        value = data[camel]
        if is_time and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif is_tuple and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return cls(**values)
