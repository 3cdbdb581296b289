"""`cordon sim`: simulated traffic with ground truth, to feed Cordon and to score its rules."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cordon.commands.common import ZONE_OPTION, build_settings
from cordon.config import load_zone
from cordon.demo import demo_zone_path
from cordon.errors import CordonError
from cordon.feed import CameraFeed
from cordon.ingest.keys import KeyRing
from cordon.sim import (
    SimSettings,
    Simulation,
    default_end,
    load_noise,
    read_deliveries,
    write_fixtures,
    write_reads,
    write_truth,
)
from cordon.sim.output import clock_reports
from cordon.sim.truth import SectionSpeed, TruckStay
from cordon.store import open_store


@click.group()
def sim() -> None:
    """Simulated traffic with ground truth: reads to feed Cordon, the truth to score it against."""


def _parse_end(value: str | None) -> datetime:
    if value is None:
        return default_end()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 instant: {value!r}", param_hint="--end") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a UTC offset, e.g. 2026-11-27T12:00:00Z", param_hint="--end")
    return moment


@sim.command()
@ZONE_OPTION
@click.option("--days", type=click.FloatRange(min=0.01, max=366), default=7.0, show_default=True,
              help="Length of the simulated period, days.")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True, help="Seed: same seed and options, same bytes.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Reads file (JSON Lines, delivery order).")  # fmt: skip
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Truth file (JSON Lines, one record per line with a `kind`).")  # fmt: skip
@click.option("--vehicles-per-day", type=click.IntRange(0, 5_000_000), default=80_000, show_default=True,
              help="Vehicles entering the cordon on a weekday.")  # fmt: skip
@click.option("--noise", "noise_spec", default="default", show_default=True,
              help="Camera noise: off, default, or a YAML file of NoiseSettings fields.")  # fmt: skip
@click.option("--fixtures", "fixtures_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write hotlist.csv, permits.csv, vehicle-registry.csv and camera-clock.csv here.")  # fmt: skip
@click.option("--end", "end_text", default=None,
              help="End of the period, ISO 8601 with offset (default: now, to the minute).")  # fmt: skip
@click.option("--plain", is_flag=True,
              help="Write bare reads (for `cordon ingest`), without the delivery envelope.")  # fmt: skip
def generate(
    zone_file: Path | None,
    days: float,
    seed: int,
    out_path: Path,
    truth_path: Path | None,
    vehicles_per_day: int,
    noise_spec: str,
    fixtures_dir: Path | None,
    end_text: str | None,
    plain: bool,
) -> None:
    """Simulate a town's traffic over days: the reads its cameras post, and the ground truth.

    Each line of --out is `{"deliverAt": ..., "read": {...}}`: the read as the camera posts it (Cordon JSON)
    and when it reaches Cordon; lines are in delivery order (late reads come late). The period ends at --end
    (default now), so that replayed reads pass ingest's time checks. The same seed, zone and options give
    byte-identical files.

    \b
    Example:
      cordon sim generate --days 7 --seed 1 --out reads.jsonl --truth truth.jsonl
      cordon sim generate --zone examples/small-zone.yaml --days 1 --vehicles-per-day 2000 \\
          --noise off --out reads.jsonl --truth truth.jsonl --fixtures fixtures/
    """
    zone = load_zone(zone_file if zone_file is not None else demo_zone_path())
    noise = load_noise(noise_spec)
    settings = SimSettings(seed=seed, days=days, end=_parse_end(end_text), vehicles_per_day=vehicles_per_day)
    try:
        simulation = Simulation(zone, settings, noise)
    except ValueError as exc:
        raise CordonError("sim_zone", f"cannot simulate this zone: {exc}") from None
    console = Console(stderr=True)
    started = time.perf_counter()
    reads = 0
    events: Counter[str] = Counter()
    violations = transits = 0
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[reads]:>10,} reads"),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with (
        out_path.open("wb") as out,
        truth_path.open("wb") if truth_path is not None else nullcontext() as truth,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task(f"simulating {days:g} days", total=1.0, reads=0)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done / total if total else 1.0, reads=reads)

        for chunk in simulation.run(advance):
            reads += write_reads(chunk.reads, out, plain)
            if truth is not None:
                write_truth(chunk.truth, truth)
            for record in chunk.truth:
                if isinstance(record, SectionSpeed):
                    violations += record.violation
                elif isinstance(record, TruckStay):
                    transits += record.candidate
        events.update(simulation.counts)
    fixtures = []
    if fixtures_dir is not None:
        fixtures = write_fixtures(fixtures_dir, simulation.hotlist, simulation.permits, simulation.fleet.vehicles,
                                  clock_reports(simulation.cameras))  # fmt: skip
    elapsed = time.perf_counter() - started
    _summary(simulation, settings, noise_spec, events, violations, transits, elapsed, out_path, truth_path, fixtures)


def _summary(
    simulation: Simulation,
    settings: SimSettings,
    noise_spec: str,
    counts: Counter[str],
    violations: int,
    transits: int,
    elapsed: float,
    out_path: Path,
    truth_path: Path | None,
    fixtures: list[Path],
) -> None:
    passages = counts["passage"] or 1
    reads = counts["reads"]
    days = f"{settings.days:g} day{'' if settings.days == 1 else 's'}"
    click.echo(
        f"simulated {days} of zone '{simulation.zone.zone.id}' (seed {settings.seed}, noise {noise_spec}): "
        f"{settings.start:%Y-%m-%d %H:%M} to {settings.end.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    )
    entries = counts["gate_entries"]
    click.echo(
        f"  vehicles {counts['vehicle']:,} ({entries:,} entries into the cordon), passages {counts['passage']:,}, "
        f"reads {reads:,} ({100 * reads / passages:.1f} % captured, {100 * counts['misreads'] / max(reads, 1):.1f} "
        f"% misread, {100 * counts['late_reads'] / max(reads, 1):.1f} % late)"
    )
    click.echo(
        f"  truth: section drives above the limit {counts['section_speed']:,} ({violations:,} violations), "
        f"truck-lock stays {counts['truck_stay']:,} ({transits:,} candidates), bollard accesses "
        f"{counts['bollard_access']:,}, hotlist passages {counts['hotlist_passage']:,}, unpaired "
        f"{counts['unpaired']:,}, short-visit patterns {counts['short_visits']:,}, convoys {counts['convoy']:,}, "
        f"burglary stays {counts['burglary']:,}"
    )
    written = [str(out_path)] + ([str(truth_path)] if truth_path else []) + [str(p) for p in fixtures]
    click.echo(f"  wrote {', '.join(written)}")
    per_day = elapsed / settings.days
    click.echo(f"  took {elapsed:.1f} s ({per_day:.1f} s per simulated day, {reads / max(elapsed, 1e-9):,.0f} reads/s)")


def _replay_keys(zone_keys: Path | None, data_dir: Path | None, cameras: list[str]) -> dict[str, str]:
    """Camera keys from a JSON file, or issued now in the local store of `--data` (same machine as the server)."""
    if zone_keys is not None:
        try:
            keys = orjson.loads(zone_keys.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise CordonError("bad_keys_file", f"{zone_keys}: not a JSON object of camera -> key: {exc}") from None
        if not isinstance(keys, dict):
            raise CordonError("bad_keys_file", f"{zone_keys}: not a JSON object of camera -> key")
        return {str(camera): str(key) for camera, key in keys.items()}
    if data_dir is None:
        raise CordonError("no_keys", "give the cameras' keys with --keys FILE, or --data DIR to issue them locally")
    store = open_store(build_settings(data_dir=data_dir))
    try:
        ring = KeyRing(store)
        return {camera: ring.issue(camera, "cordon sim replay") for camera in cameras}
    finally:
        store.close()


@sim.command()
@ZONE_OPTION
@click.argument("reads_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The running Cordon API.")
@click.option("--speed", type=click.FloatRange(min=0.001), default=60.0, show_default=True,
              help="Time acceleration: 60 replays an hour in a minute.")  # fmt: skip
@click.option("--keys", "keys_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="JSON object camera id -> API key.")  # fmt: skip
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Issue a key per camera in this local store instead of --keys.")  # fmt: skip
@click.option("--mqtt-host", default=None, help="Broker for cameras with `transport: mqtt` (else they use HTTP).")
@click.option("--mqtt-port", type=int, default=1883, show_default=True, help="Broker port.")
def replay(
    zone_file: Path | None,
    reads_path: Path,
    url: str,
    speed: float,
    keys_path: Path | None,
    data_dir: Path | None,
    mqtt_host: str | None,
    mqtt_port: int,
) -> None:
    """Feed a running server with READS_PATH (from `cordon sim generate`) through the real ingest path, in
    delivery order, with time accelerated; each camera uses its own key and its configured transport.

    \b
    Example:
      cordon serve --zone examples/demo-zone.yaml --data /tmp/town &
      cordon sim generate --days 1 --vehicles-per-day 20000 --out reads.jsonl
      cordon sim replay reads.jsonl --zone examples/demo-zone.yaml --data /tmp/town --speed 600
    """
    zone = load_zone(zone_file or demo_zone_path())
    keys = _replay_keys(keys_path, data_dir, [camera.id for camera in zone.cameras])
    feed = CameraFeed(zone, url, keys, (mqtt_host, mqtt_port) if mqtt_host else None)
    console = Console(stderr=True)
    started = time.monotonic()
    try:
        with console.status("replaying...") as status:
            stop = threading.Event()
            worker = threading.Thread(target=feed.replay, args=(read_deliveries(reads_path), speed, stop), daemon=True)
            worker.start()
            try:
                while worker.is_alive():
                    worker.join(0.5)
                    answers = ", ".join(f"{k}: {v}" for k, v in sorted(feed.stats.answers.items()))
                    status.update(f"sent {feed.stats.sent} ({answers}); behind schedule {feed.stats.lag_s:.1f} s")
            except KeyboardInterrupt:
                stop.set()
                worker.join(5)
    except httpx.HTTPError as exc:
        raise CordonError("server_unreachable", f"cannot reach Cordon at {url}: {exc}") from None
    finally:
        feed.close()
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(feed.stats.answers.items()))
    click.echo(f"replayed {feed.stats.sent} reads in {time.monotonic() - started:.1f} s ({answers})")
