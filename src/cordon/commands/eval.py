"""`cordon eval`: score the zone's rules against the simulator's ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from cordon.commands.common import ZONE_OPTION
from cordon.config import load_zone
from cordon.demo import demo_zone_path
from cordon.evaluate import as_table_rows, evaluate
from cordon.reference import load_fixtures


@click.command("eval")
@ZONE_OPTION
@click.option("--reads", "reads_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Reads file from `cordon sim generate --out`.")  # fmt: skip
@click.option("--truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Truth file from `cordon sim generate --truth`.")  # fmt: skip
@click.option("--fixtures", "fixtures_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Hotlists, permits and registry (from `cordon sim generate --fixtures`).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object keyed by rule type: {"precision", "recall", "tp", "fp", "fn"}.')  # fmt: skip
def eval_command(
    zone_file: Path | None, reads_path: Path, truth_path: Path, fixtures_dir: Path | None, as_json: bool
) -> None:
    """Run the zone's rules over READS as the server would (same checks, same engine, delivery order) and print
    precision and recall of every rule against the truth.

    \b
    Example:
      cordon sim generate --days 2 --vehicles-per-day 20000 --out reads.jsonl --truth truth.jsonl --fixtures fx
      cordon eval --zone examples/demo-zone.yaml --reads reads.jsonl --truth truth.jsonl --fixtures fx
    """
    zone = load_zone(zone_file or demo_zone_path())
    reference = None
    if fixtures_dir is not None:
        reference, rejected = load_fixtures(fixtures_dir)
        for line in rejected:
            click.echo(f"{line} (not loaded)", err=True)
    with Console(stderr=True).status("running the rules over the reads..."):
        evaluation = evaluate(zone, reads_path, truth_path, reference)
    if as_json:
        click.echo(json.dumps(evaluation.to_json(), indent=2))
        return
    table = Table("rule type", "precision", "recall", "tp", "fp", "fn", "note",
                  title=f"{evaluation.reads} reads ({evaluation.refused} refused by ingest checks)")  # fmt: skip
    for row in as_table_rows(evaluation):
        table.add_row(*map(str, row))
    Console().print(table)
