"""What a simulation run is told: the period, the scale, the traffic mix, the actors and the camera's noise.

Strict pydantic models (`extra="forbid"`, every field described), like the zone file. `NoiseSettings` can be
loaded from a YAML file (`cordon sim generate --noise FILE.yaml`); `NoiseSettings.off()` gives the exact truth.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from cordon.errors import CordonError

Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraNoise(_Strict):
    """Per-camera overrides of the noise model (a dirty lens, a camera whose clock is known to be wrong)."""

    capture_rate: Share | None = Field(default=None, description="Share of passages the camera reads at all.")
    misread_rate: Share | None = Field(default=None, description="Share of reads with a wrong plate text.")
    clock_offset_s: float | None = Field(
        default=None, ge=-3600, le=3600, description="Clock offset at the start of the period, seconds."
    )
    clock_drift_s_per_day: float | None = Field(
        default=None, ge=-60, le=60, description="Clock drift, seconds gained per day."
    )


class NoiseSettings(_Strict):
    """The camera's imperfection: what it misses, misreads, mistimes and delivers late."""

    capture_rate: Share = Field(default=0.97, description="Share of passages read at all (per camera, default).")
    misread_rate: Share = Field(default=0.03, description="Share of reads whose plate text is wrong.")
    lookalike_weight: float = Field(default=0.7, ge=0, description="Weight of look-alike substitutions.")
    drop_weight: float = Field(default=0.15, ge=0, description="Weight of a dropped character.")
    extra_weight: float = Field(default=0.15, ge=0, description="Weight of an extra character.")
    foreign_misread_factor: float = Field(
        default=1.5, ge=0, le=5, description="Misread rate multiplier for foreign plates (unfamiliar fonts)."
    )
    candidates: int = Field(default=3, ge=0, le=10, description="Top-N candidates sent with a read (0: none).")
    truth_in_candidates_rate: Share = Field(
        default=0.9, description="Share of misreads whose candidates include the true plate."
    )
    country_rate: Share = Field(default=0.9, description="Share of reads that report the plate's country.")
    vehicle_type_rate: Share = Field(default=0.95, description="Share of reads that report a vehicle class.")
    vehicle_type_error_rate: Share = Field(default=0.03, description="Share of reported classes that are wrong.")
    clock_offset_sd_s: float = Field(default=0.15, ge=0, le=60, description="Spread of camera clock offsets, s.")
    clock_drift_sd_s_per_day: float = Field(
        default=0.05, ge=0, le=60, description="Spread of camera clock drift, seconds per day."
    )
    clock_fault_rate: Share = Field(
        default=0.05, description="Share of cameras whose clock is off by `clock_fault_offset_s` (out of sync)."
    )
    clock_fault_offset_s: float = Field(default=4.0, ge=0, le=3600, description="Offset of a faulty clock, s.")
    latency_median_s: float = Field(default=0.3, ge=0, le=60, description="Median network delivery delay, s.")
    latency_sigma: float = Field(default=0.6, ge=0, le=3, description="Log-normal spread of the delivery delay.")
    late_rate: Share = Field(default=0.02, description="Share of reads delivered late (a camera's backlog).")
    late_mean_s: float = Field(default=900.0, ge=0, le=86_400, description="Mean extra delay of a late read, s.")
    late_max_s: float = Field(default=6 * 3600.0, ge=0, le=7 * 86_400, description="Longest delivery delay, s.")
    gps_error_m: float = Field(default=8.0, ge=0, le=1000, description="GPS error of the mobile camera, metres.")
    cameras: dict[str, CameraNoise] = Field(default_factory=dict, description="Overrides by camera id.")

    @model_validator(mode="after")
    def _kinds(self) -> Self:
        if self.misread_rate > 0 and self.lookalike_weight + self.drop_weight + self.extra_weight <= 0:
            raise ValueError("misreads need a positive lookalike, drop or extra weight")
        return self

    @classmethod
    def off(cls) -> NoiseSettings:
        """No noise at all: every passage read, exactly, on time, by a perfect clock."""
        return cls(
            capture_rate=1.0,
            misread_rate=0.0,
            candidates=0,
            country_rate=1.0,
            vehicle_type_rate=1.0,
            vehicle_type_error_rate=0.0,
            clock_offset_sd_s=0.0,
            clock_drift_sd_s_per_day=0.0,
            clock_fault_rate=0.0,
            latency_median_s=0.0,
            late_rate=0.0,
            gps_error_m=0.0,
        )

    @property
    def is_off(self) -> bool:
        """Whether reads are the exact truth (the plate, camera, lane and time of every passage)."""
        exact = (
            self.capture_rate == 1.0
            and self.misread_rate == 0.0
            and self.clock_offset_sd_s == 0.0
            and self.clock_drift_sd_s_per_day == 0.0
            and self.clock_fault_rate == 0.0
        )
        overrides_exact = all(
            override.capture_rate in (None, 1.0)
            and override.misread_rate in (None, 0.0)
            and override.clock_offset_s in (None, 0.0)
            and override.clock_drift_s_per_day in (None, 0.0)
            for override in self.cameras.values()
        )
        return exact and overrides_exact


