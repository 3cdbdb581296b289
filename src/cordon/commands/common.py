"""What every command shares: settings from options and environment, clean failures."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from cordon.audit.events import AuditEvent, AuditRecorder
from cordon.errors import CordonError
from cordon.settings import Settings
from cordon.timeutil import utcnow

DATA_OPTION = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CORDON_DATA_DIR",
    default=None,
    help="Data folder (database, images). Env: CORDON_DATA_DIR. Default: ./data",
)
ZONE_OPTION = click.option(
    "--zone",
    "zone_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CORDON_ZONE_FILE",
    default=None,
    help="Zone YAML file. Env: CORDON_ZONE_FILE.",
)


def build_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's options on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise CordonError("invalid_settings", f"invalid settings: {problems}") from None


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def cli_actor() -> str:
    """Who acts from the server's console, for the audit trail: `cli:<os user>`."""
    return f"cli:{getpass.getuser()}"


def record_cli_action(audit: AuditRecorder, action: str, query: dict[str, Any] | None = None, **details: Any) -> None:
    """Record in the audit trail what the console's user just did."""
    audit.record(AuditEvent(actor=cli_actor(), client="cli", action=action, at=utcnow(), query=query, details=details))
