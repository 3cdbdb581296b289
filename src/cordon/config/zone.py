"""The zone file's model: sites, cameras and their lanes, gates, sections, truck-lock zones, bollard streets.

A zone file is one YAML document validated by these pydantic models (`extra="forbid"`, every field
described). Cross-references (a camera's site, a section's cameras, ...) are checked after the fields, and
each problem is reported at the place in the file where it is written. `cordon config validate` is the
front door; the JSON schema of this model is published in `docs/zone-schema.json`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from cordon.config.rules import RuleConfig
from cordon.records import Movement
from cordon.traffic_mix import TrafficMix, check_traffic_mix

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$", description="Lower-case id."),
]

#: The longest any ANPR read may be kept under the Police Function Act (12 months).
MAX_RETENTION_DAYS = 365


class StrictModel(BaseModel):
    """Base of the zone file's models: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=False)


class Purpose(StrEnum):
    """Purposes a camera is authorised for by the council decision that placed it."""

    ADMINISTRATIVE_POLICE = "administrative_police"
    JUDICIAL_POLICE = "judicial_police"
    SECTION_CONTROL = "section_control"
    TRUCK_LOCK = "truck_lock"
    ACCESS_CONTROL = "access_control"
    TRAFFIC_STATISTICS = "traffic_statistics"


class LegalRegime(StrEnum):
    """The law under which a camera's data are processed."""

    POLICE_FUNCTION_ACT = "police_function_act"  # Wet op het politieambt / loi sur la fonction de police
    CAMERA_ACT = "camera_act"  # Camerawet / loi caméras, art. 7/8 for ANPR of municipalities
    ROAD_TRAFFIC = "road_traffic"  # verkeerswet: automated traffic enforcement (trajectcontrole)


class Transport(StrEnum):
    """How a camera delivers its reads to Cordon."""

    HTTP = "http"
    MQTT = "mqtt"


class ZoneInfo(StrictModel):
    """Who runs the zone and where it is."""

    id: Identifier = Field(description="Short id of the zone, e.g. `pz-demostad`.")
    name: str = Field(min_length=1, description="Name of the police zone or municipality.")
    timezone: str = Field(default="Europe/Brussels", description="IANA time zone for local-time rules.")
    controller: str = Field(min_length=1, description="Default controller (verwerkingsverantwoordelijke) of the data.")


class Site(StrictModel):
    """A place where one or more cameras stand (a crossroads, a road at the border)."""

    id: Identifier = Field(description="Id of the site.")
    name: str = Field(min_length=1, description="Human name, e.g. 'Steenweg N9 at the northern border'.")
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS84 degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS84 degrees.")


class Lane(StrictModel):
    """One lane a camera watches, and what a passage on it means for the zone."""

    id: str = Field(min_length=1, max_length=16, description="Lane id as the camera reports it (`laneId`).")
    movement: Movement = Field(description="`entry` into the zone, `exit` out of it, or `internal`.")


class Camera(StrictModel):
    """An ANPR camera (fixed or mobile), with the legal frame it operates in."""

    id: Identifier = Field(description="Id of the camera; also its MQTT topic segment and API identity.")
    site: Identifier | None = Field(default=None, description="Site it stands at (none for mobile units).")
    kind: Literal["fixed", "mobile"] = Field(default="fixed", description="Fixed or mobile unit.")
    lat: float | None = Field(default=None, ge=-90, le=90, description="Latitude (fixed cameras).")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Longitude (fixed cameras).")
    heading: float | None = Field(default=None, ge=0, lt=360, description="Viewing direction, degrees.")
    lanes: tuple[Lane, ...] = Field(min_length=1, description="Lanes watched, each entry/exit/internal.")
    controller: str | None = Field(default=None, description="Controller, if not the zone's default.")
    legal_regime: LegalRegime = Field(description="Law under which its data are processed.")
    purposes: tuple[Purpose, ...] = Field(min_length=1, description="Purposes the council authorised.")
    council_decision: str = Field(min_length=1, description="Reference of the authorising council decision.")
    retention_days: int = Field(
        default=MAX_RETENTION_DAYS, ge=1, le=MAX_RETENTION_DAYS, description="Days reads are kept (≤ 365)."
    )
    open_consultation_days: int = Field(
        default=30, ge=0, le=MAX_RETENTION_DAYS, description="Days reads may be consulted without a decision."
    )
    transport: Transport = Field(default=Transport.HTTP, description="How it delivers reads.")
    clock_tolerance_s: float = Field(
        default=1.0, gt=0, le=60, description="Largest clock offset accepted for speed evidence, seconds."
    )

    @model_validator(mode="after")
    def _position(self) -> Self:
        if self.kind == "fixed" and (self.lat is None or self.lon is None):
            raise ValueError("a fixed camera needs lat and lon")
        if self.open_consultation_days > self.retention_days:
            raise ValueError("open_consultation_days cannot exceed retention_days")
        return self

    def movement_of(self, lane_id: str | None) -> Movement | None:
        """Entry, exit or internal for a lane id; None for a lane this camera does not have."""
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane.movement
        if lane_id is None and len(self.lanes) == 1:
            return self.lanes[0].movement
        return None


