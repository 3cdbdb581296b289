"""Anonymised traffic flows for the traffic analyst: `/api/v1/flows/...`.

Every route needs `flows.read` (only the traffic-analyst role holds it): investigators, operators and every
other role get 403, and nothing here can be joined back to reads: the routes read only the flow store, and
their answers hold aggregates, never a plate or a token. Small cells are suppressed (`k`, docs/flows.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from cordon.api.deps import RuntimeDep
from cordon.api.security import require
from cordon.auth.roles import Permission
from cordon.errors import CordonError
from cordon.flows.export import ExportFormat, table_of, to_csv, to_parquet, traffic_flow_observed
from cordon.flows.models import (
    CountsOut,
    Granularity,
    HeavyOut,
    ODOut,
    ProfileOut,
    ThroughOut,
    TravelTimesOut,
)
from cordon.flows.service import FigureName, FlowsService

router = APIRouter(prefix="/api/v1/flows", tags=["flows"], dependencies=[Depends(require(Permission.FLOWS_READ))])


def flows_service(runtime: RuntimeDep) -> FlowsService:
    """The figures over the running flow store (503 when the flows pipeline is off)."""
    if runtime.flows is None:
        raise CordonError("flows_disabled", "the flows pipeline is not enabled (CORDON_FLOWS__ENABLED)", 503)
    flows = runtime.settings.flows
    return FlowsService(runtime.flows.pipeline.store, runtime.zone, k=flows.k_threshold,
                        through_minutes=flows.through_minutes)  # fmt: skip


FlowsDep = Annotated[FlowsService, Depends(flows_service)]
FirstDay = Annotated[
    str | None, Query(alias="from", description="First local day, YYYY-MM-DD (default: the first held).")
]
LastDay = Annotated[str | None, Query(alias="to", description="Last local day, included (default: the last held).")]


@router.get("/counts", response_model=CountsOut, summary="Passages per 15 minutes, hour or day")
def counts(
    flows: FlowsDep,
    first: FirstDay = None,
    last: LastDay = None,
    granularity: Granularity = "hour",
    by: Annotated[
        list[str] | None, Query(description="Split by: camera, lane, direction, vehicle_class (repeat).")
    ] = None,
) -> CountsOut:
    return flows.counts(first, last, granularity, by or ())


@router.get("/profile", response_model=ProfileOut, summary="Daily (weekday/Saturday/Sunday) or weekly profile")
def profile(
    flows: FlowsDep,
    first: FirstDay = None,
    last: LastDay = None,
    kind: Literal["daily", "weekly"] = "daily",
    camera: str | None = None,
) -> ProfileOut:
    return flows.profile(first, last, weekly=kind == "weekly", camera=camera)


@router.get("/od", response_model=ODOut, summary="Origin-destination matrix between gates or cameras")
def od(
    flows: FlowsDep,
    first: FirstDay = None,
    last: LastDay = None,
    camera: Annotated[list[str] | None, Query(description="Cameras (repeat; at least two); none: the gates.")] = None,
) -> ODOut:
    return flows.od(first, last, camera or ())


@router.get("/travel-times", response_model=TravelTimesOut, summary="Median and p85 travel times, and trend")
def travel_times(flows: FlowsDep, first: FirstDay = None, last: LastDay = None) -> TravelTimesOut:
    return flows.travel_times(first, last)


@router.get("/through", response_model=ThroughOut, summary="Share of through traffic per gate pair")
def through(
    flows: FlowsDep,
    first: FirstDay = None,
    last: LastDay = None,
    minutes: Annotated[float | None, Query(gt=0, le=240, description="In and out within (default: setting).")] = None,
) -> ThroughOut:
    return flows.through(first, last, minutes)


@router.get("/heavy-share", response_model=HeavyOut, summary="Share of heavy vehicles per camera")
def heavy_share(flows: FlowsDep, first: FirstDay = None, last: LastDay = None) -> HeavyOut:
    return flows.heavy_share(first, last)


@router.get("/fiware", summary="Counts as FIWARE TrafficFlowObserved entities (key-values)")
def fiware(
    flows: FlowsDep,
    runtime: RuntimeDep,
    first: FirstDay = None,
    last: LastDay = None,
    granularity: Granularity = "hour",
) -> list[dict[str, Any]]:
    figure = flows.counts(first, last, granularity, ["camera", "lane", "direction"])
    return traffic_flow_observed(figure, runtime.zone)


_MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "json": "application/json"}


@router.get("/export/{figure}", summary="A figure as CSV, Parquet or JSON (a file)")
def export(
    flows: FlowsDep, figure: FigureName, first: FirstDay = None, last: LastDay = None, format: ExportFormat = "csv"
) -> Response:
    result = flows.figure(figure, first, last)
    if format == "json":
        body = result.model_dump_json().encode()
    else:
        table = table_of(result)
        body = to_csv(table) if format == "csv" else to_parquet(table)
    name = f"flows-{figure}-{result.period.first_day}-{result.period.last_day}.{format}"
    return Response(body, media_type=_MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})
