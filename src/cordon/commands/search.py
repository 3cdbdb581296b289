"""`cordon search`: consult passages from the server's console, through the same door as the API.

The person signs in with their own account (password from a hidden prompt or stdin, TOTP code when enrolled),
states purpose, reason, offence type and case reference, and the consultation is audited under their name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from cordon.auth.models import Principal
from cordon.auth.service import build_security
from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings
from cordon.errors import CordonError
from cordon.investigate import Consultation, Investigation, InvestigationDb, TimeWindow
from cordon.investigate.queries import (
    AreaSearch,
    BoundingBox,
    Convoy,
    Export,
    FuzzySearch,
    PlateSearch,
    Presence,
    Query,
    ShortVisits,
    Timeline,
    WildcardSearch,
)
from cordon.investigate.results import ConsultationResult
from cordon.plates import display_plate
from cordon.runtime import load_zone_for
from cordon.store.images import ImageStore
from cordon.timeutil import parse_instant

F = TypeVar("F", bound=Callable[..., Any])


def _instant(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (e.g. 2026-11-27T22:00:00+01:00)") from None


_OPTIONS = [
    click.option("--user", "username", required=True, envvar="CORDON_USER", help="Your account. Env: CORDON_USER."),
    click.option("--password-stdin", is_flag=True, help="Read your password from stdin (else a hidden prompt)."),
    click.option("--totp", "totp_code", default=None, help="Your current TOTP code (when enrolled)."),
    click.option("--purpose", type=click.Choice(["administrative", "judicial"]), default=None, help="Police purpose."),
    click.option("--reason", default="", help="The operational reason."),
    click.option("--offence", "offence_type", default="", help="Offence or incident type."),
    click.option("--case", "case_reference", default="", help="Case (PV) reference."),
    click.option("--decision", "decision_reference", default=None, help="Prosecutor decision (reads > 30 days)."),
    click.option("--since", callback=_instant, default=None, help="From (ISO 8601 with offset)."),
    click.option("--until", callback=_instant, default=None, help="Until (ISO 8601 with offset)."),
    click.option("--json", "as_json", is_flag=True, help="The whole result as JSON."),
    ZONE_OPTION,
    DATA_OPTION,
]


def consultation_options(function: F) -> F:
    for option in reversed(_OPTIONS):
        function = option(function)
    return function


@dataclass(frozen=True)
class Console:
    """What every subcommand gets: who, why, the window, and how to print."""

    options: dict[str, Any]

    @property
    def window(self) -> TimeWindow:
        return TimeWindow(since=self.options["since"], until=self.options["until"])

    def consultation(self) -> Consultation:
        names = ("purpose", "reason", "offence_type", "case_reference", "decision_reference")
        return Consultation(**{name: self.options[name] for name in names})


@contextmanager
def _signed_in(console: Console) -> Iterator[tuple[Investigation, Principal]]:
    settings = build_settings(data_dir=console.options["data_dir"], zone_file=console.options["zone_file"])
    zone = load_zone_for(settings)
    security = build_security(settings)
    db = InvestigationDb.for_settings(settings)
    try:
        if console.options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, err=True)
        sessions = security.accounts.sessions
        issued = sessions.login(console.options["username"], password, console.options["totp_code"], "cli")
        principal = sessions.authenticate(issued.token, "cli")
        try:
            yield Investigation(zone, db, ImageStore(settings.images_dir, settings.ingest.max_image_bytes),
                                security.audit), principal  # fmt: skip
        finally:
            sessions.logout(principal)
    finally:
        db.close()
        security.close()


def _show(result: ConsultationResult, as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode())
        return
    for found in result.reads:
        read = found.read
        extra = f"  {found.match} {found.distance}" if found.match else ""
        movement = found.movement.value if found.movement else "-"
        click.echo(f"{read.date_observed:%Y-%m-%d %H:%M:%S}  {read.observed_by:<22} {movement:<8} "
                   f"{display_plate(read.plate, read.country):<12} #{found.read_id}{extra}")  # fmt: skip
    for stay in result.stays:
        click.echo(f"stay: in {stay.entered_at or '?'} at {stay.entry_camera or '?'}, "
                   f"out {stay.left_at or '?'} at {stay.exit_camera or '?'}")  # fmt: skip
    for present in result.present:
        click.echo(f"{display_plate(present.plate):<12} entered {present.entered_at:%Y-%m-%d %H:%M} at "
                   f"{present.entry_camera}, left {present.left_at or 'not yet'}")  # fmt: skip
    for companion in result.companions:
        click.echo(f"{display_plate(companion.plate):<12} {len(companion.cameras)} cameras, {len(companion.days)} "
                   f"days, {companion.meetings} meetings, closest {companion.closest_gap_s:.1f} s")  # fmt: skip
    for lead in result.leads:
        click.echo(f"{display_plate(lead.plate):<12} {len(lead.days)} days, {lead.visits} visits, "
                   f"shortest {lead.shortest_minutes} min (a lead, not a finding)")  # fmt: skip
    more = " (more exist: narrow the window or raise --limit)" if result.truncated else ""
    decision = f" under decision {result.door.decision_reference}" if result.door.decision_reference else ""
    click.echo(f"{result.count} results{more}{decision}; this consultation is recorded in the audit trail", err=True)


def _run(options: dict[str, Any], make: Callable[[Console], Query]) -> None:
    console = Console(options)
    try:
        query = make(console)
    except ValueError as exc:
        raise CordonError("invalid_query", str(exc).splitlines()[-1].strip()) from None
    with _signed_in(console) as (investigation, principal):
        _show(investigation.consult(principal, console.consultation(), query), options["as_json"])


@click.group()
def search() -> None:
    """Search passages and run pattern analyses, through the consultation door (every one audited).

    \b
    Example:
      cordon search plate 1-ABC-234 --user jpeeters --purpose judicial \\
          --reason "stolen car seen" --offence theft --case "PV DE.20.L1.012345/2026"
    Reads older than 30 days need --purpose judicial and --decision PK-REF (a registered prosecutor decision).
    """


LIMIT = click.option("--limit", type=click.IntRange(1, 10_000), default=1000, help="Most results.")
CAMERAS = click.option("--camera", "cameras", multiple=True, help="A camera of the area (repeat).")
BBOX = click.option("--bbox", nargs=4, type=float, default=None, help="Area box: SOUTH WEST NORTH EAST.")


def _box(values: tuple[float, float, float, float] | None) -> BoundingBox | None:
    return BoundingBox(south=values[0], west=values[1], north=values[2], east=values[3]) if values else None


@search.command()
@click.argument("plate")
@LIMIT
@consultation_options
def plate(plate: str, limit: int, **options: Any) -> None:
    """Every read of PLATE, newest first."""
    _run(options, lambda c: PlateSearch(plate=plate, window=c.window, limit=limit))


@search.command()
@click.argument("pattern")
@CAMERAS
@LIMIT
@consultation_options
def wildcard(pattern: str, cameras: tuple[str, ...], limit: int, **options: Any) -> None:
    """Reads of plates matching PATTERN: `?` one character, `*` any run (`1-AB?-2*`)."""
    _run(options, lambda c: WildcardSearch(pattern=pattern, camera_ids=cameras, window=c.window, limit=limit))


@search.command()
@click.argument("plate")
@click.option("--distance", type=click.IntRange(0, 2), default=1, help="Edits allowed besides look-alikes.")
@LIMIT
@consultation_options
def fuzzy(plate: str, distance: int, limit: int, **options: Any) -> None:
    """Reads of plates that look like PLATE (look-alikes, edits, the reads' top-N candidates)."""
    _run(options, lambda c: FuzzySearch(plate=plate, max_distance=distance, window=c.window, limit=limit))


@search.command()
@CAMERAS
@BBOX
@LIMIT
@consultation_options
def area(cameras: tuple[str, ...], bbox: tuple[float, float, float, float] | None, limit: int, **options: Any) -> None:
    """Reads at some cameras (--camera, repeated) or in a box (--bbox), newest first."""
    _run(options, lambda c: AreaSearch(camera_ids=cameras, bbox=_box(bbox), window=c.window, limit=limit))


@search.command()
@click.argument("plate")
@consultation_options
def timeline(plate: str, **options: Any) -> None:
    """Where PLATE was seen, oldest first, with its entries, exits and stays."""
    _run(options, lambda c: Timeline(plate=plate, window=c.window))


@search.command()
@CAMERAS
@BBOX
@click.option("--entered-within", type=float, default=120, show_default=True, help="Look-back for entries, min.")
@consultation_options
def presence(cameras: tuple[str, ...], bbox: tuple[float, float, float, float] | None, entered_within: float,
             **options: Any) -> None:  # fmt: skip
    """Vehicles inside the area (default: the zone) from --since to --until: entered before, not left."""
    _run(options, lambda c: Presence(camera_ids=cameras, bbox=_box(bbox), window=c.window,
                                     entered_within_minutes=entered_within))  # fmt: skip


@search.command()
@click.argument("plate")
@click.option("--gap", type=float, default=8, show_default=True, help="Seconds that make two reads 'together'.")
@click.option("--min-cameras", type=int, default=3, show_default=True, help="Distinct cameras together (m).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, help="Most companions.")
@consultation_options
def convoy(plate: str, gap: float, min_cameras: int, limit: int, **options: Any) -> None:
    """Plates seen within --gap seconds of PLATE at ≥ --min-cameras distinct cameras, ranked."""
    _run(options, lambda c: Convoy(plate=plate, max_gap_s=gap, min_cameras=min_cameras, window=c.window, limit=limit))


@search.command(name="short-visits")
@click.option("--max-minutes", type=float, default=20, show_default=True, help="A stay this short is a visit.")
@click.option("--min-days", type=int, default=3, show_default=True, help="Distinct days with a visit (k).")
@click.option("--within-days", type=int, default=7, show_default=True, help="Window the days fall in (D).")
@click.option("--any-gate", is_flag=True, help="Count visits that leave by another gate too.")
@consultation_options
def short_visits(max_minutes: float, min_days: int, within_days: int, any_gate: bool, **options: Any) -> None:
    """Vehicles entering and leaving within --max-minutes on ≥ k days within D days: leads, never sanctions."""
    _run(options, lambda c: ShortVisits(max_minutes=max_minutes, min_days=min_days, within_days=within_days,
                                        same_gate=not any_gate, window=c.window))  # fmt: skip


@search.command()
@click.option("--plate", default=None, help="Export this plate's reads in the window.")
@click.option("--read", "read_ids", type=int, multiple=True, help="Or these read ids (repeat).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="ZIP file to write.")
@consultation_options
def export(plate: str | None, read_ids: tuple[int, ...], out: Path, **options: Any) -> None:
    """Evidence ZIP: reads, images, a JSON report and a SHA-256 manifest (the export is audited)."""
    console = Console(options)
    try:
        query = Export(plate=plate, read_ids=read_ids, window=console.window)
    except ValueError as exc:
        raise CordonError("invalid_query", str(exc).splitlines()[-1].strip()) from None
    with _signed_in(console) as (investigation, principal):
        evidence = investigation.export(principal, console.consultation(), query)
    out.write_bytes(evidence.data)
    click.echo(f"{out}: {evidence.result.count} reads, {evidence.images} images; manifest SHA-256 "
               f"{evidence.manifest_sha256}")  # fmt: skip
