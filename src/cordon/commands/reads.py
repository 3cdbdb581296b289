"""`cordon reads`: look at what the store receives."""

from __future__ import annotations

import time
from pathlib import Path

import click
import orjson

from cordon.commands.common import DATA_OPTION, build_settings
from cordon.plates import display_plate
from cordon.records import PlateRead
from cordon.store import open_store


@click.group()
def reads() -> None:
    """Stored reads."""


def _line(read: PlateRead) -> str:
    conf = f"{read.confidence:.2f}" if read.confidence is not None else "  - "
    lane = read.lane_id or "-"
    return (
        f"{read.date_observed:%Y-%m-%d %H:%M:%S.%f}"[:-3]
        + f"  {read.observed_by:<22} lane {lane:<3} {display_plate(read.plate):<12} {read.country or '--'}  {conf}"
    )


@reads.command()
@DATA_OPTION
@click.option("-n", "--lines", "count", type=click.IntRange(0, 10_000), default=20, help="Reads shown first.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new reads as they are stored.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (FIWARE names).")
@click.option("--interval", type=float, default=0.5, help="Seconds between polls with --follow.")
def tail(data_dir: Path | None, count: int, follow: bool, as_json: bool, interval: float) -> None:
    """Print the newest stored reads, in the order they were stored; -f keeps following.

    This reads the local store directly and is meant for the operator console of the server itself.

    \b
    Example:
      cordon reads tail -f --data /var/lib/cordon
    """
    settings = build_settings(data_dir=data_dir)
    store = open_store(settings, auto_migrate=False)
    try:
        cursor = max(store.last_cursor() - count, 0)
        while True:
            batch = store.reads_after(cursor, 1000)
            for cursor, read in batch:  # noqa: B007 - the cursor is carried to the next poll
                click.echo(orjson.dumps(read.to_json_dict()).decode() if as_json else _line(read))
            if not follow:
                if len(batch) < 1000:
                    break
                continue
            if len(batch) < 1000:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
