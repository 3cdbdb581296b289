"""The typed records that cross Cordon's stages.

Every record is frozen and versioned. Field names in JSON follow the FIWARE `AnprFlowObserved` data model
where it has one (`observedBy`, `dateObserved`, `dateReceived`, `laneId`, ...), so exports map one to one;
Python code uses the snake_case attribute names.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

#: Bumped whenever a field of `PlateRead` changes meaning or is added.
PLATE_READ_SCHEMA_VERSION = 1

Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


class Record(BaseModel):
    """Base of every record: frozen, strict about unknown fields, camelCase in JSON."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        ser_json_timedelta="float",
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data with its public (camelCase) names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class VehicleType(StrEnum):
    """Vehicle classes a camera may report (FIWARE `vehicleType` values where they exist)."""

    CAR = "car"
    VAN = "van"
    LORRY = "lorry"
    BUS = "bus"
    MOTORCYCLE = "motorcycle"
    TRAILER = "trailer"
    TRACTOR = "tractor"
    OTHER = "other"


class Direction(StrEnum):
    """Travel direction relative to the camera, as FIWARE `observedVehicle.direction` names it."""

    TOWARDS = "towards"
    AWAY = "away"


class Movement(StrEnum):
    """What a passage means for the zone, from the lane's configuration."""

    ENTRY = "entry"
    EXIT = "exit"
    INTERNAL = "internal"


class PlateCandidate(Record):
    """One alternative reading of a plate, with the reader's confidence in it."""

    plate: str = Field(description="Normalised plate text of this candidate.")
    confidence: Confidence = Field(description="Reader's confidence in this candidate, 0 to 1.")


class BoundingBox(Record):
    """The plate's axis-aligned box in the image, in pixels."""

    x: int = Field(ge=0, description="Left edge, pixels.")
    y: int = Field(ge=0, description="Top edge, pixels.")
    w: int = Field(gt=0, description="Width, pixels.")
    h: int = Field(gt=0, description="Height, pixels.")


class GeoPoint(Record):
    """A WGS84 position."""

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")


class PlateRead(Record):
    """One passage of one vehicle in front of one camera: the record every stage shares."""

    schema_version: int = Field(default=PLATE_READ_SCHEMA_VERSION, description="Version of this record.")
    event_id: str = Field(min_length=1, max_length=128, description="Camera's own id of this event.")
    observed_by: str = Field(description="Id of the camera that made the read (FIWARE `observedBy`).")
    date_observed: AwareDatetime = Field(description="Event time by the camera's clock, UTC.")
    date_received: AwareDatetime = Field(description="When Cordon received the read, UTC.")
    plate_as_read: str = Field(description="The plate exactly as the camera read it.")
    plate: str = Field(description="Normalised plate: upper case, no separators.")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 country code, if known.")
    confidence: Confidence | None = Field(default=None, description="Reader's confidence, 0 to 1.")
    candidates: tuple[PlateCandidate, ...] = Field(default=(), description="Top-N alternative readings.")
    bbox: BoundingBox | None = Field(default=None, description="Plate box in the image.")
    lane_id: str | None = Field(default=None, description="Lane identifier (FIWARE `laneId`).")
    direction: Direction | None = Field(default=None, description="Direction relative to the camera.")
    location: GeoPoint | None = Field(default=None, description="GPS position (mobile cameras).")
    vehicle_type: VehicleType | None = Field(default=None, description="Vehicle class, if the camera gives one.")
    speed: float | None = Field(default=None, ge=0, description="Spot speed from the camera, km/h.")
    image_ref: str | None = Field(default=None, description="SHA-256 of the stored plate image.")

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: a camera never reports two events under one id."""
        return (self.observed_by, self.event_id)


class Severity(StrEnum):
    """How urgently a person must look at an alert."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    """An alert's life: new, then acknowledged by an operator, then closed with an outcome."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Alert(Record):
    """Something a person must see now (a hotlist hit, a bollard intrusion, ...)."""

    schema_version: int = Field(default=1, description="Version of this record.")
    alert_id: str = Field(description="Unique id, stable across restarts (derived from rule and reads).")
    rule_id: str = Field(description="Id of the rule in the zone configuration that raised it.")
    rule_type: str = Field(description="Type of that rule (`hotlist`, `access_control`, ...).")
    category: str = Field(description="Category, used in the MQTT topic `cordon/alerts/{category}`.")
    severity: Severity = Field(description="How urgent it is.")
    plate: str = Field(description="Normalised plate concerned.")
    camera_id: str = Field(description="Camera of the read that raised it.")
    date_observed: AwareDatetime = Field(description="Event time of that read.")
    read_ids: tuple[tuple[str, str], ...] = Field(description="(camera, event id) of the evidence reads.")
    message: str = Field(description="One line for the operator.")
    state: AlertState = Field(default=AlertState.NEW, description="Life-cycle state.")
    details: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="Rule-specific facts (list name, match mode, ...)."
    )


