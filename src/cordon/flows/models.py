"""What the figures return: typed, frozen results, the same for the API, the CLI, the exports and the charts.

No result type has a field that could hold a plate or a token: the flows pipeline has nothing to put there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Granularity = Literal["15min", "hour", "day"]
COUNT_DIMENSIONS = ("camera", "lane", "direction", "vehicle_class")


class FlowOut(BaseModel):
    """Base of every result: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(FlowOut):
    """Whole local days, both included, and the k the figures were suppressed with."""

    first_day: str = Field(description="First local day (ISO).")
    last_day: str = Field(description="Last local day (ISO), included.")
    k: int = Field(description="Cells resting on fewer passages or trips are suppressed.")


class CountRow(FlowOut):
    """Passages in one time bin, by the requested dimensions (a dimension not asked for is null)."""

    start: datetime = Field(description="Start of the bin, local time with its UTC offset.")
    camera: str | None = Field(default=None, description="Camera id.")
    lane: str | None = Field(default=None, description="Lane id ('' when the camera gave none).")
    direction: str | None = Field(default=None, description="`towards`, `away` or ''.")
    vehicle_class: str | None = Field(default=None, description="FIWARE vehicleType or '' (unknown).")
    count: int | None = Field(description="Passages; null when suppressed.")
    suppressed: bool = Field(description="Fewer than k passages here (or hidden to protect such a cell).")


class CountsOut(FlowOut):
    """Counts per time bin."""

    figure: Literal["counts"] = "counts"
    period: Period
    granularity: Granularity
    by: list[str] = Field(description="Dimensions the counts are split by.")
    rows: list[CountRow]
    suppressed: int = Field(description="Rows suppressed.")


class ProfilePoint(FlowOut):
    """Mean passages in one local hour of one kind of day."""

    day_type: str = Field(description="`weekday`, `saturday`, `sunday` (daily) or the ISO weekday 1-7 (weekly).")
    hour: int = Field(ge=0, le=23, description="Local hour.")
    mean: float = Field(description="Mean passages per day of that type in that hour (published cells only).")
    days: int = Field(description="Days of that type in the period.")
    suppressed: int = Field(description="Day-hour cells left out because they were suppressed.")


class ProfileOut(FlowOut):
    """A daily profile (by weekday / Saturday / Sunday) or a weekly one (by ISO weekday)."""

    figure: Literal["profile"] = "profile"
    period: Period
    kind: Literal["daily", "weekly"]
    camera: str | None = Field(description="One camera, or null for every camera of the pipeline.")
    points: list[ProfilePoint]


class ODCell(FlowOut):
    """Trips from an origin to a destination over the period."""

    origin: str
    destination: str
    trips: int | None = Field(description="Sum of the published day cells; null when none was publishable.")
    suppressed_days: int = Field(description="Days whose cell was suppressed (left out of the sum).")


class ODOut(FlowOut):
    """An origin-destination matrix between the zone's gates, or between chosen cameras."""

    figure: Literal["od"] = "od"
    period: Period
    kind: Literal["gates", "cameras"]
    places: list[str] = Field(description="Origins and destinations (gate or camera ids).")
    cells: list[ODCell]


class TrendPoint(FlowOut):
    """Travel time on one day."""

    day: str
    trips: int
    median_s: float
    p85_s: float


class TravelTimeRow(FlowOut):
    """Travel time on a section or between two gates (through trips), over the period, with its trend."""

    kind: Literal["section", "gate"]
    origin: str = Field(description="Section id, or entry gate.")
    destination: str = Field(description="Section id, or exit gate.")
    trips: int = Field(description="Trips in the published days.")
    median_s: float | None
    p85_s: float | None
    suppressed_days: int
    trend: list[TrendPoint] = Field(description="Per published day.")
    slope_s_per_day: float | None = Field(description="Least-squares trend of the daily median, s per day.")


class TravelTimesOut(FlowOut):
    figure: Literal["travel_times"] = "travel_times"
    period: Period
    through_minutes: float = Field(description="Gate-pair travel times use trips at most this long.")
    rows: list[TravelTimeRow]


class ThroughRow(FlowOut):
    """Share of an entry gate → exit gate pair's trips that went in and out within N minutes."""

    origin: str
    destination: str
    trips: int | None
    through: int | None
    share: float | None = Field(description="through / trips, 0 to 1.")
    suppressed_days: int


class ThroughOut(FlowOut):
    figure: Literal["through"] = "through"
    period: Period
    minutes: float
    rows: list[ThroughRow]
    trips: int = Field(description="All gate trips of the published days.")
    through: int
    share: float | None


class HeavyRow(FlowOut):
    """Heavy vehicles (lorry, bus) among passages of a known class at one camera."""

    camera: str
    heavy: int | None
    known: int | None
    share: float | None
    suppressed_days: int


class HeavyOut(FlowOut):
    figure: Literal["heavy_share"] = "heavy_share"
    period: Period
    rows: list[HeavyRow]


Figure = CountsOut | ProfileOut | ODOut | TravelTimesOut | ThroughOut | HeavyOut
