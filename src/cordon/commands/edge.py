"""`cordon edge`: look after an edge unit's disk queue (`cordon recognize --camera ... --post ...`).

The queue holds reads not yet acknowledged by the server, and the reads the server refused for good (an unknown
camera, a key revoked, a read too old). Those are kept aside for a person: these commands show them, send them
again once the cause is fixed, or delete them. Every command works on an existing queue file and refuses any
other file without touching it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from cordon.commands.common import fail
from cordon.recognize.edge import DiskQueue, NotAQueue, RefusedRead

QUEUE_ARGUMENT = click.argument("queue_path", metavar="QUEUE", type=click.Path(dir_okay=False, path_type=Path))


@contextmanager
def _opened(path: Path) -> Iterator[DiskQueue]:
    """An existing edge queue for the block, closed after it; a clean failure for any other file."""
    try:
        queue = DiskQueue.open_existing(path)
    except NotAQueue as exc:
        fail(str(exc))
    try:
        yield queue
    finally:
        queue.close()


def _when(unix: float | None) -> str:
    return (
        "-" if unix is None else datetime.fromtimestamp(unix, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _describe(read: RefusedRead) -> dict[str, Any]:
    """What a person needs to see of a refused read (its image is left out)."""
    try:
        body = orjson.loads(read.body)
    except orjson.JSONDecodeError:
        body = {}
    return {
        "eventId": read.event_id,
        "camera": body.get("observedBy"),
        "plate": body.get("licensePlate"),
        "observed": body.get("dateObserved"),
        "refusedAt": _when(read.refused_at),
        "reason": read.reason,
    }


@click.group()
def edge() -> None:
    """An edge unit's disk queue: status, refused reads, resending and purging them.

    \b
    QUEUE is the queue file of `cordon recognize --camera ID --post URL` (default data/edge/ID.sqlite3).
    """


@edge.command()
@QUEUE_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def status(queue_path: Path, as_json: bool) -> None:
    """Reads waiting to be sent and reads refused, with the oldest of each."""
    with _opened(queue_path) as queue:
        state = queue.status()
    figures = {
        "queued": state.queued,
        "oldestQueued": _when(state.oldest_queued_at),
        "refused": state.refused,
        "oldestRefused": _when(state.oldest_refused_at),
    }
    if as_json:
        click.echo(orjson.dumps(figures).decode())
        return
    click.echo(f"{queue_path}: {state.queued} reads queued (oldest {figures['oldestQueued']}), "
               f"{state.refused} refused (oldest {figures['oldestRefused']})")  # fmt: skip


@edge.command()
@QUEUE_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="JSON Lines instead of a table.")
def refused(queue_path: Path, as_json: bool) -> None:
    """The reads the server refused for good, oldest refusal first, with the server's reason."""
    with _opened(queue_path) as queue:
        reads = [_describe(read) for read in queue.refused_reads()]
    if as_json:
        for read in reads:
            click.echo(orjson.dumps(read).decode())
        return
    table = Table("event id", "camera", "plate", "observed", "refused at", "reason")
    for read in reads:
        table.add_row(*(str(read[k] or "-") for k in ("eventId", "camera", "plate", "observed", "refusedAt", "reason")))
    Console().print(table)
    click.echo(f"{len(reads)} refused reads", err=True)


@edge.command()
@QUEUE_ARGUMENT
@click.argument("event_ids", nargs=-1)
@click.option("--all", "all_reads", is_flag=True, help="Every refused read.")
def resend(queue_path: Path, event_ids: tuple[str, ...], all_reads: bool) -> None:
    """Put refused reads back in the queue, to be sent by the next edge run (after fixing why they were refused:
    the camera added to the zone, a new key). Name them by EVENT_IDS, or give --all."""
    if bool(event_ids) == all_reads:
        fail("name the refused reads to resend by their event ids, or give --all (not both)")
    with _opened(queue_path) as queue:
        unknown = sorted(set(event_ids) - {read.event_id for read in queue.refused_reads()})
        if unknown:
            fail(f"not among the refused reads: {', '.join(unknown)} (nothing was moved)")
        moved = queue.resend(None if all_reads else list(event_ids))
    click.echo(f"{moved} reads back in the queue; the next edge run sends them")


@edge.command()
@QUEUE_ARGUMENT
@click.option("--older-than", "older_than_days", type=click.FloatRange(min=0), required=True,
              help="Delete refused reads refused more than this many days ago (0: all of them).")  # fmt: skip
def purge(queue_path: Path, older_than_days: float) -> None:
    """Delete refused reads: they hold plates and images, and an edge unit keeps them only as long as a person
    needs to look at them."""
    with _opened(queue_path) as queue:
        deleted = queue.purge_refused(older_than_days * 86_400)
    click.echo(f"{deleted} refused reads deleted")
