"""Edge units: `cordon recognize --camera ... --post ...` runs one (`run_edge`), and `cordon edge` looks after its
disk queue.

The queue holds reads not yet acknowledged by the server, and the reads the server refused for good (an unknown
camera, a key revoked, a read too old). Those are kept aside for a person: these commands show them, send them
again once the cause is fixed, or delete them. Every command works on an existing queue file and refuses any
other file without touching it.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click
import orjson
from rich.console import Console
from rich.table import Table

from cordon.commands.common import fail, stop_on_signals
from cordon.errors import CordonError
from cordon.recognize.edge import DiskQueue, NotAQueue, RefusedRead, Sender, parse_gps

if TYPE_CHECKING:  # the models' libraries (OpenCV, onnxruntime) load only when edge mode runs
    from cordon.recognize.pipeline import Recognizer
    from cordon.recognize.video import Reconnect
    from cordon.traffic_mix import TrafficMix

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


def server_trust(post_url: str | None, ca_file: Path | None) -> ssl.SSLContext | bool:
    """How edge mode checks the server: the system's authorities, or `--ca-file`'s (checked here, before any
    model loads). A plain-HTTP URL to another machine gets a warning: reads, images and the key would cross the
    network unencrypted."""
    assert post_url is not None
    parsed = urlsplit(post_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        fail(f"--post {post_url!r}: expected the server's URL, e.g. https://cordon.example")
    if parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1", "::1"):
        click.echo(f"edge: warning: {post_url} is plain HTTP: reads, plate images and the camera key cross the "
                   "network unencrypted; use https", err=True)  # fmt: skip
    if ca_file is None:
        return True
    if parsed.scheme != "https":
        fail("--ca-file is for an https:// server")
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        fail(f"--ca-file {ca_file}: not a readable PEM certificate file ({exc})")


def read_key(key_file: Path | None) -> str:
    if key_file is not None:
        try:
            key = key_file.read_text().strip()
        except OSError as exc:
            fail(f"cannot read the key file {key_file}: {exc.strerror}")
    else:
        key = os.environ.get("CORDON_CAMERA_KEY", "").strip()
    if not key:
        fail("edge mode needs the camera's API key: --key-file FILE or env CORDON_CAMERA_KEY")
    return key


@dataclass(frozen=True)
class EdgeOptions:
    """How an edge unit runs (`cordon recognize --camera ... --post ...`), checked before any model loads."""

    camera_id: str
    post_url: str
    key_file: Path | None
    queue_path: Path | None
    lane_id: str | None
    gps_spec: str | None
    gps_max_age: float
    send_images: bool
    drain_timeout: float
    verify: ssl.SSLContext | bool
    refused_retention_days: float
    quiet: bool


def run_edge(recognizer: Recognizer, mix: TrafficMix, reconnect: Reconnect, source: str, options: EdgeOptions) -> None:
    """Read `source` as a camera, queue each passage's read on disk and post the queue to the server; see
    docs/recognition.md, "Edge mode"."""
    from cordon.recognize.output import event_id_for, jpeg_base64, recognition_json, to_read_in
    from cordon.recognize.video import (
        FrameSkipper,
        Passage,
        PlateTracker,
        SourceLost,
        is_stream,
        open_frames,
        passages,
    )

    key = read_key(options.key_file)
    try:
        gps = parse_gps(options.gps_spec, options.gps_max_age) if options.gps_spec else None
    except ValueError as exc:
        fail(str(exc))
    queue_file = options.queue_path or Path("data") / "edge" / f"{options.camera_id}.sqlite3"
    queue = DiskQueue(queue_file)
    purged = queue.purge_refused(options.refused_retention_days * 86_400)
    if purged:
        click.echo(f"edge: {purged} refused reads older than {options.refused_retention_days:g} days deleted", err=True)
    if queue.refused_count():
        click.echo(f"edge: {queue.refused_count()} refused reads are kept aside: cordon edge refused {queue_file}",
                   err=True)  # fmt: skip
    sender = Sender(queue, options.post_url, key, on_error=lambda message: click.echo(f"edge: {message}", err=True),
                    verify=options.verify)  # fmt: skip
    if len(queue):
        click.echo(f"edge: {len(queue)} reads from an earlier run are queued; sending them first", err=True)
    sender.start()
    live = is_stream(source)
    skipper = FrameSkipper(fps=25.0) if live else None
    lost: SourceLost | None = None
    gps_fresh = True  # logged once each way: the fix goes stale, the fix comes back

    def log(message: str) -> None:
        click.echo(f"edge: {message}", err=True)

    def emit(passage: Passage) -> None:
        """Queue one passage's read on disk, wake the sender, print it (unless `quiet`)."""
        event_id = event_id_for(options.camera_id, passage.first_seen, passage.track)
        image = jpeg_base64(passage.crop) if options.send_images else None
        nonlocal gps_fresh
        location = gps.position() if gps is not None else None
        if gps is not None and (location is not None) != gps_fresh:
            gps_fresh = location is not None
            log("GPS fix back" if gps_fresh else "no fresh GPS fix: reads go without a position until one comes "
                "(the server keeps a mobile camera's read without one aside)")  # fmt: skip
        read = to_read_in(passage.recognition, options.camera_id, passage.first_seen, event_id, lane_id=options.lane_id,
                          location=location, image_b64=image)  # fmt: skip
        queue.put(event_id, orjson.dumps(read.model_dump(mode="json", by_alias=True, exclude_none=True)))
        sender.notify()
        if options.quiet:
            return
        out = recognition_json(passage.recognition, source) | {"eventId": event_id}
        sys.stdout.buffer.write(orjson.dumps(out) + b"\n")
        sys.stdout.flush()

    try:
        with stop_on_signals(log) as stop:
            frames = open_frames(source, skipper=skipper, reconnect=reconnect, on_event=log, stop=stop)
            try:
                for passage in passages(recognizer, frames, PlateTracker(mix=mix), skipper):
                    emit(passage)
            except SourceLost as exc:  # the vehicles still in view were queued first
                lost = exc
        sender.stop()
        drained = sender.drain(options.drain_timeout)
    except ValueError as exc:
        raise CordonError("video_source", f"{source}: {exc}") from None
    finally:
        sender.stop()
        sender.close()
        left = len(queue)
        queue.close()
    if lost is not None:
        queued = f"; {left} reads still queued, sent on the next start" if left else ""
        fail(f"{source}: {lost}{queued}")
    if not drained:
        fail(f"{left} reads still queued (server unreachable); they are sent on the next start")