class Gate(StrictModel):
    """A road crossing the zone's border; its cameras must watch both directions."""

    id: Identifier = Field(description="Id of the gate.")
    name: str = Field(min_length=1, description="Human name, e.g. 'N9 Gentsesteenweg'.")
    cameras: tuple[Identifier, ...] = Field(min_length=1, description="Cameras that watch this gate.")


class Section(StrictModel):
    """A trajectcontrole section: average speed between an entry and an exit camera."""

    id: Identifier = Field(description="Id of the section.")
    name: str = Field(min_length=1, description="Human name of the stretch.")
    entry_camera: Identifier = Field(description="Camera at the start of the section.")
    exit_camera: Identifier = Field(description="Camera at the end of the section.")
    length_m: float = Field(gt=0, le=100_000, description="Surveyed distance between the cameras, metres.")
    speed_limit_kmh: int = Field(gt=0, le=130, description="Speed limit on the section, km/h.")
    gas_eligible: bool | None = Field(
        default=None, description="GAS-5 routing allowed; default: true in 30 and 50 km/h zones."
    )
    next_section: Identifier | None = Field(default=None, description="Section that continues this one.")


class TruckLockRoute(StrictModel):
    """A minimum stay for a pair of gates: shorter stays are transits."""

    entry_camera: Identifier = Field(description="Camera of the entry.")
    exit_camera: Identifier = Field(description="Camera of the exit.")
    min_stay_minutes: float = Field(gt=0, description="Stays shorter than this are a transit.")


class TruckLockZone(StrictModel):
    """A vrachtwagensluis: a C23 zone closed to heavy through traffic, local traffic excepted."""

    id: Identifier = Field(description="Id of the truck-lock zone.")
    name: str = Field(min_length=1, description="Human name.")
    max_mass_t: float = Field(default=3.5, gt=0, le=60, description="Maximum authorised mass, tonnes.")
    entry_cameras: tuple[Identifier, ...] = Field(min_length=1, description="Cameras on every entry.")
    exit_cameras: tuple[Identifier, ...] = Field(min_length=1, description="Cameras on every exit.")
    min_stay_minutes: float = Field(default=20, gt=0, description="Default minimum stay of local traffic.")
    routes: tuple[TruckLockRoute, ...] = Field(default=(), description="Per-route minimum stays.")


class BollardStreet(StrictModel):
    """A street closed by retractable bollards (verdwijnpalen): school street or pedestrian zone."""

    id: Identifier = Field(description="Id of the street.")
    name: str = Field(min_length=1, description="Human name.")
    kind: Literal["school_street", "pedestrian_zone"] = Field(description="What closes the street.")
    camera: Identifier = Field(description="ANPR camera in front of the bollard.")
    controller: Identifier = Field(description="Id of the bollard controller (MQTT command topic).")
    sign: Literal["C3", "F103"] = Field(description="Road sign that closes it.")
    camera_enforced: bool = Field(default=True, description="Entries without permit become GAS cases.")


class ZoneConfig(StrictModel):
    """A whole zone: everything Cordon watches and the rules it runs."""

    version: Literal[1] = Field(default=1, description="Version of the zone file format.")
    zone: ZoneInfo = Field(description="Who runs the zone.")
    sites: tuple[Site, ...] = Field(default=(), description="Places where cameras stand.")
    cameras: tuple[Camera, ...] = Field(min_length=1, description="ANPR cameras, fixed and mobile.")
    gates: tuple[Gate, ...] = Field(default=(), description="Roads across the border of the zone.")
    sections: tuple[Section, ...] = Field(default=(), description="Section-control stretches.")
    truck_lock_zones: tuple[TruckLockZone, ...] = Field(default=(), description="Truck-lock zones.")
    bollard_streets: tuple[BollardStreet, ...] = Field(default=(), description="Bollard streets.")
    rules: tuple[RuleConfig, ...] = Field(default=(), description="Rules run on every read.")
    traffic_mix: dict[str, float] = Field(
        default_factory=dict,
        description="The zone's own shares of traffic by plate country (`NL: 0.2`) or format name "
        "(`BE current: 0.5`, docs/plate-formats.md), each above 0 and at most 1; the others keep the default, a "
        "Belgian zone's. They decide the country of a read that arrives without one.",
    )

    @field_validator("traffic_mix")
    @classmethod
    def _known_mix(cls, entries: dict[str, float]) -> dict[str, float]:
        return check_traffic_mix(entries)

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Self:
        problems = list(reference_problems(self))
        if not problems:
            return self
        sink = info.context.get("reference_problems") if isinstance(info.context, dict) else None
        if isinstance(sink, list):
            sink.extend(problems)
            return self
        raise ValueError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))

    def camera(self, camera_id: str) -> Camera | None:
        """The camera with this id, or None."""
        return self._cameras_by_id().get(camera_id)

    def plate_mix(self) -> TrafficMix:
        """The zone's traffic mix: `traffic_mix` over the default."""
        mix: TrafficMix | None = self.__dict__.get("_plate_mix")
        if mix is None:
            mix = TrafficMix().with_entries(self.traffic_mix)
            object.__setattr__(self, "_plate_mix", mix)  # derived, safe to memoise on a frozen model
        return mix

    def _cameras_by_id(self) -> dict[str, Camera]:
        cache: dict[str, Camera] | None = self.__dict__.get("_camera_index")
        if cache is None:
            cache = {camera.id: camera for camera in self.cameras}
            object.__setattr__(self, "_camera_index", cache)  # derived, safe to memoise on a frozen model
        return cache


