"""`cordon cameras`: the zone's cameras and their API keys."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings
from cordon.errors import CordonError
from cordon.ingest.keys import KeyRing
from cordon.runtime import load_zone_for
from cordon.store import open_store


@click.group()
def cameras() -> None:
    """Cameras and their API keys."""


@cameras.command("list")
@DATA_OPTION
@ZONE_OPTION
def list_cameras(data_dir: Path | None, zone_file: Path | None) -> None:
    """List the zone's cameras with their lanes, purposes and number of active keys."""
    settings = build_settings(data_dir=data_dir, zone_file=zone_file)
    zone = load_zone_for(settings)
    store = open_store(settings)
    try:
        keys: dict[str, int] = {}
        for key in store.active_camera_keys():
            keys[key.camera_id] = keys.get(key.camera_id, 0) + 1
    finally:
        store.close()
    table = Table("camera", "kind", "site", "lanes", "transport", "purposes", "keys")
    for camera in zone.cameras:
        lanes = " ".join(f"{lane.id}:{lane.movement.value}" for lane in camera.lanes)
        purposes = ", ".join(p.value for p in camera.purposes)
        table.add_row(
            camera.id, camera.kind, camera.site or "-", lanes, camera.transport.value, purposes,
            str(keys.get(camera.id, 0)),
        )  # fmt: skip
    Console().print(table)


@cameras.command()
@DATA_OPTION
@ZONE_OPTION
@click.argument("camera_id")
@click.option("--label", default="", help="A note on where the key is used (edge unit, vendor).")
def key(data_dir: Path | None, zone_file: Path | None, camera_id: str, label: str) -> None:
    """Issue a new API key for CAMERA_ID and print it once (only its hash is kept).

    \b
    Example:
      cordon cameras key cam-n445-north --zone examples/demo-zone.yaml --label "edge unit 7"
    """
    settings = build_settings(data_dir=data_dir, zone_file=zone_file)
    zone = load_zone_for(settings)
    if zone.camera(camera_id) is None:
        raise CordonError("unknown_camera", f"camera '{camera_id}' is not in zone '{zone.zone.id}'")
    store = open_store(settings)
    try:
        click.echo(KeyRing(store).issue(camera_id, label))
    finally:
        store.close()


@cameras.command()
@DATA_OPTION
@click.argument("camera_id")
def revoke(data_dir: Path | None, camera_id: str) -> None:
    """Revoke every API key of CAMERA_ID (a running server refuses them within a second)."""
    settings = build_settings(data_dir=data_dir)
    store = open_store(settings)
    try:
        count = store.revoke_camera_keys(camera_id)
    finally:
        store.close()
    click.echo(f"revoked {count} key(s) of camera '{camera_id}'")
