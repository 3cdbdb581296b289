"""Outputs of the figures: flat tables (CSV, Parquet), FIWARE `TrafficFlowObserved` entities, JSON.

Every output is made from a figure's typed result, so it carries exactly what the figure publishes: suppressed
cells stay empty, and there is no column a plate or a token could be in.

`AnprFlowObserved` is the FIWARE model of *one* vehicle's passage (it carries the plate): it fits the police
side (`cordon.ingest.formats`), never an anonymous aggregate, so the flows pipeline does not emit it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cordon.config.zone import ZoneConfig
from cordon.flows.models import CountsOut, Figure, ODOut, ProfileOut, TravelTimesOut

ExportFormat = Literal["csv", "parquet", "json"]
_BIN = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1)}


@dataclass(frozen=True, slots=True)
class Table:
    """A figure as one flat table."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def table_of(figure: Figure) -> Table:
    """The rows of a figure, flat (travel-time trends become one row per section or pair and day)."""
    if isinstance(figure, TravelTimesOut):
        columns = ("kind", "origin", "destination", "day", "trips", "median_s", "p85_s")
        rows: list[tuple[Any, ...]] = []
        for row in figure.rows:
            rows.append((row.kind, row.origin, row.destination, "period", row.trips, row.median_s, row.p85_s))
            rows.extend((row.kind, row.origin, row.destination, p.day, p.trips, p.median_s, p.p85_s) for p in row.trend)
        return Table(columns, rows)
    items: list[Any]
    if isinstance(figure, CountsOut):
        items = figure.rows
    elif isinstance(figure, ProfileOut):
        items = figure.points
    elif isinstance(figure, ODOut):
        items = figure.cells
    else:
        items = figure.rows
    if not items:
        return Table((), [])
    model = type(items[0])
    names = tuple(model.model_fields)
    return Table(names, [tuple(_flat(getattr(item, c)) for c in names) for item in items])


def _flat(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(["" if v is None else v for v in row] for row in table.rows)
    return out.getvalue().encode()


def to_parquet(table: Table) -> bytes:
    """The table as a Parquet file (pyarrow, imported here: only exports need it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pylist([dict(zip(table.columns, row, strict=True)) for row in table.rows])
    if not table.rows:
        arrow = pa.table({column: pa.array([], pa.string()) for column in table.columns})
    sink = io.BytesIO()
    pq.write_table(arrow, sink)
    return sink.getvalue()


def traffic_flow_observed(counts: CountsOut, zone: ZoneConfig) -> list[dict[str, Any]]:
    """FIWARE `TrafficFlowObserved` entities (key-values), one per camera lane and bin; suppressed cells are
    left out. Needs counts split by camera and lane (a class split becomes `vehicleType`)."""
    if "camera" not in counts.by or "lane" not in counts.by:
        raise ValueError("TrafficFlowObserved needs counts split by camera and lane")
    entities = []
    for row in counts.rows:
        if row.count is None or row.camera is None:
            continue
        end = _bin_end(row.start, counts.granularity)
        suffix = f":{row.vehicle_class}" if row.vehicle_class else ""
        entity: dict[str, Any] = {
            "id": f"urn:ngsi-ld:TrafficFlowObserved:{zone.zone.id}:{row.camera}:{row.lane}{suffix}:"
            f"{row.start.isoformat()}",
            "type": "TrafficFlowObserved",
            "dateObserved": f"{row.start.isoformat()}/{end.isoformat()}",
            "dateObservedFrom": row.start.isoformat(),
            "dateObservedTo": end.isoformat(),
            "intensity": row.count,
            "dataProvider": zone.zone.controller,
            "source": "Cordon (anonymised flows)",
            "refDevice": f"urn:ngsi-ld:Device:{zone.zone.id}:{row.camera}",
        }
        if row.lane and row.lane.isdigit() and int(row.lane) >= 1:
            entity["laneId"] = int(row.lane)
        if row.direction in ("towards", "away"):
            entity["laneDirection"] = "forward" if row.direction == "towards" else "backward"
        if row.vehicle_class:
            entity["vehicleType"] = row.vehicle_class
        camera = zone.camera(row.camera)
        if camera is not None and camera.lat is not None and camera.lon is not None:
            entity["location"] = {"type": "Point", "coordinates": [camera.lon, camera.lat]}
        entities.append(entity)
    return entities


def _bin_end(start: datetime, granularity: str) -> datetime:
    if granularity in _BIN:  # exact elapsed time, through UTC (a DST change inside the bin is respected)
        return (start.astimezone(UTC) + _BIN[granularity]).astimezone(start.tzinfo)
    return start + timedelta(days=1)  # wall-clock arithmetic: the next local midnight, on DST days too