Loc = tuple[str | int, ...]


def _duplicates(kind: str, ids: list[str]) -> Iterator[tuple[Loc, str]]:
    counts = Counter(ids)
    for index, item in enumerate(ids):
        if counts[item] > 1:
            yield (kind, index, "id"), f"duplicate id '{item}'"


def reference_problems(zone: ZoneConfig) -> Iterator[tuple[Loc, str]]:
    """Every broken cross-reference of a zone, as (location in the file, message)."""
    cameras = {camera.id for camera in zone.cameras}
    sites = {site.id for site in zone.sites}
    sections = {section.id for section in zone.sections}
    for kind, items in (
        ("sites", zone.sites),
        ("cameras", zone.cameras),
        ("gates", zone.gates),
        ("sections", zone.sections),
        ("truck_lock_zones", zone.truck_lock_zones),
        ("bollard_streets", zone.bollard_streets),
        ("rules", zone.rules),
    ):
        yield from _duplicates(kind, [item.id for item in items])

    def camera_ref(loc: Loc, camera_id: str) -> Iterator[tuple[Loc, str]]:
        if camera_id not in cameras:
            yield loc, f"unknown camera '{camera_id}'"

    for index, camera in enumerate(zone.cameras):
        if camera.site is not None and camera.site not in sites:
            yield ("cameras", index, "site"), f"unknown site '{camera.site}'"
        lane_ids = [lane.id for lane in camera.lanes]
        for lane_index, lane_id in enumerate(lane_ids):
            if lane_ids.count(lane_id) > 1:
                yield ("cameras", index, "lanes", lane_index, "id"), f"duplicate lane '{lane_id}'"
    for index, gate in enumerate(zone.gates):
        for cam_index, camera_id in enumerate(gate.cameras):
            yield from camera_ref(("gates", index, "cameras", cam_index), camera_id)
    for index, section in enumerate(zone.sections):
        yield from camera_ref(("sections", index, "entry_camera"), section.entry_camera)
        yield from camera_ref(("sections", index, "exit_camera"), section.exit_camera)
        if section.entry_camera == section.exit_camera:
            yield ("sections", index, "exit_camera"), "entry and exit camera must differ"
        if section.next_section is not None and section.next_section not in sections:
            yield ("sections", index, "next_section"), f"unknown section '{section.next_section}'"
    for index, truck_zone in enumerate(zone.truck_lock_zones):
        for field in ("entry_cameras", "exit_cameras"):
            for cam_index, camera_id in enumerate(getattr(truck_zone, field)):
                yield from camera_ref(("truck_lock_zones", index, field, cam_index), camera_id)
        for route_index, route in enumerate(truck_zone.routes):
            loc: Loc = ("truck_lock_zones", index, "routes", route_index)
            yield from camera_ref((*loc, "entry_camera"), route.entry_camera)
            yield from camera_ref((*loc, "exit_camera"), route.exit_camera)
    for index, street in enumerate(zone.bollard_streets):
        yield from camera_ref(("bollard_streets", index, "camera"), street.camera)
    known = {
        "sections": sections,
        "truck_lock_zones": {z.id for z in zone.truck_lock_zones},
        "bollard_streets": {s.id for s in zone.bollard_streets},
    }
    for index, rule in enumerate(zone.rules):
        for field, ids in rule.references().items():
            for ref_index, ref in enumerate(ids):
                if ref not in known[field]:
                    singular = field.removesuffix("s").replace("_", " ")
                    yield ("rules", index, field, ref_index), f"unknown {singular} '{ref}'"
