"""`cordon sim`: simulated traffic with ground truth, to feed Cordon and to score its rules."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cordon.commands.common import ZONE_OPTION
from cordon.config import load_zone
from cordon.demo import demo_zone_path
from cordon.errors import CordonError
from cordon.sim import SimSettings, Simulation, default_end, load_noise, write_fixtures, write_reads, write_truth
from cordon.sim.truth import SectionSpeed, TruckStay


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
              help="Also write hotlist.csv, permits.csv and vehicle-registry.csv in this folder.")  # fmt: skip
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
        fixtures = write_fixtures(fixtures_dir, simulation.hotlist, simulation.permits, simulation.fleet.vehicles)
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
