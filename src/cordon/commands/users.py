"""`cordon users`: people's accounts, run on the server by its administrator. Every change is audited as
`cli:<os user>`. Passwords come from a hidden prompt or from stdin, never from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from cordon.auth.models import Actor
from cordon.auth.roles import Role
from cordon.auth.service import Accounts, build_security
from cordon.commands.common import DATA_OPTION, build_settings, cli_actor
from cordon.errors import CordonError
from cordon.timeutil import utcnow

PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin (for scripts)."
)
ROLES = click.Choice([role.value for role in Role])


@contextmanager
def _accounts(data_dir: Path | None) -> Iterator[Accounts]:
    security = build_security(build_settings(data_dir=data_dir))
    try:
        yield security.accounts
    finally:
        security.close()


def _actor() -> Actor:
    return Actor(cli_actor(), None, "cli")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CordonError("no_password", "no password on stdin")
        return line
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _show_enrolment(username: str, uri: str) -> None:
    click.echo(f"second factor for {username}: add this to the authenticator app (or show it as a QR code), once:")
    click.echo(uri)


@click.group()
def users() -> None:
    """People's accounts: roles, passwords, second factors (camera keys: `cordon cameras`)."""


@users.command()
@DATA_OPTION
@click.argument("username")
@click.option("--role", type=ROLES, required=True, help="The account's role (DESIGN.md §1).")
@click.option("--name", "display_name", default="", help="Full name, shown in the audit report.")
@PASSWORD_STDIN
def add(data_dir: Path | None, username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create an account. Roles that need a second factor (investigator, admin) get one, printed once.

    \b
    Example:
      cordon users add jdupont --role investigator --name "J. Dupont"
      printf '%s\\n' "$PASSWORD" | cordon users add jdupont --role operator --password-stdin
    """
    password = _password(password_stdin)
    with _accounts(data_dir) as accounts:
        user, uri = accounts.users.add(username, Role(role), password, _actor(), display_name)
    click.echo(f"created user {user.username} ({user.role.value})")
    if uri is not None:
        _show_enrolment(user.username, uri)


@users.command("list")
@DATA_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_users(data_dir: Path | None, as_json: bool) -> None:
    """List the accounts with their role, second factor, state and last login."""
    with _accounts(data_dir) as accounts:
        found = accounts.users.list()
    if as_json:
        for user in found:
            click.echo(orjson.dumps(user).decode())
        return
    table = Table("user", "name", "role", "2FA", "state", "last login (UTC)")
    now = utcnow()
    for user in found:
        locked = f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC" if user.locked(now) else "ok"
        state = "disabled" if user.disabled else locked
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "-"
        table.add_row(
            user.username, user.display_name, user.role.value, "yes" if user.totp_enrolled else "-", state, last
        )
    Console().print(table)


@users.command()
@DATA_OPTION
@click.argument("username")
def disable(data_dir: Path | None, username: str) -> None:
    """Disable an account: it cannot sign in, and its sessions end at once."""
    with _accounts(data_dir) as accounts:
        accounts.users.set_disabled(username, True, _actor())
    click.echo(f"disabled user {username}")


@users.command()
@DATA_OPTION
@click.argument("username")
def enable(data_dir: Path | None, username: str) -> None:
    """Enable an account again (also lifts a lock-out)."""
    with _accounts(data_dir) as accounts:
        accounts.users.set_disabled(username, False, _actor())
    click.echo(f"enabled user {username}")


@users.command("set-role")
@DATA_OPTION
@click.argument("username")
@click.argument("role", type=ROLES)
def set_role(data_dir: Path | None, username: str, role: str) -> None:
    """Change an account's role (its sessions end)."""
    with _accounts(data_dir) as accounts:
        accounts.users.set_role(username, Role(role), _actor())
    click.echo(f"user {username} is now {role}")


@users.command("reset-password")
@DATA_OPTION
@click.argument("username")
@PASSWORD_STDIN
def reset_password(data_dir: Path | None, username: str, password_stdin: bool) -> None:
    """Set a new password (lifts a lock-out, ends the user's sessions)."""
    password = _password(password_stdin)
    with _accounts(data_dir) as accounts:
        accounts.users.reset_password(username, password, _actor())
    click.echo(f"new password set for {username}")


@users.command()
@DATA_OPTION
@click.argument("username")
@click.option("--remove", is_flag=True, help="Remove the second factor (refused for roles that need one).")
def totp(data_dir: Path | None, username: str, remove: bool) -> None:
    """Enrol a new TOTP second factor (the old one stops working) and print its otpauth:// URI once."""
    with _accounts(data_dir) as accounts:
        if remove:
            accounts.users.remove_totp(username, _actor())
            click.echo(f"removed the second factor of {username}")
            return
        uri = accounts.users.enrol_totp(username, _actor())
    _show_enrolment(username, uri)
