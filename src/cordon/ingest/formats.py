"""Adapters from what cameras send to `ReadIn`, the one input shape the rest of ingest knows.

Three shapes are understood: Cordon's own JSON (`ReadIn`), the FIWARE `AnprFlowObserved` entity (key-values
or normalized NGSI), and flat CSV rows with the same column names as Cordon's JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from cordon.records import BoundingBox, Direction, GeoPoint, VehicleType

FIWARE_TYPE = "AnprFlowObserved"


class CandidateIn(BaseModel):
    """An alternative reading sent by the camera."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    plate: str = Field(min_length=1, max_length=32, description="Plate text of the candidate.")
    confidence: float = Field(ge=0, le=1, description="Confidence, 0 to 1.")


class ReadIn(BaseModel):
    """One read as a camera posts it in Cordon's own JSON (camelCase, FIWARE names where they exist)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "observedBy": "cam-n445-north",
                    "eventId": "2026-11-27T08:15:02.120Z-0001",
                    "dateObserved": "2026-11-27T08:15:02.120Z",
                    "licensePlate": "1-ABC-234",
                    "country": "BE",
                    "confidence": 0.97,
                    "laneId": "1",
                    "direction": "towards",
                    "vehicleType": "car",
                }
            ]
        },
    )

    observed_by: str | None = Field(
        default=None, max_length=64, description="Camera id; defaults to the camera of the API key."
    )
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Camera's own event id; re-sending the same id is acknowledged, not stored twice. "
        "When absent, an id is derived from camera, time and plate.",
    )
    date_observed: datetime = Field(description="Event time with a UTC offset, ISO 8601.")
    license_plate: str = Field(min_length=1, max_length=32, description="Plate as read, separators allowed.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="Reader confidence, 0 to 1.")
    candidates: Annotated[list[CandidateIn], Field(max_length=10)] = Field(
        default_factory=list, description="Top-N alternative readings, best first."
    )
    bbox: BoundingBox | None = Field(default=None, description="Plate box in the image, pixels.")
    lane_id: str | None = Field(default=None, max_length=16, description="Lane id as configured.")
    direction: Direction | None = Field(default=None, description="`towards` or `away` from the camera.")
    location: GeoPoint | None = Field(default=None, description="GPS position (mobile cameras).")
    vehicle_type: VehicleType | None = Field(default=None, description="Vehicle class, if known.")
    speed: float | None = Field(default=None, ge=0, le=400, description="Spot speed, km/h.")
    image: str | None = Field(default=None, description="Plate image, base64 (JPEG, PNG or WebP).")


class AdapterError(ValueError):
    """A payload in a known shape that cannot become a read; the message says why."""


def is_fiware(item: Any) -> bool:
    """Whether a JSON object is a FIWARE `AnprFlowObserved` entity."""
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    return kind == FIWARE_TYPE or (isinstance(kind, str) and kind.endswith(f"/{FIWARE_TYPE}"))


def _plain(value: Any) -> Any:
    """Unwrap NGSI normalized attributes (`{"type": ..., "value": ...}`) to their value, recursively."""
    if isinstance(value, dict):
        if "value" in value and set(value) <= {"type", "value", "metadata", "observedAt", "unitCode"}:
            return _plain(value["value"])
        if "object" in value and value.get("type") == "Relationship":
            return value["object"]
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def _last_segment(identifier: str) -> str:
    """`urn:ngsi-ld:Device:cam-1` -> `cam-1`; plain ids are kept."""
    return identifier.rsplit(":", 1)[-1] if identifier.startswith("urn:") else identifier


def fiware_to_read(entity: dict[str, Any]) -> dict[str, Any]:
    """A FIWARE `AnprFlowObserved` entity as Cordon JSON (still to be validated as `ReadIn`)."""
    plain = {key: _plain(value) for key, value in entity.items() if key != "@context"}
    if plain.get("vehiclePlateNotRead") is True:
        raise AdapterError("the entity says the plate was not read (vehiclePlateNotRead)")
    vehicle = plain.get("observedVehicle") or {}
    if not isinstance(vehicle, dict):
        raise AdapterError("observedVehicle must be an object")
    plate = vehicle.get("licensePlate") or {}
    if not isinstance(plate, dict) or not plate.get("identifier"):
        raise AdapterError("observedVehicle.licensePlate.identifier is required")
    out: dict[str, Any] = {
        "eventId": str(plain["id"])[-128:] if plain.get("id") else None,
        "dateObserved": plain.get("dateObserved"),
        "licensePlate": plate.get("identifier"),
    }
    if isinstance(plain.get("observedBy"), str):
        out["observedBy"] = _last_segment(plain["observedBy"])
    optional = {
        "confidence": plate.get("confidence"),
        "laneId": str(plain["laneId"]) if plain.get("laneId") is not None else None,
        "direction": vehicle.get("direction"),
        "speed": vehicle.get("speed"),
        "vehicleType": plain.get("vehicleType"),
    }
    country = vehicle.get("country")
    if isinstance(country, dict) and country.get("code"):
        optional["country"] = str(country["code"]).upper()
    location = plain.get("location")
    if isinstance(location, dict) and location.get("type") == "Point":
        coordinates = location.get("coordinates") or []
        if len(coordinates) >= 2:
            optional["location"] = {"lon": coordinates[0], "lat": coordinates[1]}
    out.update({key: value for key, value in optional.items() if value is not None})
    return {key: value for key, value in out.items() if value is not None}


def read_to_fiware(read_json: dict[str, Any], zone_id: str) -> dict[str, Any]:
    """A stored read (as `PlateRead.to_json_dict()`) as a FIWARE `AnprFlowObserved` entity (key-values)."""
    vehicle: dict[str, Any] = {
        "licensePlate": {"identifier": read_json["licensePlate"], "confidence": read_json.get("confidence")},
    }
    if "direction" in read_json:
        vehicle["direction"] = read_json["direction"]
    if "speed" in read_json:
        vehicle["speed"] = read_json["speed"]
    if "country" in read_json:
        vehicle["country"] = {"code": read_json["country"]}
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:{FIWARE_TYPE}:{read_json['observedBy']}:{read_json['eventId']}",
        "type": FIWARE_TYPE,
        "dateObserved": read_json["dateObserved"],
        "dateReceived": read_json["dateReceived"],
        "observedBy": f"urn:ngsi-ld:Device:{read_json['observedBy']}",
        "zonesServed": [zone_id],
        "observedVehicle": vehicle,
    }
    if "laneId" in read_json:
        entity["laneId"] = read_json["laneId"]
    if "location" in read_json:
        location = read_json["location"]
        entity["location"] = {"type": "Point", "coordinates": [location["lon"], location["lat"]]}
    return entity


_CSV_NUMBERS = {"confidence", "speed"}


def csv_row_to_read(row: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row (header names as Cordon JSON, camelCase or snake_case; `lat`/`lon` columns) as JSON."""
    out: dict[str, Any] = {}
    lat = lon = None
    for raw_key, raw_value in row.items():
        if raw_key is None:
            raise AdapterError("the row has more fields than the header")
        key = to_camel(raw_key.strip())
        value = (raw_value or "").strip()
        if value == "":
            continue
        if key in ("lat", "lon"):
            try:
                number = float(value)
            except ValueError:
                raise AdapterError(f"{key} is not a number: {value!r}") from None
            lat, lon = (number, lon) if key == "lat" else (lat, number)
        elif key in _CSV_NUMBERS:
            try:
                out[key] = float(value)
            except ValueError:
                raise AdapterError(f"{key} is not a number: {value!r}") from None
        else:
            out[key] = value
    if lat is not None or lon is not None:
        out["location"] = {"lat": lat, "lon": lon}
    return out
