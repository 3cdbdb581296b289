"""The camera's imperfection: missed passages, misread plates, honest confidences, clocks that drift, late delivery.

`Cameras.read` turns one true passage into what the camera posts (Cordon JSON, `ReadIn` field names) and when it
arrives, or None when the camera missed it. A misread substitutes a look-alike character (the classes of
`cordon.plates`), drops one or adds one; its confidence is lower, and its candidates usually hold the truth.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cordon.ingest.formats import ReadIn
from cordon.plates import LOOKALIKE_CLASSES, is_valid_plate_text, normalize_plate
from cordon.sim.calendar import DAY, from_ms, iso_ms
from cordon.sim.fleet import Vehicle
from cordon.sim.roads import RoadModel
from cordon.sim.settings import NoiseSettings
from cordon.sim.truth import CameraTruth

_CLASS_OF = {ch: tuple(sorted(cls - {ch})) for cls in LOOKALIKE_CLASSES for ch in cls}
# Confusions of characters without a look-alike class of their own (an OCR still confuses them).
_SIMILAR = dict(zip("A4EFHNKXMVYUCPR739W", "4AFENHXKNYVVGRP180V", strict=True))
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_OTHER_TYPE = {"car": "van", "van": "car", "lorry": "bus", "bus": "lorry", "motorcycle": "car"}
_DIRECTION = {"entry": "towards", "exit": "away", "internal": "towards"}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One read as the camera posts it (`read`: Cordon JSON with `ReadIn` names) and when it reaches Cordon."""

    deliver_at_ms: int
    read: dict[str, Any]
    plate: str  # the plate as read, normalised (differs from the vehicle's plate on a misread)

    @property
    def deliver_at(self) -> datetime:
        return from_ms(self.deliver_at_ms)

    def to_read_in(self) -> ReadIn:
        """The read, validated as ingest validates it."""
        return ReadIn.model_validate(self.read)


@dataclass(slots=True)
class Sensor:
    """One camera's quality and clock."""

    camera: str
    capture_rate: float
    misread_rate: float
    offset_ms: float
    drift_ms_per_day: float
    count: int = 0


