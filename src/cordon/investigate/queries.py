"""The consultations Cordon can run, as typed requests (one model per kind, told apart by `type`).

Each query says what it would reach (`scope`: window, cameras, the plates it is about), which is what the door
decides on, and which audit action and permission it falls under. Running it is `cordon.investigate.run`'s
business, after the door.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cordon.auth.roles import Permission
from cordon.config.zone import Camera, ZoneConfig
from cordon.errors import unprocessable
from cordon.investigate.consultation import Scope, TimeWindow
from cordon.plates import SEPARATORS, InvalidPlate, normalize_plate

MAX_LIMIT = 10_000
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Most results returned.")]


class BoundingBox(BaseModel):
    """An area as a WGS84 box: the cameras standing inside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    south: float = Field(ge=-90, le=90, description="Southern latitude.")
    west: float = Field(ge=-180, le=180, description="Western longitude.")
    north: float = Field(ge=-90, le=90, description="Northern latitude.")
    east: float = Field(ge=-180, le=180, description="Eastern longitude.")

    def holds(self, camera: Camera) -> bool:
        if camera.lat is None or camera.lon is None:
            return False
        return self.south <= camera.lat <= self.north and self.west <= camera.lon <= self.east


class _Query(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    window: TimeWindow = Field(default_factory=TimeWindow, description="Event-time window.")

    permission: ClassVar[Permission] = Permission.READS_SEARCH
    action: ClassVar[str] = "reads.search"

    def plates(self) -> tuple[str, ...] | None:
        """The plates this query is about (a plate-scoped decision can cover it), or None."""
        return None

    def cameras(self, zone: ZoneConfig) -> tuple[str, ...]:
        """Cameras named by the query; empty: every camera the door allows."""
        return ()

    def scope(self, zone: ZoneConfig) -> Scope:
        return Scope(self.window.since, self.window.until, self.cameras(zone), self.plates())


def _plate(value: str) -> str:
    try:
        return normalize_plate(value)
    except InvalidPlate as exc:
        raise ValueError(str(exc)) from None


class _PlateQuery(_Query):
    plate: str = Field(description="The plate, as typed (`1-ABC-234`); normalised before use.")

    @field_validator("plate")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return _plate(value)

    def plates(self) -> tuple[str, ...] | None:
        return (self.plate,)


class _AreaQuery(_Query):
    camera_ids: tuple[str, ...] = Field(default=(), description="Cameras of the area (or give `bbox`).")
    bbox: BoundingBox | None = Field(default=None, description="Area as a box: the cameras standing in it.")

    def cameras(self, zone: ZoneConfig) -> tuple[str, ...]:
        return self.camera_ids

    def area(self, zone: ZoneConfig) -> tuple[str, ...]:
        """The cameras standing in the box (the door leaves out those outside the consultation's purpose)."""
        if self.bbox is None:
            return ()
        inside = tuple(c.id for c in zone.cameras if self.bbox.holds(c))
        if not inside:
            raise unprocessable("empty_area", "no camera of the zone stands inside the box")
        return inside

    def scope(self, zone: ZoneConfig) -> Scope:
        return Scope(self.window.since, self.window.until, self.cameras(zone), None, self.area(zone))


class PlateSearch(_PlateQuery):
    """Every read of one plate, newest first."""

    type: Literal["plate"] = "plate"
    limit: Limit = 1000


_WILDCARD_CHARS = re.compile(r"[A-Z0-9ÄÖÜ?*]+")


def wildcard_glob(pattern: str) -> str:
    """A typed wildcard (`1-AB?-2*`: `?` one character, `*` any run, separators ignored) as a normalised GLOB
    pattern over stored plates.

    >>> wildcard_glob("1-ab?-2*")
    '1AB?2*'
    """
    folded = "".join(ch for ch in pattern.upper() if ch not in SEPARATORS)
    if not _WILDCARD_CHARS.fullmatch(folded):
        bad = next((ch for ch in folded if not _WILDCARD_CHARS.fullmatch(ch)), "")
        raise ValueError(f"wildcard {pattern!r} has a character no plate carries: {bad!r}" if bad else "empty wildcard")
    while "**" in folded:
        folded = folded.replace("**", "*")
    literals = sum(ch not in "?*" for ch in folded)
    if literals < 2:
        raise ValueError(f"wildcard {pattern!r} is too broad: give at least two known characters")
    return folded


class WildcardSearch(_Query):
    """Reads of every plate matching a partial plate (`1-AB?-2*`)."""

    type: Literal["wildcard"] = "wildcard"
    pattern: str = Field(description="`?` one unknown character, `*` any number; separators are ignored.")
    camera_ids: tuple[str, ...] = Field(default=(), description="Only these cameras.")
    limit: Limit = 1000

    @field_validator("pattern")
    @classmethod
    def _glob(cls, value: str) -> str:
        return wildcard_glob(value)

    def cameras(self, zone: ZoneConfig) -> tuple[str, ...]:
        return self.camera_ids


class FuzzySearch(_PlateQuery):
    """Reads of plates that look like this one: look-alike characters (0/O/D/Q, 1/I/L/T, 2/Z, 5/S, 6/G, 8/B)
    cost nothing, other edits one each; reads whose top-N candidates hold a match count too."""

    type: Literal["fuzzy"] = "fuzzy"
    max_distance: int = Field(default=1, ge=0, le=2, description="Edits allowed besides look-alikes.")
    limit: Limit = 1000

    def plates(self) -> tuple[str, ...] | None:
        return None  # it reaches other plates than the one typed: a case decision is needed for old reads


class AreaSearch(_AreaQuery):
    """Reads at some cameras (a list, or those in a box) within a window, newest first."""

    type: Literal["area"] = "area"
    limit: Limit = 1000

    @model_validator(mode="after")
    def _needs_area(self) -> AreaSearch:
        if not self.camera_ids and self.bbox is None:
            raise ValueError("name the area: camera_ids or bbox")
        return self


class Timeline(_PlateQuery):
    """Where a vehicle was seen, oldest first, with its entries into and exits from the zone and its stays."""

    type: Literal["timeline"] = "timeline"
    permission: ClassVar[Permission] = Permission.PATTERNS_RUN
    action: ClassVar[str] = "patterns.run"


class Presence(_AreaQuery):
    """Vehicles present in an area for a whole window: entered (an entry lane of the area's cameras) before
    `window.since`, within `entered_within_minutes`, and not left before `window.until`."""

    type: Literal["presence"] = "presence"
    entered_within_minutes: float = Field(default=120, gt=0, le=7 * 24 * 60, description="Look-back for entries.")
    permission: ClassVar[Permission] = Permission.PATTERNS_RUN
    action: ClassVar[str] = "patterns.run"

    @model_validator(mode="after")
    def _needs_window(self) -> Presence:
        if self.window.since is None or self.window.until is None:
            raise ValueError("presence needs window.since and window.until")
        return self

    def scope(self, zone: ZoneConfig) -> Scope:
        assert self.window.since is not None
        since = self.window.since - timedelta(minutes=self.entered_within_minutes)
        return Scope(since, self.window.until, self.cameras(zone), None, self.area(zone))


class Convoy(_PlateQuery):
    """Plates seen within `max_gap_s` of a plate's reads at ≥ `min_cameras` distinct cameras, ranked."""

    type: Literal["convoy"] = "convoy"
    max_gap_s: float = Field(default=8, gt=0, le=600, description="Two reads this close are 'together', s.")
    min_cameras: int = Field(default=3, ge=1, le=100, description="Distinct cameras seen together (m).")
    limit: Limit = 50
    permission: ClassVar[Permission] = Permission.PATTERNS_RUN
    action: ClassVar[str] = "patterns.run"


class ShortVisits(_Query):
    """Vehicles entering and leaving the zone within `max_minutes` on ≥ `min_days` distinct days within
    `within_days` days: a lead for an investigator, never a sanction."""

    type: Literal["short_visits"] = "short_visits"
    max_minutes: float = Field(default=20, gt=0, le=24 * 60, description="A stay this short is a short visit.")
    min_days: int = Field(default=3, ge=1, le=366, description="Distinct days with a short visit (k).")
    within_days: int = Field(default=7, ge=1, le=366, description="Window the k days fall in (D).")
    same_gate: bool = Field(default=True, description="Count only visits that leave by the gate they came in.")
    limit: Limit = 1000
    permission: ClassVar[Permission] = Permission.PATTERNS_RUN
    action: ClassVar[str] = "patterns.run"


class Export(_Query):
    """Evidence: the reads of a plate (or given read ids) with their images, a report and a manifest (ZIP)."""

    type: Literal["export"] = "export"
    plate: str | None = Field(default=None, description="Export this plate's reads within the window.")
    read_ids: tuple[int, ...] = Field(default=(), max_length=MAX_LIMIT, description="Or these reads.")
    permission: ClassVar[Permission] = Permission.EVIDENCE_EXPORT
    action: ClassVar[str] = "evidence.export"

    @field_validator("plate")
    @classmethod
    def _normalise(cls, value: str | None) -> str | None:
        return _plate(value) if value is not None else None

    @model_validator(mode="after")
    def _needs_subject(self) -> Export:
        if (self.plate is None) == (not self.read_ids):
            raise ValueError("export needs either a plate or read_ids")
        return self

    def plates(self) -> tuple[str, ...] | None:
        return (self.plate,) if self.plate is not None else None


Query = Annotated[
    PlateSearch | WildcardSearch | FuzzySearch | AreaSearch | Timeline | Presence | Convoy | ShortVisits | Export,
    Field(discriminator="type"),
]
SearchQuery = Annotated[PlateSearch | WildcardSearch | FuzzySearch | AreaSearch, Field(discriminator="type")]
PatternQuery = Annotated[Timeline | Presence | Convoy | ShortVisits, Field(discriminator="type")]
