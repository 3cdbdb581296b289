"""Pure checks that turn one `ReadIn` into a `PlateRead`, or say precisely why not.

Nothing here touches the store, the network or the clock: the time of receipt is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cordon.config.zone import ZoneConfig
from cordon.errors import ErrorDetail
from cordon.ingest.formats import ReadIn
from cordon.plates import InvalidPlate, normalize_plate
from cordon.records import PLATE_READ_SCHEMA_VERSION, PlateCandidate, PlateRead
from cordon.settings import IngestSettings
from cordon.store.images import ImageRejected, StoredImage, check_image
from cordon.timeutil import isoformat_z


@dataclass(frozen=True, slots=True)
class Prepared:
    """A read that passed every check, with its image (if any) still to be written."""

    read: PlateRead
    image: bytes | None


@dataclass(frozen=True, slots=True)
class Refused:
    """Why one read was refused; `detail.code` is also the health counter's reason."""

    camera_id: str
    detail: ErrorDetail


def derived_event_id(camera_id: str, observed: datetime, plate_as_read: str) -> str:
    """A stable event id for cameras that send none, so that re-sends still de-duplicate."""
    digest = hashlib.sha256(f"{camera_id}|{isoformat_z(observed)}|{plate_as_read}".encode()).hexdigest()
    return f"h-{digest[:32]}"


def prepare_read(
    raw: ReadIn,
    *,
    key_camera: str,
    zone: ZoneConfig,
    received: datetime,
    limits: IngestSettings,
    loc: str,
) -> Prepared | Refused:
    """Check one read sent with the key of `key_camera`; `loc` names it in error messages."""
    camera_id = raw.observed_by or key_camera

    def refuse(field: str, code: str, message: str) -> Refused:
        return Refused(camera_id, ErrorDetail(f"{loc}.{field}" if field else loc, code, message))

    camera = zone.camera(camera_id)
    if camera is None:
        return refuse("observedBy", "unknown_camera", f"camera '{camera_id}' is not in the zone")
    if camera_id != key_camera:
        return refuse("observedBy", "camera_mismatch", f"the API key is not valid for camera '{camera_id}'")
    if raw.date_observed.tzinfo is None or raw.date_observed.utcoffset() is None:
        return refuse("dateObserved", "timestamp_naive", "dateObserved needs a UTC offset (e.g. 'Z')")
    observed = raw.date_observed.astimezone(UTC)  # once: the comparisons below then stay on the fast path
    if observed - received > timedelta(seconds=limits.max_future_s):
        return refuse(
            "dateObserved",
            "timestamp_future",
            f"dateObserved is more than {limits.max_future_s:g} s ahead of the server clock",
        )
    if received - observed > timedelta(seconds=limits.max_age_s):
        return refuse("dateObserved", "timestamp_past", f"dateObserved is more than {limits.max_age_s:g} s in the past")
    try:
        plate = normalize_plate(raw.license_plate)
        candidates = tuple(
            PlateCandidate(plate=normalize_plate(c.plate), confidence=c.confidence) for c in raw.candidates
        )
    except InvalidPlate as exc:
        return refuse("licensePlate", "invalid_plate", str(exc))
    if raw.lane_id is not None and camera.movement_of(raw.lane_id) is None:
        return refuse("laneId", "unknown_lane", f"camera '{camera_id}' has no lane '{raw.lane_id}'")
    if camera.kind == "mobile" and raw.location is None:
        return refuse("location", "location_required", "a mobile camera must send its GPS location")
    image: bytes | None = None
    stored: StoredImage | None = None
    if raw.image is not None:
        try:
            image = base64.b64decode(raw.image, validate=True)
            stored = check_image(image, limits.max_image_bytes)
        except binascii.Error:
            return refuse("image", "image_format", "image is not valid base64")
        except ImageRejected as exc:
            return refuse("image", exc.reason, str(exc))
    event_id = raw.event_id or derived_event_id(camera_id, observed, raw.license_plate)
    read = PlateRead(
        schema_version=PLATE_READ_SCHEMA_VERSION,
        event_id=event_id,
        observed_by=camera_id,
        date_observed=observed,
        date_received=received,
        plate_as_read=raw.license_plate,
        plate=plate,
        country=raw.country or zone.plate_mix().country_of(plate),
        confidence=raw.confidence,
        candidates=candidates,
        bbox=raw.bbox,
        lane_id=raw.lane_id,
        direction=raw.direction,
        location=raw.location,
        vehicle_type=raw.vehicle_type,
        speed=raw.speed,
        image_ref=stored.sha256 if stored is not None else None,
    )
    return Prepared(read, image)
