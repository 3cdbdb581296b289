"""Health of the platform and of each camera (refused reads are a camera's health figure)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from cordon import __version__
from cordon.api.deps import RuntimeDep
from cordon.api.security import require
from cordon.auth.roles import Permission

router = APIRouter(prefix="/api/v1/health", tags=["health"])


class HealthOut(BaseModel):
    """The platform is up."""

    status: str = Field(description="`ok`.")
    version: str = Field(description="Cordon version.")
    zone: str = Field(description="Id of the zone served.")
    cameras: int = Field(description="Cameras configured.")


class RejectionOut(BaseModel):
    """Refused reads of one camera for one reason."""

    reason: str = Field(description="Error code of the refusal.")
    count: int = Field(description="Reads refused for that reason since the store was created.")
    last_at: datetime = Field(description="Last refusal, UTC.")


class CameraHealthOut(BaseModel):
    """Health figures of one camera."""

    camera_id: str = Field(description="Camera id (`unknown` for senders without a valid key).")
    rejected: int = Field(description="Reads refused in all.")
    rejections: list[RejectionOut] = Field(description="Refusals by reason.")


@router.get("", response_model=HealthOut, summary="Liveness")
async def health(runtime: RuntimeDep) -> HealthOut:
    return HealthOut(status="ok", version=__version__, zone=runtime.zone.zone.id, cameras=len(runtime.zone.cameras))


@router.get(
    "/cameras",
    response_model=list[CameraHealthOut],
    summary="Refused reads per camera",
    dependencies=[Depends(require(Permission.HEALTH_READ))],
)
async def camera_health(runtime: RuntimeDep) -> list[CameraHealthOut]:
    by_camera: dict[str, list[RejectionOut]] = {camera.id: [] for camera in runtime.zone.cameras}
    for row in runtime.ingest.rejection_counts():
        by_camera.setdefault(row.camera_id, []).append(
            RejectionOut(reason=row.reason, count=row.count, last_at=row.last_at)
        )
    return [
        CameraHealthOut(camera_id=camera, rejected=sum(r.count for r in rows), rejections=rows)
        for camera, rows in by_camera.items()
    ]
