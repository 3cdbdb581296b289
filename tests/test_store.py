"""The embedded store: durable, idempotent, atomic per batch, migrated both ways, images by content."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cordon.records import BoundingBox, Direction, GeoPoint, PlateCandidate, PlateRead, VehicleType
from cordon.settings import Settings
from cordon.store import StoreError, open_store
from cordon.store import migrate as migrations
from cordon.store.connect import connect, immediate
from cordon.store.images import ImageRejected, ImageStore
from cordon.store.sqlite import SqliteStore

MakeRead = Callable[..., PlateRead]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def store(settings: Settings) -> SqliteStore:
    opened = open_store(settings)
    assert isinstance(opened, SqliteStore)
    yield opened  # type: ignore[misc]
    opened.close()


def test_append_then_read_back_every_field(store: SqliteStore, make_read: MakeRead) -> None:
    at = datetime(2026, 11, 27, 8, 15, 2, 120000, tzinfo=UTC)
    read = make_read(
        "1ABC234", at=at, plate_as_read="1-abc-234", country="BE", confidence=0.91,
        candidates=(PlateCandidate(plate="1ABC284", confidence=0.4),), bbox=BoundingBox(x=1, y=2, w=30, h=10),
        lane_id="1", direction=Direction.TOWARDS, location=GeoPoint(lat=51.06, lon=4.03),
        vehicle_type=VehicleType.VAN, speed=48.5, image_ref="a" * 64,
    )  # fmt: skip
    assert store.append([read]).stored == (True,)
    (back,) = store.plate_history("1ABC234")
    assert back == read
    assert back.date_observed.tzinfo is not None


def test_resent_read_is_acknowledged_not_stored_twice(store: SqliteStore, make_read: MakeRead) -> None:
    first = make_read(event_id="e-1")
    assert store.append([first]).stored == (True,)
    again = store.append([first, make_read(event_id="e-2"), first])
    assert again.stored == (False, True, False)
    assert store.count_reads() == 2
    # the same event id from another camera is another event
    assert store.append([make_read(event_id="e-1", camera="cam-school")]).stored == (True,)


def test_history_queries_are_ordered_and_windowed(store: SqliteStore, make_read: MakeRead) -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    store.append([make_read("1ABC234", at=base + timedelta(hours=h)) for h in range(10)])
    store.append([make_read("2XYZ999", at=base, camera="cam-school")])
    history = store.plate_history("1ABC234", since=base + timedelta(hours=2), until=base + timedelta(hours=5))
    assert [r.date_observed.hour for r in history] == [4, 3, 2]
    assert len(store.plate_history("1ABC234", limit=3)) == 3
    assert [r.plate for r in store.camera_reads("cam-school")] == ["2XYZ999"]
    cursor = store.last_cursor()
    assert [r.plate for _, r in store.reads_after(cursor - 1)] == ["2XYZ999"]


def test_indexes_serve_plate_and_camera_queries(store: SqliteStore) -> None:
    connection = sqlite3.connect(store.path)
    plans = {
        "plate": "SELECT * FROM reads WHERE plate = '1ABC234' AND event_time_us > 0",
        "camera": "SELECT * FROM reads WHERE camera_id = 'cam-north' AND event_time_us > 0",
    }
    for name, sql in plans.items():
        plan = " ".join(str(row) for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert f"ix_reads_{name}_time" in plan, plan
    connection.close()


def test_wal_and_full_sync(store: SqliteStore) -> None:
    connection = store._writer
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_failed_batch_leaves_nothing(store: SqliteStore, make_read: MakeRead) -> None:
    good = make_read(event_id="ok")
    broken = make_read(event_id="bad").model_copy(update={"plate": None})  # NOT NULL violation mid-batch
    with pytest.raises(sqlite3.IntegrityError):
        store.append([good, broken])
    assert store.count_reads() == 0


def test_store_refuses_unmigrated_schema_without_auto_migrate(settings: Settings) -> None:
    with pytest.raises(StoreError, match="cordon db migrate"):
        open_store(settings, auto_migrate=False)


def test_store_url_other_than_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported store URL 'postgresql'"):
        open_store(Settings(data_dir=tmp_path, database_url="postgresql://localhost/cordon"))


def test_migrations_run_forward_and_back(settings: Settings, make_read: MakeRead) -> None:
    url = settings.store_url
    assert migrations.current_revision(url) is None
    migrations.upgrade(url)
    assert migrations.current_revision(url) == migrations.head_revision()
    store = open_store(settings, auto_migrate=False)
    store.append([make_read()])
    store.close()
    connection = sqlite3.connect(settings.sqlite_path)  # 0004: the search index starts before the first read
    assert connection.execute("SELECT name, last_read_id FROM search_index_state").fetchall() == [("plates", 0)]
    connection.close()
    migrations.downgrade(url, "base")
    assert migrations.current_revision(url) is None
    tables = {row[0] for row in sqlite3.connect(settings.sqlite_path).execute("SELECT name FROM sqlite_master")}
    assert not tables & {"reads", "plate_index", "read_candidates", "prosecutor_decisions", "legal_holds"}
    migrations.upgrade(url)
    assert migrations.current_revision(url) == migrations.head_revision()
    assert [rev for rev, _ in migrations.history()][-1] == migrations.head_revision()


_KILL_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from cordon.records import PlateRead
    from cordon.settings import Settings
    from cordon.store import open_store

    store = open_store(Settings(data_dir=sys.argv[1]))
    now = datetime.now(UTC)
    batch_size = int(sys.argv[2])
    for b in range(10_000):
        reads = [
            PlateRead(event_id=f"{b}-{i}", observed_by="cam-north", date_observed=now, date_received=now,
                      plate_as_read="1ABC234", plate="1ABC234")
            for i in range(batch_size)
        ]
        store.append(reads)
        print(b, flush=True)
    """
)


