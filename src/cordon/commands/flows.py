"""`cordon flows`: anonymised traffic flows for the municipality's traffic analyst.

These commands open only the flow store (never the police store): counts, profiles, origin-destination,
travel times, through traffic and heavy vehicles, with small cells suppressed; exports and charts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings
from cordon.config import ZoneConfig, load_zone
from cordon.demo import demo_zone_path
from cordon.errors import CordonError
from cordon.evaluate import Evaluation, validated_reads
from cordon.flows.charts import ChartFormat, od_heatmap, profile_chart, travel_time_chart
from cordon.flows.export import table_of, to_csv, to_parquet, traffic_flow_observed
from cordon.flows.models import COUNT_DIMENSIONS, Figure
from cordon.flows.pipeline import ReplayClock, build_pipeline, flow_store_path
from cordon.flows.score import replay, score_flows
from cordon.flows.service import FlowsService
from cordon.flows.store import FlowStore
from cordon.settings import FlowsSettings, IngestSettings

FROM_OPTION = click.option("--from", "first", metavar="DAY", default=None, help="First local day (YYYY-MM-DD).")
TO_OPTION = click.option("--to", "last", metavar="DAY", default=None, help="Last local day, included.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="The figure as JSON (the API's shape).")


@click.group()
def flows() -> None:
    """Traffic flows on anonymised data (counts, OD, travel times, through traffic); never a plate."""


def _zone(zone_file: Path | None) -> ZoneConfig:
    return load_zone(zone_file or demo_zone_path())


@contextmanager
def _service(zone_file: Path | None, data_dir: Path | None) -> Iterator[FlowsService]:
    settings = build_settings(data_dir=data_dir)
    zone = _zone(zone_file)
    path = flow_store_path(settings)
    if not path.exists():
        raise CordonError("no_flow_store", f"no flow store at {path} (run `cordon serve`, or `cordon flows build`)")
    store = FlowStore(path, zone_id=zone.zone.id, timezone=zone.zone.timezone)
    try:
        yield FlowsService(store, zone, k=settings.flows.k_threshold, through_minutes=settings.flows.through_minutes)
    finally:
        store.close()


def _show(figure: Figure, as_json: bool, limit: int = 200) -> None:
    if as_json:
        click.echo(figure.model_dump_json(indent=2))
        return
    table = table_of(figure)
    view = RichTable(*table.columns, title=f"{figure.figure} {figure.period.first_day} to "
                     f"{figure.period.last_day} (k={figure.period.k})")  # fmt: skip
    for row in table.rows[:limit]:
        view.add_row(*("-" if v is None else str(v) for v in row))
    Console().print(view)
    if len(table.rows) > limit:
        click.echo(f"... {len(table.rows) - limit} more rows (use --json or `cordon flows export`)", err=True)


def _figure_command(func: Callable[..., Figure]) -> Callable[..., None]:
    """Options every figure command shares; the wrapped function returns the figure to print."""

    @ZONE_OPTION
    @DATA_OPTION
    @FROM_OPTION
    @TO_OPTION
    @JSON_OPTION
    @wraps(func)
    def command(zone_file: Path | None, data_dir: Path | None, first: str | None, last: str | None,
                as_json: bool, **options: Any) -> None:  # fmt: skip
        with _service(zone_file, data_dir) as service:
            _show(func(service, first, last, **options), as_json)

    return command


@flows.command()
@_figure_command
@click.option("--granularity", type=click.Choice(["15min", "hour", "day"]), default="hour", show_default=True)
@click.option("--by", multiple=True, type=click.Choice(COUNT_DIMENSIONS), help="Split by (repeat); default: all.")
def counts(service: FlowsService, first: str | None, last: str | None, granularity: Any, by: tuple[str, ...]) -> Figure:
    """Passages per 15 minutes, hour or day, per camera, lane, direction and class.

    \b
    Example:
      cordon flows counts --from 2026-11-20 --to 2026-11-26 --granularity day --by camera
    """
    return service.counts(first, last, granularity, by)


@flows.command()
@_figure_command
@click.option("--kind", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option("--camera", default=None, help="One camera (default: all).")
def profile(service: FlowsService, first: str | None, last: str | None, kind: str, camera: str | None) -> Figure:
    """Mean passages per local hour: weekday / Saturday / Sunday (daily), or per ISO weekday (weekly)."""
    return service.profile(first, last, weekly=kind == "weekly", camera=camera)


@flows.command()
@_figure_command
@click.option("--camera", "cameras", multiple=True, help="Cameras (repeat, at least two); default: the gates.")
def od(service: FlowsService, first: str | None, last: str | None, cameras: tuple[str, ...]) -> Figure:
    """Origin-destination matrix: entry gate → exit gate trips, or moves between chosen cameras.

    \b
    Example:
      cordon flows od --from 2026-11-20 --to 2026-11-26
      cordon flows od --camera cam-markt --camera cam-sec50-a --camera cam-sec50-b
    """
    return service.od(first, last, cameras)


@flows.command("travel-times")
@_figure_command
def travel_times(service: FlowsService, first: str | None, last: str | None) -> Figure:
    """Median and 85th-percentile travel time per section and per gate pair (through trips), with the trend."""
    return service.travel_times(first, last)


@flows.command()
@_figure_command
@click.option("--minutes", type=click.FloatRange(0, 240, min_open=True), default=None,
              help="In and out within this many minutes (default: CORDON_FLOWS__THROUGH_MINUTES).")  # fmt: skip
def through(service: FlowsService, first: str | None, last: str | None, minutes: float | None) -> Figure:
    """Share of through traffic per gate pair."""
    return service.through(first, last, minutes)


@flows.command("heavy-share")
@_figure_command
def heavy_share(service: FlowsService, first: str | None, last: str | None) -> Figure:
    """Share of heavy vehicles (lorries, buses) per camera."""
    return service.heavy_share(first, last)


FIGURES = ("counts", "profile", "od", "travel-times", "through", "heavy-share")


@flows.command()
@click.argument("figure", type=click.Choice(FIGURES))
@ZONE_OPTION
@DATA_OPTION
@FROM_OPTION
@TO_OPTION
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json", "fiware"]), default="csv",
              show_default=True, help="fiware: counts as TrafficFlowObserved entities (counts only).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
def export(figure: Any, zone_file: Path | None, data_dir: Path | None, first: str | None, last: str | None,
           fmt: str, out: Path) -> None:  # fmt: skip
    """Write a figure to a file: CSV, Parquet, JSON, or FIWARE TrafficFlowObserved (JSON array).

    \b
    Example:
      cordon flows export od --format parquet --out od.parquet
      cordon flows export counts --format fiware --out counts.json
    """
    with _service(zone_file, data_dir) as service:
        if fmt == "fiware":
            if figure != "counts":
                raise CordonError("invalid_parameter", "--format fiware exports counts only")
            result = service.counts(first, last, "hour", ["camera", "lane", "direction"])
            body = json.dumps(traffic_flow_observed(result, service.zone), indent=1).encode()
        else:
            found = service.figure(figure, first, last)
            if fmt == "json":
                body = found.model_dump_json(indent=1).encode()
            else:
                body = to_csv(table_of(found)) if fmt == "csv" else to_parquet(table_of(found))
    out.write_bytes(body)
    click.echo(f"wrote {out} ({len(body):,} bytes)", err=True)


@flows.command()
@click.argument("chart", type=click.Choice(["profile", "od", "travel-times"]))
@ZONE_OPTION
@DATA_OPTION
@FROM_OPTION
@TO_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Image file; .svg gives SVG, anything else PNG.")  # fmt: skip
@click.option("--data-json", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the chart's data as JSON (what a dashboard draws from).")  # fmt: skip
def chart(chart: str, zone_file: Path | None, data_dir: Path | None, first: str | None, last: str | None,
          out: Path, data_json: Path | None) -> None:  # fmt: skip
    """Draw the daily profile, the OD heat map or the travel-time trend (PNG or SVG).

    \b
    Example:
      cordon flows chart od --out od.svg --data-json od.json
    """
    fmt: ChartFormat = "svg" if out.suffix.lower() == ".svg" else "png"
    with _service(zone_file, data_dir) as service:
        figure: Figure
        if chart == "profile":
            figure = service.profile(first, last)
            image = profile_chart(figure, fmt)
        elif chart == "od":
            figure = service.od(first, last)
            image = od_heatmap(figure, fmt)
        else:
            figure = service.travel_times(first, last)
            image = travel_time_chart(figure, fmt)
    out.write_bytes(image)
    if data_json is not None:
        data_json.write_text(figure.model_dump_json(indent=1))
    click.echo(f"wrote {out}", err=True)


@flows.command()
@click.option("--reads", "reads_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Reads file (`cordon sim generate --out`, or plain reads).")  # fmt: skip
@ZONE_OPTION
@DATA_OPTION
@click.option("--finish", is_flag=True, help="Close every day at the end (the period is over).")
def build(reads_path: Path, zone_file: Path | None, data_dir: Path | None, finish: bool) -> None:
    """Replay a reads file into the flow store (same checks as ingest; delivery time as the clock).

    For trying the figures on the simulator without a server; `cordon serve` records flows by itself.

    \b
    Example:
      cordon flows build --reads reads.jsonl --data /tmp/town --finish
    """
    settings = build_settings(data_dir=data_dir)
    zone = _zone(zone_file)
    clock = ReplayClock(datetime(1970, 1, 1, tzinfo=UTC))
    pipeline = build_pipeline(settings, zone, clock)
    counts = Evaluation()
    try:
        with Console(stderr=True).status("recording flows..."):
            written = replay(pipeline, clock, validated_reads(reads_path, zone, IngestSettings(), counts))
            closed = pipeline.finish() if finish else []
    finally:
        pipeline.store.close()
    click.echo(f"{written:,} flow records from {counts.reads:,} reads ({counts.refused:,} refused); "
               f"{len(closed)} days closed at the end; store {pipeline.store.path}")  # fmt: skip


@flows.command()
@ZONE_OPTION
@click.option("--reads", "reads_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--all-cameras", is_flag=True, help="Also cameras not authorised for traffic statistics.")
@click.option("--min-truth", type=click.IntRange(1), default=200, show_default=True,
              help="Cells with fewer true events are not scored.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The scores as JSON.")
def score(zone_file: Path | None, reads_path: Path, truth_path: Path, all_cameras: bool, min_truth: int,
          as_json: bool) -> None:  # fmt: skip
    """Score the figures against the simulator's truth (counts, OD, through share, heavy share, sections).

    \b
    Example:
      cordon sim generate --days 2 --vehicles-per-day 20000 --out r.jsonl --truth t.jsonl
      cordon flows score --reads r.jsonl --truth t.jsonl
    """
    settings = FlowsSettings(persist_secret=False, statistics_cameras_only=not all_cameras)
    with Console(stderr=True).status("recording flows and reading the truth..."):
        result = score_flows(_zone(zone_file), reads_path, truth_path, flows=settings, min_truth=min_truth)
    data = result.to_json()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    view = RichTable("figure", "cells", "max error", "mean error", title=f"{result.reads:,} reads")
    for name, value in data.items():
        if isinstance(value, dict) and "cells" in value:
            view.add_row(name, str(value["cells"]), str(value["max"]), str(value["mean"]))
    Console().print(view)
    ours, truth = result.overall_through
    click.echo(f"through share overall: ours {ours}, truth {truth}")
