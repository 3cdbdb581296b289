"""`cordon ingest`: import reads from files into the store, through the same checks as live ingest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings, fail
from cordon.ingest.files import detect_format, iter_items
from cordon.ingest.service import Admission
from cordon.ingest.validate import Prepared, Refused
from cordon.runtime import Runtime, build_runtime


@dataclass
class Tally:
    stored: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


@click.command()
@ZONE_OPTION
@DATA_OPTION
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(["auto", "jsonl", "csv", "json"]), default="auto",
              help="File format; auto: by suffix (.jsonl/.ndjson, .csv, .json).")  # fmt: skip
@click.option("--all-or-nothing", is_flag=True, help="Store nothing from a file with any refused read.")
@click.option("--dry-run", is_flag=True, help="Check every read, store nothing.")
@click.option("--max-age-days", type=float, default=None, help="Accept reads up to this old (default: 30).")
@click.option("--batch", "batch_size", type=click.IntRange(1, 100_000), default=5000, help="Reads per commit.")
def ingest(
    zone_file: Path | None,
    data_dir: Path | None,
    files: tuple[Path, ...],
    file_format: str,
    all_or_nothing: bool,
    dry_run: bool,
    max_age_days: float | None,
    batch_size: int,
) -> None:
    """Import reads from FILES (JSON Lines, CSV or JSON; Cordon JSON or FIWARE AnprFlowObserved).

    Every read goes through the checks of live ingest (camera in the zone, plate, time window, lane, image).
    Refused reads are listed with their line; the others are stored, durably, in batches, unless
    --all-or-nothing is given. Re-importing a file stores nothing twice. Exits 1 if any read was refused.

    \b
    Example:
      cordon ingest --zone examples/demo-zone.yaml reads.jsonl
      cordon ingest --zone examples/small-zone.yaml --dry-run examples/reads.csv
    """
    ingest_overrides = {"max_age_s": max_age_days * 86_400} if max_age_days is not None else None
    settings = build_settings(zone_file=zone_file, data_dir=data_dir, ingest=ingest_overrides)
    runtime = build_runtime(settings)
    runtime.start()
    console = Console(stderr=True)
    refused_any = False
    try:
        for path in files:
            tally = _ingest_file(runtime, path, detect_format(path, file_format), all_or_nothing, dry_run,
                                 batch_size, console)  # fmt: skip
            for line in tally.refused[:50]:
                click.echo(f"{path}:{line}", err=True)
            if len(tally.refused) > 50:
                click.echo(f"{path}: ... and {len(tally.refused) - 50} more refused reads", err=True)
            verb = "would store" if dry_run else "stored"
            click.echo(f"{path}: {verb} {tally.stored}, duplicates {tally.duplicates}, refused {len(tally.refused)}")
            refused_any = refused_any or bool(tally.refused)
    finally:
        runtime.stop()
    if refused_any:
        fail("some reads were refused (listed above)")


def _ingest_file(
    runtime: Runtime,
    path: Path,
    file_format: str,
    all_or_nothing: bool,
    dry_run: bool,
    batch_size: int,
    console: Console,
) -> Tally:
    tally = Tally()
    held: list[Prepared] = []
    hold_all = all_or_nothing or dry_run

    def flush() -> None:
        if held and not dry_run:
            receipt = runtime.ingest.commit(Admission(str(path), tuple(held))).result()
            tally.stored += sum(receipt.stored)
            tally.duplicates += len(receipt.stored) - sum(receipt.stored)
        elif held:
            tally.stored += len(held)
        held.clear()

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with path.open("rb") as handle, Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(path.name, total=path.stat().st_size)
        for item in iter_items(handle, file_format):  # type: ignore[arg-type]
            if item.error is not None:
                tally.refused.append(f"{item.line}: {item.error}")
            else:
                outcome = runtime.ingest.check_trusted(item.data, f"line {item.line}")
                if isinstance(outcome, Refused):
                    tally.refused.append(f"{item.line}: {outcome.detail.code}: {outcome.detail.message}")
                else:
                    held.append(outcome)
            if not hold_all and len(held) >= batch_size:
                flush()
                progress.update(task, completed=handle.tell())
        progress.update(task, completed=path.stat().st_size)
    if all_or_nothing and tally.refused:
        held.clear()  # one refused read: the file is not imported at all
    flush()  # with --all-or-nothing, the whole file in one transaction
    return tally
