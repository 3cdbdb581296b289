"""An audit trail on a real SQLite file, and the tools of someone who tampers with it."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cordon.audit import Action, AuditEvent, AuditLog, Purpose
from cordon.audit.checkpoints import CheckpointSigner
from cordon.auth.database import Database
from cordon.settings import Settings
from tests.auth.conftest import FAST_AUTH
from tests.conftest import SMALL_ZONE

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Brussels


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", zone_file=SMALL_ZONE, auth=FAST_AUTH)


def consultation(n: int, actor: str = "ines", **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "actor": actor,
        "actor_role": "investigator",
        "action": Action.READS_SEARCH,
        "at": START + timedelta(minutes=n),
        "client": "10.1.2.3",
        "purpose": Purpose.JUDICIAL,
        "reason": "burglary series in the north",
        "offence_type": "burglary",
        "case_ref": "PV 2026/1234",
        "query": {"plate": "1ABC234", "since": "2026-11-01T00:00:00Z", "n": n},
        "result_count": 12,
    }
    return AuditEvent(**{**values, **fields})


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store at the newest schema, migrated once per session (each test copies it)."""
    path = tmp_path_factory.mktemp("template") / "store.sqlite3"
    Database.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def trail(tmp_path: Path, migrated_store: Path) -> Iterator[AuditLog]:
    """Six consultations on a fresh, migrated SQLite store."""
    path = tmp_path / "store.sqlite3"
    shutil.copyfile(migrated_store, path)
    database = Database.open(f"sqlite:///{path}")
    log = AuditLog(database, CheckpointSigner.load_or_create(tmp_path / "keys" / "audit.key"))
    for n in range(1, 7):
        log.record(consultation(n))
    yield log
    database.close()


@pytest.fixture
def tamper(trail: AuditLog) -> Callable[..., None]:
    """`tamper(sql, *params)`: what someone with write access to the database file does, triggers dropped."""
    path = trail.database.url.removeprefix("sqlite:///")

    def run(*statements: str | tuple[str, tuple[Any, ...]]) -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            for table in ("audit_entries", "audit_checkpoints"):
                for verb in ("update", "delete"):
                    connection.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
            for statement in statements:
                sql, params = statement if isinstance(statement, tuple) else (statement, ())
                connection.execute(sql, params)
        finally:
            connection.close()

    return run
