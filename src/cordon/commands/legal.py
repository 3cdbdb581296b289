"""`cordon legal`: prosecutor decisions and legal holds, from the server's console (audited as `cli:<os user>`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from cordon.audit.events import Action, AuditRecorder
from cordon.auth.service import build_security
from cordon.commands.common import DATA_OPTION, build_settings, cli_actor, record_cli_action
from cordon.errors import CordonError
from cordon.investigate import InvestigationDb, LegalHold, ProsecutorDecision
from cordon.plates import InvalidPlate, normalize_plate
from cordon.timeutil import isoformat_z, parse_instant, utcnow


@contextmanager
def _register(data_dir: Path | None) -> Iterator[tuple[InvestigationDb, AuditRecorder]]:
    settings = build_settings(data_dir=data_dir)
    security = build_security(settings)
    db = InvestigationDb.for_settings(settings)
    try:
        yield db, security.audit
    finally:
        db.close()
        security.close()


def _instant(_ctx: click.Context, _param: click.Parameter, value: str) -> datetime:
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _plates(values: tuple[str, ...]) -> frozenset[str]:
    try:
        return frozenset(normalize_plate(v) for v in values)
    except InvalidPlate as exc:
        raise CordonError("invalid_plate", str(exc)) from None


@click.group()
def legal() -> None:
    """Prosecutor decisions (reads older than a month) and legal holds (reads kept beyond retention)."""


@legal.command(name="decision-add")
@click.argument("reference")
@click.option("--magistrate", required=True, help="Issuing magistrate or office.")
@click.option("--case", "case_reference", default=None, help="Case the decision covers.")
@click.option("--plate", "plates", multiple=True, help="A plate the decision covers (repeat).")
@click.option("--valid-from", callback=_instant, required=True, help="ISO 8601 with offset.")
@click.option("--valid-until", callback=_instant, required=True, help="ISO 8601 with offset (exclusive).")
@click.option("--document", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The decision's scanned or signed document: its SHA-256 is recorded.")  # fmt: skip
@DATA_OPTION
def decision_add(
    reference: str,
    magistrate: str,
    case_reference: str | None,
    plates: tuple[str, ...],
    valid_from: datetime,
    valid_until: datetime,
    document: Path | None,
    data_dir: Path | None,
) -> None:
    """Register the prosecutor decision REFERENCE (never edited: revoke it and register a new one).

    \b
    Example:
      cordon legal decision-add PK-2026-0042 --magistrate "PK Dendermonde" --plate 1-ABC-234 \\
          --valid-from 2026-11-27T00:00:00+01:00 --valid-until 2026-12-27T00:00:00+01:00 --document pk.pdf
    """
    digest = hashlib.sha256(document.read_bytes()).hexdigest() if document is not None else None
    decision = ProsecutorDecision(reference, magistrate, valid_from, valid_until, case_reference, _plates(plates),
                                  digest, cli_actor(), utcnow())  # fmt: skip
    with _register(data_dir) as (db, audit):
        db.register_decision(decision)
        record_cli_action(
            audit,
            Action.DECISION_CHANGE,
            change="decision.register",
            reference=reference,
            scope=decision.describe_scope(),
        )
    click.echo(f"registered {reference}: {decision.describe_scope()}, valid {isoformat_z(valid_from)} to "
               f"{isoformat_z(valid_until)}")  # fmt: skip


@legal.command(name="decision-revoke")
@click.argument("reference")
@DATA_OPTION
def decision_revoke(reference: str, data_dir: Path | None) -> None:
    """Revoke the decision REFERENCE now."""
    with _register(data_dir) as (db, audit):
        db.revoke_decision(reference, utcnow())
        record_cli_action(audit, Action.DECISION_CHANGE, change="decision.revoke", reference=reference)
    click.echo(f"revoked {reference}")


@legal.command()
@DATA_OPTION
def decisions(data_dir: Path | None) -> None:
    """List the registered decisions."""
    with _register(data_dir) as (db, _audit_log):
        for d in db.decisions().values():
            state = f"revoked {isoformat_z(d.revoked_at)}" if d.revoked_at else f"until {isoformat_z(d.valid_until)}"
            click.echo(f"{d.reference:<20} {d.describe_scope():<40} {state}  ({d.magistrate})")


@legal.command(name="hold-add")
@click.option("--case", "case_reference", required=True, help="The case.")
@click.option("--reason", required=True, help="Why the reads must be kept.")
@click.option("--plate", "plates", multiple=True, help="Hold every read of this plate (repeat).")
@click.option("--read", "read_ids", type=int, multiple=True, help="Hold this read id (repeat).")
@DATA_OPTION
def hold_add(case_reference: str, reason: str, plates: tuple[str, ...], read_ids: tuple[int, ...],
             data_dir: Path | None) -> None:  # fmt: skip
    """Place a legal hold: the reads are kept beyond retention until it is released."""
    hold = LegalHold(case_reference, reason, _plates(plates), frozenset(read_ids), created_by=cli_actor(),
                     created_at=utcnow())  # fmt: skip
    with _register(data_dir) as (db, audit):
        stored = db.add_hold(hold)
        record_cli_action(audit, Action.DECISION_CHANGE, change="hold.add", hold=stored.hold_id, case=case_reference)
    click.echo(f"hold {stored.hold_id} placed for {case_reference}")


@legal.command(name="hold-release")
@click.argument("hold_id", type=int)
@DATA_OPTION
def hold_release(hold_id: int, data_dir: Path | None) -> None:
    """Release the legal hold HOLD_ID now (its reads follow retention again)."""
    with _register(data_dir) as (db, audit):
        db.release_hold(hold_id, utcnow())
        record_cli_action(audit, Action.DECISION_CHANGE, change="hold.release", hold=hold_id)
    click.echo(f"hold {hold_id} released")


@legal.command()
@DATA_OPTION
def holds(data_dir: Path | None) -> None:
    """List the legal holds."""
    with _register(data_dir) as (db, _audit_log):
        for h in db.holds():
            state = f"released {isoformat_z(h.released_at)}" if h.released_at else "active"
            click.echo(f"{h.hold_id:>4}  {h.case_reference:<24} {len(h.plates)} plates, {len(h.read_ids)} reads, "
                       f"{state}: {h.reason}")  # fmt: skip
