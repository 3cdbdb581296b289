"""`cordon audit`: the DPO verifies the audit trail, anchors it with signed checkpoints, and reads the report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import orjson
from rich.console import Console
from rich.table import Table

from cordon.audit.checkpoints import Checkpoint, load_public_key
from cordon.audit.log import AuditLog, export_checkpoint
from cordon.audit.report import AuditReport, ReportOptions, build_report
from cordon.auth.service import build_security
from cordon.commands.common import DATA_OPTION, build_settings
from cordon.errors import CordonError
from cordon.settings import Settings
from cordon.timeutil import parse_instant


@contextmanager
def _audit(data_dir: Path | None) -> Iterator[tuple[AuditLog, Settings]]:
    settings = build_settings(data_dir=data_dir)
    security = build_security(settings)
    try:
        yield security.audit, settings
    finally:
        security.close()


@click.group()
def audit() -> None:
    """The tamper-evident audit trail: verify it, anchor it, report on it."""


def _anchor_files(anchors: tuple[Path, ...]) -> list[Checkpoint]:
    files: list[Path] = []
    for path in anchors:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return [Checkpoint.read(path) for path in files]


@audit.command()
@DATA_OPTION
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="An exported checkpoint file, or a folder of them (repeatable). Catches a cut-off tail.",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pin the signer: the PEM file from `cordon audit public-key`.",
)
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
def verify(data_dir: Path | None, anchors: tuple[Path, ...], public_key: Path | None, as_json: bool) -> None:
    """Recompute every entry's hash and link, and check the checkpoints; exit 1 naming each broken entry.

    \b
    Example:
      cordon audit verify --anchor /media/dpo/cordon-checkpoints --public-key /media/dpo/cordon-audit.pem
    """
    checkpoints = _anchor_files(anchors)
    pinned = load_public_key(public_key) if public_key is not None else None
    with _audit(data_dir) as (log, _):
        result = log.verify(checkpoints, pinned)
    if as_json:
        body = {
            "ok": result.ok, "entries": result.entries, "head_seq": result.head_seq, "head_hash": result.head_hash,
            "checkpoints": result.checkpoints,
            "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in result.problems],
        }  # fmt: skip
        click.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
    else:
        head = f"{result.entries} entries, head {result.head_hash[:16]}, {result.checkpoints} checkpoint(s)"
        for problem in result.problems:
            click.echo(f"entry {problem.seq}: {problem.kind}: {problem.message}")
        click.echo(f"audit trail {'intact' if result.ok else 'TAMPERED'}: {head}")
    if not result.ok:
        raise SystemExit(1)


@audit.command()
@DATA_OPTION
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to export the checkpoint to [CORDON_AUDIT__CHECKPOINT_DIR]; give the file to the DPO.",
)
def checkpoint(data_dir: Path | None, out: Path | None) -> None:
    """Sign the current head of the trail (count and hash) and export it as a JSON file.

    `cordon serve` also does this every CORDON_AUDIT__CHECKPOINT_EVERY_S seconds.
    """
    with _audit(data_dir) as (log, settings):
        made = log.checkpoint()
        path = export_checkpoint(made, out or settings.audit_checkpoint_dir)
    click.echo(f"checkpoint: {made.seq} entries, head {made.head_hash}, key {made.key_id}")
    click.echo(f"written to {path}")


@audit.command("public-key")
@DATA_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the PEM here.")
def public_key_command(data_dir: Path | None, out: Path | None) -> None:
    """Print (or write) the public key that verifies checkpoints, and its key id: the DPO keeps both."""
    with _audit(data_dir) as (log, _):
        if log.signer is None:  # pragma: no cover - build_security always loads a signer
            raise CordonError("no_signing_key", "no audit signing key")
        pem, key_id = log.signer.public_key_pem(), log.signer.key_id
    if out is not None:
        out.write_bytes(pem)
        click.echo(f"public key {key_id} written to {out}")
    else:
        click.echo(pem.decode().rstrip())
        click.echo(f"key id: {key_id}")


def _moment(text: str | None, zone: str) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), ZoneInfo(zone))
        return parse_instant(text)
    except ValueError as exc:
        raise CordonError("invalid_time", f"not a date or an instant with offset: {text!r} ({exc})") from None


def _print_report(report: AuditReport) -> None:
    console = Console()
    console.print(
        f"{report.entries} audit entries, {report.consultations} consultations ({report.denied} refused), "
        f"{report.login_failures} failed logins, {report.lockouts} lock-outs"
    )
    users = Table("user", "role", "consultations", "results", "refused", "off-hours", "large", title="Per user")
    for line in report.per_user:
        users.add_row(line.actor, line.role or "-", *(str(v) for v in (line.consultations, line.results,
                      line.denied, line.off_hours, line.large)))  # fmt: skip
    console.print(users)
    purposes = Table("purpose", "consultations", "results", "refused", title="Per purpose")
    for purpose in report.per_purpose:
        purposes.add_row(purpose.purpose, str(purpose.consultations), str(purpose.results), str(purpose.denied))
    console.print(purposes)
    for title, flagged in (("Off-hours", report.off_hours), ("Unusually large", report.large)):
        if not flagged:
            console.print(f"{title}: none")
            continue
        table = Table("entry", f"when ({report.timezone})", "user", "action", "purpose", "case", "results", title=title)
        for item in flagged:
            count = str(item.result_count) if item.result_count is not None else "-"
            table.add_row(
                str(item.seq),
                item.local_time,
                item.actor,
                item.action,
                item.purpose or "-",
                item.case_ref or "-",
                count,
            )
        console.print(table)


@audit.command()
@DATA_OPTION
@click.option("--since", default=None, help="From: a date (local midnight) or an instant with offset.")
@click.option("--until", default=None, help="Until (exclusive): a date or an instant with offset.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
def report(data_dir: Path | None, since: str | None, until: str | None, as_json: bool) -> None:
    """Consultations per user and per purpose, off-hours and unusually large ones, refusals and lock-outs.

    \b
    Example:
      cordon audit report --since 2026-11-01 --until 2026-12-01
    """
    with _audit(data_dir) as (log, settings):
        options = ReportOptions.of(settings.audit)
        start, end = _moment(since, options.timezone), _moment(until, options.timezone)
        result = build_report(log.iter_entries(start, end), options, start, end)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        _print_report(result)
