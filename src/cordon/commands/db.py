"""`cordon db`: schema migrations of the store, forward and back."""

from __future__ import annotations

from pathlib import Path

import click

from cordon.commands.common import DATA_OPTION, build_settings
from cordon.store import migrate as migrations


@click.group()
def db() -> None:
    """The store's schema."""


@db.command()
@DATA_OPTION
@click.argument("revision", default="head")
def migrate(data_dir: Path | None, revision: str) -> None:
    """Migrate the store forward (to REVISION, default: the newest).

    \b
    Example:
      cordon db migrate --data /var/lib/cordon
    """
    settings = build_settings(data_dir=data_dir)
    before = migrations.current_revision(settings.store_url)
    migrations.upgrade(settings.store_url, revision)
    after = migrations.current_revision(settings.store_url)
    click.echo(f"store {settings.store_url_for_logs}: schema {before or 'empty'} -> {after}")


@db.command()
@DATA_OPTION
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade(data_dir: Path | None, revision: str, yes: bool) -> None:
    """Migrate the store back to REVISION (`base` drops every table: all data is lost)."""
    settings = build_settings(data_dir=data_dir)
    if not yes:
        click.confirm(
            f"Migrate {settings.store_url_for_logs} back to {revision}? Data in dropped tables is lost", abort=True
        )
    migrations.downgrade(settings.store_url, revision)
    now = migrations.current_revision(settings.store_url) or "empty"
    click.echo(f"store {settings.store_url_for_logs}: schema now {now}")


@db.command()
@DATA_OPTION
def current(data_dir: Path | None) -> None:
    """Print the store's schema revision and the newest one this version knows."""
    settings = build_settings(data_dir=data_dir)
    click.echo(f"current: {migrations.current_revision(settings.store_url) or 'empty'}")
    click.echo(f"newest:  {migrations.head_revision()}")


@db.command()
def history() -> None:
    """List the migrations this version ships."""
    for revision, description in migrations.history():
        click.echo(f"{revision}  {description}")
