"""`POST /api/v1/cameras/{camera_id}/clock`: a camera reports its clock status (NTP offset), with its own key.

Section control uses only pairs of reads from cameras whose clock was known to be in sync (DESIGN.md §4): a
camera that reports nothing, or an offset beyond its tolerance, gives no speed evidence. Cameras report at
least hourly; the reports are kept (table `camera_clock`) and reach the running rules at once.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from cordon.api.deps import CameraKeyDep, RuntimeDep
from cordon.api.errors import error_responses
from cordon.errors import CordonError, forbidden, unauthorized
from cordon.reference import ClockReport
from cordon.timeutil import utcnow

router = APIRouter(prefix="/api/v1/cameras", tags=["ingest"])

_ERRORS = error_responses(
    {
        401: "Missing or wrong camera key.",
        403: "The key belongs to another camera.",
        422: "Invalid report.",
        503: "The rules are not running in this process.",
    }
)


class ClockIn(BaseModel):
    """The camera's clock at an instant, against its time source."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    at: AwareDatetime = Field(description="When the offset was measured (ISO 8601 with offset).")
    offset_s: Annotated[float, Field(alias="offsetS", ge=-86_400, le=86_400)] = Field(
        description="Seconds the camera's clock is ahead of the reference (negative: behind)."
    )
    source: Literal["ntp", "gps", "ptp", "manual"] = Field(default="ntp", description="Where the offset comes from.")

    @field_validator("offset_s")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("the offset must be a finite number of seconds")
        return value


class ClockOut(BaseModel):
    stored: bool = Field(description="False when this camera already reported for that instant.")


@router.post("/{camera_id}/clock", response_model=ClockOut, responses=_ERRORS, summary="Report the clock offset")
def report_clock(camera_id: str, body: ClockIn, key: CameraKeyDep, runtime: RuntimeDep) -> ClockOut:
    camera = runtime.keyring.camera_for(key)
    if camera is None:
        raise unauthorized("wrong_key" if key else "missing_key", "a valid camera key is required")
    if camera != camera_id:
        raise forbidden("wrong_camera", f"the key belongs to camera {camera}, not {camera_id}")
    if runtime.rules is None:
        raise CordonError("rules_disabled", "the rules are not running in this process (rules.enabled)", 503)
    now = utcnow()
    if body.at > now:
        raise CordonError("clock_report_in_future", "a clock report cannot be dated in the future", 422)
    report = ClockReport(camera_id=camera_id, at=body.at, offset_s=body.offset_s)
    return ClockOut(stored=runtime.rules.references.add_clock_report(report, body.source, now))
