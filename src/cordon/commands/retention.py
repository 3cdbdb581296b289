"""`cordon retention run`: delete reads and images past each camera's retention, legal holds respected."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from cordon.auth.service import build_security
from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings, cli_actor
from cordon.investigate import InvestigationDb, RetentionJob
from cordon.runtime import load_zone_for
from cordon.store.images import ImageStore
from cordon.timeutil import utcnow


@click.group()
def retention() -> None:
    """Retention of reads and images (at most 12 months, per camera; legal holds kept)."""


@retention.command()
@ZONE_OPTION
@DATA_OPTION
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON.")
def run(zone_file: Path | None, data_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Delete reads older than their camera's `retention_days`, and their images, now.

    `cordon serve` runs the same job on a schedule; run this after changing a camera's retention, or to see
    what the next run will delete (--dry-run). Deletions are counted in the audit trail.

    \b
    Example:
      cordon retention run --zone examples/demo-zone.yaml --dry-run
    """
    settings = build_settings(zone_file=zone_file, data_dir=data_dir)
    zone = load_zone_for(settings)
    security = build_security(settings)
    db = InvestigationDb.for_settings(settings)
    try:
        images = ImageStore(settings.images_dir, settings.ingest.max_image_bytes)
        job = RetentionJob(db, zone, images, security.audit, actor=cli_actor())
        report = job.run_once(utcnow(), dry_run=dry_run)
    finally:
        db.close()
        security.close()
    if as_json:
        click.echo(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
        return
    verb = "would delete" if dry_run else "deleted"
    for camera in report.cameras:
        click.echo(f"{camera.camera_id:<22} keeps {camera.retention_days:>3} days: {verb} {camera.deleted}, "
                   f"held {camera.held}")  # fmt: skip
    click.echo(f"{verb} {report.deleted} reads and {report.images_deleted} images; {report.held} held by legal holds")
