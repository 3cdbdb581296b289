"""Recognitions as the rest of Cordon knows reads: the command's JSON line, ingest's `ReadIn`, `PlateRead`."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from cordon.ingest.formats import CandidateIn, ReadIn
from cordon.plates import display_plate
from cordon.recognize.stages import Box, Recognition
from cordon.records import BoundingBox, GeoPoint, PlateCandidate, PlateRead

MAX_CANDIDATES = 10
"""Ingest takes at most ten candidates per read."""


def bbox_list(box: Box | None) -> list[int] | None:
    return None if box is None else [box.x, box.y, box.w, box.h]


def recognition_json(recognition: Recognition, image: str) -> dict[str, Any]:
    """One line of `cordon recognize`: image, plate, confidence, bbox [x, y, w, h], country, candidates."""
    best = recognition.best
    return {
        "image": image,
        "plate": best.plate,
        "confidence": best.confidence,
        "bbox": bbox_list(recognition.box),
        "country": best.country,
        "candidates": [{"plate": c.plate, "confidence": c.confidence} for c in recognition.candidates],
    }


def event_id_for(camera_id: str, first_seen: datetime, track: int) -> str:
    """A stable id for one passage: a resend after a crash carries the same id, so ingest stores it once."""
    digest = hashlib.sha256(f"{camera_id}|{first_seen.isoformat()}|{track}".encode()).hexdigest()[:20]
    return f"{first_seen.strftime('%Y%m%dT%H%M%S.%f')[:-3]}Z-{digest}"


def jpeg_base64(crop: npt.NDArray[np.uint8], quality: int = 90) -> str:
    """An RGB crop as base64 JPEG (the `image` field of a read)."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("cannot encode the plate image")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def to_read_in(
    recognition: Recognition,
    observed_by: str,
    date_observed: datetime,
    event_id: str,
    *,
    lane_id: str | None = None,
    location: GeoPoint | None = None,
    image_b64: str | None = None,
) -> ReadIn:
    """A recognition as a camera posts it to `POST /api/v1/reads`."""
    best = recognition.best
    return ReadIn(
        observed_by=observed_by,
        event_id=event_id,
        date_observed=date_observed,
        license_plate=display_plate(best.plate, best.country),
        country=best.country,
        confidence=best.confidence,
        candidates=[
            CandidateIn(plate=c.plate, confidence=c.confidence) for c in recognition.candidates[:MAX_CANDIDATES]
        ],
        bbox=_bbox(recognition.box),
        lane_id=lane_id,
        location=location,
        image=image_b64,
    )


def to_plate_read(
    recognition: Recognition, observed_by: str, date_observed: datetime, date_received: datetime, event_id: str
) -> PlateRead:
    """A recognition as the shared `PlateRead` record (for in-process use, without HTTP)."""
    best = recognition.best
    return PlateRead(
        event_id=event_id,
        observed_by=observed_by,
        date_observed=date_observed,
        date_received=date_received,
        plate_as_read=display_plate(best.plate, best.country),
        plate=best.plate,
        country=best.country,
        confidence=best.confidence,
        candidates=tuple(PlateCandidate(plate=c.plate, confidence=c.confidence) for c in recognition.candidates),
        bbox=_bbox(recognition.box),
    )


def _bbox(box: Box | None) -> BoundingBox | None:
    return None if box is None else BoundingBox(x=box.x, y=box.y, w=box.w, h=box.h)