class Route(StrEnum):
    """Where a violation goes for follow-up."""

    GAS = "gas"
    PROSECUTOR = "prosecutor"
    REVIEW = "review"


class Violation(Record):
    """A candidate offence with its evidence, for a person to review (never sanctioned automatically)."""

    schema_version: int = Field(default=1, description="Version of this record.")
    violation_id: str = Field(description="Unique id, stable across restarts.")
    rule_id: str = Field(description="Id of the rule that found it.")
    rule_type: str = Field(description="Type of that rule (`section_control`, `truck_lock`, ...).")
    plate: str = Field(description="Normalised plate concerned.")
    date_observed: AwareDatetime = Field(description="Event time of the last evidence read.")
    read_ids: tuple[tuple[str, str], ...] = Field(description="(camera, event id) of the evidence reads.")
    route: Route = Field(description="GAS sanction, prosecutor, or human review first.")
    legal_basis: str = Field(description="The rule of law broken, e.g. 'C43 50 km/h' or 'C23'.")
    facts: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="Measured facts (distance, times, speeds, margin, ...)."
    )


class Finding(Record):
    """A rule's non-urgent conclusion, kept for statistics, health figures and scoring (a paired stay, a gap
    in the cordon, ...). Nobody is alerted by a finding."""

    schema_version: int = Field(default=1, description="Version of this record.")
    finding_id: str = Field(description="Unique id, stable across restarts (derived from rule and reads).")
    rule_id: str = Field(description="Id of the rule that concluded it.")
    rule_type: str = Field(description="Type of that rule (`zone_closure`, ...).")
    kind: str = Field(description="What was concluded, e.g. `stay`, `unpaired_exit`, `unpaired_entry`.")
    plate: str = Field(description="Normalised plate concerned.")
    camera_id: str = Field(description="Camera of the read the finding is about.")
    date_observed: AwareDatetime = Field(description="Event time of that read.")
    read_ids: tuple[tuple[str, str], ...] = Field(description="(camera, event id) of the reads involved.")
    facts: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="Measured facts (stay duration, gates, ...)."
    )


class CommandAction(StrEnum):
    """What a device is told to do."""

    LOWER = "lower"
    RAISE = "raise"
    HOLD = "hold"


class Command(Record):
    """An order to a field device, published on MQTT (a bollard controller, for now)."""

    schema_version: int = Field(default=1, description="Version of this record.")
    command_id: str = Field(description="Unique id; devices ignore a command id they have executed.")
    device_id: str = Field(description="Id of the device (bollard controller) addressed.")
    device_kind: Literal["bollard"] = Field(default="bollard", description="Kind of device.")
    action: CommandAction = Field(description="What to do.")
    issued_at: AwareDatetime = Field(description="When Cordon decided it.")
    valid_until: AwareDatetime = Field(description="Devices ignore the command after this instant.")
    reason: str = Field(description="Why: permit id, emergency vehicle, manual override by whom.")
    read_id: tuple[str, str] | None = Field(default=None, description="(camera, event id) that triggered it.")


def read_sort_key(read: PlateRead) -> tuple[datetime, str, str]:
    """Event-time order, with a stable tie-break."""
    return (read.date_observed, read.observed_by, read.event_id)
