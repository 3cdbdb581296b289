"""What every command shares: settings from options and environment, clean failures."""

from __future__ import annotations

import getpass
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def stop_on_signals(log: Callable[[str], None]) -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (a service stopped, Ctrl-C) while the block runs: a live source then ends
    as a file does, so the vehicles in view are still read out and the queue drained. The previous handlers come
    back after the block. Outside the main thread signals cannot be caught, and the event is never set."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log(f"{signal.Signals(signum).name}: stopping after the vehicles in view")
        stop.set()

    caught = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
    previous = {sig: signal.signal(sig, on_signal) for sig in caught}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
