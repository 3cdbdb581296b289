"""`cordon config`: check a zone file, print its schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cordon.config import load_zone
from cordon.config.zone import ZoneConfig


@click.group()
def config() -> None:
    """Zone configuration files."""


@config.command()
@click.argument("zone_file", type=click.Path(dir_okay=False, path_type=Path))
def validate(zone_file: Path) -> None:
    """Check a zone file; print every problem with its line number.

    \b
    Example:
      cordon config validate examples/demo-zone.yaml
    Exits 0 when the file is valid, 1 otherwise.
    """
    zone = load_zone(zone_file)
    click.echo(
        f"{zone_file}: valid zone '{zone.zone.id}': {len(zone.cameras)} cameras, {len(zone.gates)} gates, "
        f"{len(zone.sections)} sections, {len(zone.truck_lock_zones)} truck-lock zones, "
        f"{len(zone.bollard_streets)} bollard streets, {len(zone.rules)} rules"
    )


@config.command()
def schema() -> None:
    """Print the JSON schema of zone files (every field, with its description)."""
    click.echo(json.dumps(ZoneConfig.model_json_schema(), indent=2))