def load_noise(spec: str) -> NoiseSettings:
    """`off`, `default`, or a YAML file of `NoiseSettings` fields (missing ones keep their defaults)."""
    if spec == "off":
        return NoiseSettings.off()
    if spec == "default":
        return NoiseSettings()
    path = Path(spec)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise CordonError("noise_file", f"cannot read noise settings {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CordonError("noise_file", f"{path}: not valid YAML: {exc}") from None
    try:
        return NoiseSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in exc.errors())
        raise CordonError("noise_file", f"{path}: {problems}") from None


class TrafficMix(_Strict):
    """How the vehicles entering the cordon on a weekday divide, as shares of `vehicles_per_day`."""

    through: Share = Field(default=0.42, description="Through traffic: in at one gate, out at another.")
    visitors: Share = Field(default=0.22, description="Visits: shoppers, clients, deliveries by van.")
    commuters_in: Share = Field(default=0.10, description="People who work in the town and live outside.")
    residents: Share = Field(default=0.22, description="Residents coming home (commute, errands).")
    trucks: Share = Field(default=0.025, description="Heavy goods vehicles (> 3.5 t).")
    saturday_factor: float = Field(default=0.8, ge=0, le=2, description="Saturday volume / weekday volume.")
    sunday_factor: float = Field(default=0.6, ge=0, le=2, description="Sunday volume / weekday volume.")
    lead_foot_rate: Share = Field(default=0.02, description="Share of drivers who speed on every section.")
    margin_rate: Share = Field(
        default=0.015, description="Share of section drives a few km/h above the limit (around the margin)."
    )


class PatternSettings(_Strict):
    """The parameters of the judicial patterns the truth reports (the analyses must use the same ones)."""

    short_visit_max_minutes: float = Field(default=20, gt=0, description="A stay this short is a short visit.")
    short_visit_min_days: int = Field(default=3, ge=1, description="Distinct days with a short visit (k).")
    short_visit_window_days: int = Field(default=7, ge=1, description="Window the k days fall in (D).")
    short_visit_same_gate: bool = Field(
        default=True,
        description="Count only visits that leave by the gate they came in: through traffic also crosses the "
        "town in minutes every day, a home delivery goes in and out the same way.",
    )
    convoy_max_gap_s: float = Field(default=8, gt=0, le=120, description="Two reads this close are 'together'.")
    convoy_min_cameras: int = Field(default=3, ge=2, description="Distinct cameras seen together in a day (m).")
    convoy_min_days: int = Field(
        default=2, ge=1, description="Days with such a meeting: in dense traffic, cars follow each other once."
    )


class ActorSettings(_Strict):
    """The special actors whose behaviour the rules and analyses must find (independent of the scale)."""

    dealers: int = Field(default=1, ge=0, le=20, description="Home-delivering dealers (short visits).")
    convoys: int = Field(default=1, ge=0, le=20, description="Convoy pairs.")
    burglary_crews: int = Field(default=1, ge=0, le=20, description="Burglary crews (night stays).")
    hotlist_seen: int = Field(default=30, ge=0, le=10_000, description="Hotlisted vehicles that drive in.")
    hotlist_unseen: int = Field(default=10, ge=0, le=10_000, description="Hotlist entries never seen.")
    hotlist_decoys: int = Field(default=2, ge=0, le=100, description="Innocent look-alikes of hotlisted plates.")
    emergency_vehicles: int = Field(default=3, ge=0, le=100, description="Ambulances and police cars.")
    bollard_intruders_per_day: float = Field(default=6, ge=0, description="Entries without permit, per street.")


def default_end(now: datetime | None = None) -> datetime:
    """The default end of the simulated period: now, floored to the whole minute, UTC."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(second=0, microsecond=0)


class SimSettings(_Strict):
    """One simulation run."""

    seed: int = Field(default=1, description="Seed: the same seed, zone and settings give the same bytes.")
    days: float = Field(default=7, gt=0, le=366, description="Length of the simulated period, days.")
    end: AwareDatetime = Field(description="End of the simulated period (exclusive), e.g. now.")
    vehicles_per_day: int = Field(
        default=80_000, ge=0, le=5_000_000, description="Vehicles entering the cordon on a weekday."
    )
    mix: TrafficMix = Field(default_factory=TrafficMix, description="Traffic mix.")
    patterns: PatternSettings = Field(default_factory=PatternSettings, description="Pattern parameters.")
    actors: ActorSettings = Field(default_factory=ActorSettings, description="Special actors.")

    @property
    def start(self) -> datetime:
        """Start of the simulated period (inclusive)."""
        return self.end.astimezone(UTC) - timedelta(days=self.days)