class Cameras:
    """Every camera of the zone with its imperfections."""

    def __init__(self, road: RoadModel, noise: NoiseSettings, rng: random.Random, start_ms: int, end_ms: int) -> None:
        self.road = road
        self.noise = noise
        self.rng = rng
        self.start_ms, self.end_ms = start_ms, end_ms
        self.sensors: list[Sensor] = []
        for camera in road.cameras:
            override = noise.cameras.get(camera.id)
            offset = rng.gauss(0.0, noise.clock_offset_sd_s) if noise.clock_offset_sd_s > 0 else 0.0
            if noise.clock_fault_rate > 0 and rng.random() < noise.clock_fault_rate:
                offset = noise.clock_fault_offset_s * rng.choice((-1.0, 1.0))
            drift = rng.gauss(0.0, noise.clock_drift_sd_s_per_day) if noise.clock_drift_sd_s_per_day > 0 else 0.0
            capture, misread = noise.capture_rate, noise.misread_rate
            if override is not None:
                offset = override.clock_offset_s if override.clock_offset_s is not None else offset
                drift = override.clock_drift_s_per_day if override.clock_drift_s_per_day is not None else drift
                capture = override.capture_rate if override.capture_rate is not None else capture
                misread = override.misread_rate if override.misread_rate is not None else misread
            self.sensors.append(Sensor(camera.id, capture, misread, offset * 1000, drift * 1000))
        self._movement = {(i, lane.id): lane.movement.value for i, c in enumerate(road.cameras) for lane in c.lanes}
        self._late = noise.late_rate
        self._latency_mu = math.log(noise.latency_median_s * 1000) if noise.latency_median_s > 0 else None

    def truth(self) -> list[CameraTruth]:
        """The true quality and clock of every camera."""
        days = (self.end_ms - self.start_ms) / DAY
        out = []
        for sensor, camera in zip(self.sensors, self.road.cameras, strict=True):
            offset, drift = sensor.offset_ms / 1000, sensor.drift_ms_per_day / 1000
            worst = max(abs(offset), abs(offset + drift * days))
            tolerance = camera.clock_tolerance_s
            out.append(
                CameraTruth(
                    camera.id,
                    sensor.capture_rate,
                    sensor.misread_rate,
                    round(offset, 4),
                    round(drift, 4),
                    tolerance,
                    worst <= tolerance,
                )
            )
        return out

    def clock_offset_ms(self, camera: int, at: int) -> float:
        """How far the camera's clock is ahead of the true time at an instant, ms."""
        sensor = self.sensors[camera]
        return sensor.offset_ms + sensor.drift_ms_per_day * (at - self.start_ms) / DAY

    def read(self, at: int, vehicle: Vehicle, camera: int, lane: str, spot: int) -> Delivery | None:
        """What the camera posts for a true passage, or None when it missed the vehicle."""
        rng, noise = self.rng, self.noise
        sensor = self.sensors[camera]
        if sensor.capture_rate < 1.0 and rng.random() >= sensor.capture_rate:
            return None
        sensor.count += 1
        observed = at + round(self.clock_offset_ms(camera, at))
        truth = vehicle.plate
        text, plate, confidence = truth.display, truth.plate, 0.999 - rng.random() ** 3 * 0.25
        misread_rate = sensor.misread_rate * (noise.foreign_misread_factor if truth.country != "BE" else 1.0)
        if misread_rate > 0 and rng.random() < misread_rate:
            wrong = self._misread(truth.display, truth.plate)
            if wrong is not None:
                text, plate = wrong
                confidence = 0.45 + rng.random() * 0.4
        read: dict[str, Any] = {
            "observedBy": sensor.camera,
            "eventId": f"{sensor.camera}-{sensor.count:08d}",
            "dateObserved": iso_ms(observed),
            "licensePlate": text,
        }
        if noise.country_rate >= 1.0 or rng.random() < noise.country_rate:
            read["country"] = truth.country
        read["confidence"] = round(confidence, 3)
        if noise.candidates > 0 and confidence < 0.95:
            read["candidates"] = self._candidates(plate, truth.plate, read["confidence"])
        read["laneId"] = lane
        read["direction"] = _DIRECTION[self._movement[(camera, lane)]]
        if noise.vehicle_type_rate >= 1.0 or rng.random() < noise.vehicle_type_rate:
            kind = vehicle.vehicle_type
            if noise.vehicle_type_error_rate > 0 and rng.random() < noise.vehicle_type_error_rate:
                kind = _OTHER_TYPE[kind]
            read["vehicleType"] = kind
        if spot >= 0:
            read["location"] = self._location(spot)
        return Delivery(at + self._delay(), read, plate)

    def _delay(self) -> int:
        rng = self.rng
        delay = math.exp(rng.gauss(self._latency_mu, self.noise.latency_sigma)) if self._latency_mu is not None else 0.0
        if self._late > 0 and rng.random() < self._late:
            delay += rng.expovariate(1.0 / (self.noise.late_mean_s * 1000)) if self.noise.late_mean_s > 0 else 0.0
        longest = self.noise.late_max_s * 1000
        return int(delay if delay < longest else longest)

    def _location(self, spot: int) -> dict[str, float]:
        x, y = self.road.spots[spot]
        error = self.noise.gps_error_m
        if error > 0:
            x, y = x + self.rng.gauss(0, error), y + self.rng.gauss(0, error)
        lat, lon = self.road.latlon(x, y)
        return {"lat": round(lat, 6), "lon": round(lon, 6)}

    # -- misreads -------------------------------------------------------------------------------------------

    def _misread(self, display: str, true_plate: str) -> tuple[str, str] | None:
        """A wrong reading of a plate (as printed, and normalised), or None if none could be made."""
        noise, rng = self.noise, self.rng
        weights = (noise.lookalike_weight, noise.drop_weight, noise.extra_weight)
        for _ in range(4):
            kind = rng.choices(("lookalike", "drop", "extra"), weights)[0]
            if kind == "lookalike":
                text = substitute(rng, display)
            elif kind == "drop":
                text = drop_character(rng, display)
            else:
                text = extra_character(rng, display)
            if text is not None and is_valid_plate_text(text):
                plate = normalize_plate(text)
                if plate != true_plate:
                    return text, plate
        return None

    def _candidates(self, read_plate: str, true_plate: str, confidence: float) -> list[dict[str, Any]]:
        """Top-N, best first: the reading itself, the truth (usually) when misread, look-alike variants."""
        rng, wanted = self.rng, self.noise.candidates
        found = [read_plate]
        if read_plate != true_plate and rng.random() < self.noise.truth_in_candidates_rate:
            found.append(true_plate)
        if len(found) < wanted:
            positions = [i for i, ch in enumerate(read_plate) if ch in _CLASS_OF]
            while positions and len(found) < wanted:
                i = positions.pop(int(rng.random() * len(positions)))
                variant = read_plate[:i] + rng.choice(_CLASS_OF[read_plate[i]]) + read_plate[i + 1 :]
                if variant not in found:
                    found.append(variant)
        out, level = [], confidence
        for plate in found[:wanted]:
            out.append({"plate": plate, "confidence": round(level, 3)})
            level *= rng.uniform(0.3, 0.8)
        return out


def substitute(rng: random.Random, text: str) -> str | None:
    """Replace one character by a look-alike (or, failing that, a similar-looking character)."""
    positions = [i for i, ch in enumerate(text) if ch in _CLASS_OF]
    if positions:
        i = rng.choice(positions)
        return text[:i] + rng.choice(_CLASS_OF[text[i]]) + text[i + 1 :]
    positions = [i for i, ch in enumerate(text) if ch in _SIMILAR]
    if not positions:
        return None
    i = rng.choice(positions)
    return text[:i] + _SIMILAR[text[i]] + text[i + 1 :]


def drop_character(rng: random.Random, text: str) -> str | None:
    """Leave one character out (a dirty plate, a bolt over a character)."""
    positions = [i for i, ch in enumerate(text) if ch in _ALNUM]
    if len(positions) <= 2:
        return None
    i = rng.choice(positions)
    return text[:i] + text[i + 1 :]


def extra_character(rng: random.Random, text: str) -> str | None:
    """Read one character too many (a sticker, a screw, a doubled glyph)."""
    positions = [i for i, ch in enumerate(text) if ch in _ALNUM]
    if not positions or len(positions) >= 10:
        return None
    i = rng.choice(positions)
    extra = text[i] if rng.random() < 0.5 else rng.choice("1I7")
    return text[:i] + extra + text[i:]
