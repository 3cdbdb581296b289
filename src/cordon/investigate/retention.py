"""Retention: reads older than their camera's retention (at most 12 months) are deleted, with their images,
unless a legal hold freezes them; every run that deletes is counted in the audit trail.

`RetentionJob.run_once(now)` is the whole job (`cordon retention run`, and `cordon serve` on a schedule). It
deletes in small transactions (ingest keeps committing between them), walks each camera's reads in time
order through `ix_reads_camera_time`, and removes an image file only when no remaining read refers to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cordon.audit import AuditEvent
from cordon.audit.events import AuditRecorder
from cordon.config.zone import MAX_RETENTION_DAYS, ZoneConfig
from cordon.investigate.db import InvestigationDb
from cordon.investigate.index import SearchIndex
from cordon.store.images import ImageStore
from cordon.timeutil import isoformat_z, to_micros

log = logging.getLogger(__name__)

RETENTION_ACTION = "retention.delete"


@dataclass(frozen=True, slots=True)
class CameraRetention:
    """One camera's part of a run."""

    camera_id: str
    retention_days: int
    cutoff: datetime  # reads observed before this instant are past retention
    deleted: int
    held: int  # past retention but kept by a legal hold


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a run did (or, dry, would do)."""

    at: datetime
    dry_run: bool
    cameras: tuple[CameraRetention, ...]
    images_deleted: int
    plates_pruned: int

    @property
    def deleted(self) -> int:
        return sum(c.deleted for c in self.cameras)

    @property
    def held(self) -> int:
        return sum(c.held for c in self.cameras)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": isoformat_z(self.at),
            "dryRun": self.dry_run,
            "deleted": self.deleted,
            "held": self.held,
            "imagesDeleted": self.images_deleted,
            "platesPruned": self.plates_pruned,
            "cameras": [
                {"cameraId": c.camera_id, "retentionDays": c.retention_days, "cutoff": isoformat_z(c.cutoff),
                 "deleted": c.deleted, "held": c.held}
                for c in self.cameras
            ],
        }  # fmt: skip


@dataclass
class RetentionJob:
    """Deletes what the law no longer allows to keep. Safe to run while `cordon serve` ingests."""

    db: InvestigationDb
    zone: ZoneConfig
    images: ImageStore
    audit: AuditRecorder
    actor: str = "system"
    batch: int = 5000

    def _stored_cameras(self) -> Iterator[str]:
        """Distinct camera ids of the stored reads, by skipping along the camera index (no full scan)."""
        connection = self.db.connection()
        last = ""
        while True:
            row = connection.execute(
                "SELECT camera_id FROM reads WHERE camera_id > ? ORDER BY camera_id LIMIT 1", (last,)
            ).fetchone()
            if row is None:
                return
            last = row[0]
            yield last

    def _retention_days(self, camera_id: str) -> int:
        camera = self.zone.camera(camera_id)
        return camera.retention_days if camera is not None else MAX_RETENTION_DAYS

    def run_once(self, now: datetime, dry_run: bool = False) -> RetentionReport:
        if not dry_run:
            SearchIndex(self.db).catch_up()  # index first, so pruning sees every plate the deleted reads had
        holds = self.db.holds(active_at=now)
        held_plates = frozenset(p for h in holds for p in h.plates)
        held_reads = frozenset(r for h in holds for r in h.read_ids)
        cameras, images_deleted, pruned = [], 0, 0
        for camera_id in list(self._stored_cameras()):
            days = self._retention_days(camera_id)
            cutoff = now - timedelta(days=days)
            deleted, held, plates, refs = self._camera(camera_id, cutoff, held_plates, held_reads, dry_run)
            if deleted or held:
                cameras.append(CameraRetention(camera_id, days, cutoff, deleted, held))
            if not dry_run:
                pruned += self._prune_plates(plates)
                images_deleted += self._delete_images(refs)
        report = RetentionReport(now, dry_run, tuple(cameras), images_deleted, pruned)
        if not dry_run and (report.deleted or report.images_deleted):
            self.audit.record(
                AuditEvent(
                    actor=self.actor, action=RETENTION_ACTION, at=now, result_count=report.deleted,
                    details={"held": report.held, "imagesDeleted": images_deleted,
                             "cameras": {c.camera_id: c.deleted for c in report.cameras}},
                )
            )  # fmt: skip
        log.info("retention: %d reads deleted, %d held, %d images removed", report.deleted, report.held, images_deleted)
        return report

    def _camera(
        self, camera_id: str, cutoff: datetime, held_plates: frozenset[str], held_reads: frozenset[int], dry_run: bool
    ) -> tuple[int, int, set[str], set[str]]:
        """(deleted, held, plates touched, image refs freed) for one camera, batch by batch."""
        deleted = held = 0
        plates: set[str] = set()
        refs: set[str] = set()
        after = (-(2**62), 0)
        limit = to_micros(cutoff)
        connection = self.db.connection()
        while True:
            rows = connection.execute(
                "SELECT id, event_time_us, plate, image_ref FROM reads WHERE camera_id = ? AND event_time_us < ? "
                "AND (event_time_us, id) > (?, ?) ORDER BY event_time_us, id LIMIT ?",
                (camera_id, limit, *after, self.batch),
            ).fetchall()
            if not rows:
                break
            after = (rows[-1][1], rows[-1][0])
            doomed = [r for r in rows if r[0] not in held_reads and r[2] not in held_plates]
            held += len(rows) - len(doomed)
            deleted += len(doomed)
            plates.update(r[2] for r in doomed)
            refs.update(r[3] for r in doomed if r[3])
            if doomed and not dry_run:
                with self.db.transaction() as tx:
                    ids = [(r[0],) for r in doomed]
                    tx.executemany("DELETE FROM reads WHERE id = ?", ids)
                    tx.executemany("DELETE FROM read_candidates WHERE read_id = ?", ids)
        return deleted, held, plates, refs

    def _prune_plates(self, plates: set[str]) -> int:
        """Drop distinct plates (plate_index) that no read carries any more."""
        pruned = 0
        ordered = sorted(plates)
        for start in range(0, len(ordered), self.batch):
            with self.db.transaction() as tx:
                for plate in ordered[start : start + self.batch]:
                    cursor = tx.execute(
                        "DELETE FROM plate_index WHERE plate = ? AND NOT EXISTS "
                        "(SELECT 1 FROM reads WHERE plate = ? LIMIT 1)",
                        (plate, plate),
                    )
                    pruned += cursor.rowcount
        return pruned

    def _delete_images(self, refs: set[str]) -> int:
        """Remove image files that no remaining read refers to (images are shared by content)."""
        removed = 0
        connection = self.db.connection()
        for ref in sorted(refs):
            if connection.execute("SELECT 1 FROM reads WHERE image_ref = ? LIMIT 1", (ref,)).fetchone():
                continue
            path = self.images.path_of(ref)
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                continue
        return removed