def test_killed_mid_batch_leaves_whole_batches_only(tmp_path: Path) -> None:
    """kill -9 while batches are being written: every batch is stored whole or not at all."""
    batch_size = 20_000
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-c", _KILL_WRITER, str(data), str(batch_size)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    acknowledged = -1
    for line in process.stdout:  # wait for two committed batches, then kill inside the next ones
        acknowledged = int(line)
        if acknowledged >= 1:
            break
    time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    store = open_store(Settings(data_dir=data))
    try:
        count = store.count_reads()
    finally:
        store.close()
    assert count % batch_size == 0, f"{count} reads: a batch was cut"
    assert count >= (acknowledged + 1) * batch_size, "an acknowledged batch was lost"


def test_images_are_content_addressed_and_limited(tmp_path: Path) -> None:
    images = ImageStore(tmp_path / "images", max_bytes=1024)
    stored = images.put(PNG)
    assert stored.sha256 == hashlib.sha256(PNG).hexdigest()
    assert stored.content_type == "image/png"
    assert images.put(PNG) == stored  # same content, same place, written once
    assert images.get(stored.sha256) == PNG
    assert images.path_of(stored.sha256).parent.name == stored.sha256[:2]
    with pytest.raises(ImageRejected) as too_big:
        images.put(PNG + b"\x00" * 2048)
    assert too_big.value.reason == "image_too_large"
    with pytest.raises(ImageRejected) as not_image:
        images.put(b"GIF89a not accepted")
    assert not_image.value.reason == "image_format"
    with pytest.raises(ValueError, match="SHA-256"):
        images.path_of("../../etc/passwd")
    assert list((tmp_path / "images").rglob("*.tmp")) == []


def test_migrations_run_forward_and_back_on_postgresql(postgres_url: str) -> None:
    """The schema is written dialect-neutral: the PostgreSQL store can follow without a new migration."""
    from sqlalchemy import create_engine, inspect

    migrations.upgrade(postgres_url)
    assert migrations.current_revision(postgres_url) == migrations.head_revision()
    engine = create_engine(postgres_url)
    try:
        inspector = inspect(engine)
        assert {"reads", "camera_keys", "camera_rejections", "alerts", "violations", "commands"} <= set(
            inspector.get_table_names()
        )
        indexes = {index["name"] for index in inspector.get_indexes("reads")}
        assert {"ix_reads_plate_time", "ix_reads_camera_time"} <= indexes
        investigation = {"plate_index", "read_candidates", "search_index_state", "prosecutor_decisions", "legal_holds"}
        assert investigation <= set(inspector.get_table_names())
        accounts = {"users", "sessions", "login_failures", "audit_entries", "audit_checkpoints"}  # 0003
        assert accounts <= set(inspector.get_table_names())
        id_type = next(c["type"] for c in inspector.get_columns("reads") if c["name"] == "id")
        assert str(id_type) == "BIGINT"
        migrations.downgrade(postgres_url, "base")
        assert "reads" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert migrations.current_revision(postgres_url) is None


def test_one_way_to_open_and_write_a_cordon_sqlite_file(tmp_path: Path) -> None:
    """`connect` and `immediate`, shared by the store, the tables beside it and the investigation: WAL, the
    configured wait for a writer's lock, foreign keys; a failed block leaves nothing and no open transaction."""
    connection = connect(tmp_path / "x.db", busy_timeout_s=1.5, synchronous="NORMAL")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 1500
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    connection.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    with pytest.raises(sqlite3.IntegrityError), immediate(connection) as db:
        db.execute("INSERT INTO t VALUES (1)")
        db.execute("INSERT INTO t VALUES (NULL)")
    assert not connection.in_transaction
    assert connection.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with immediate(connection) as db:
        db.execute("INSERT INTO t VALUES (2)")
    assert connection.execute("SELECT x FROM t").fetchall() == [(2,)]
    connection.close()
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(StoreError, match=r"cannot open the store at .*folder\.db"):
        connect(tmp_path / "folder.db", busy_timeout_s=1.0)
