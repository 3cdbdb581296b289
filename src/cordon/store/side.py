"""A connection of its own on the store's SQLite file, for the tables beside the reads (decisions, reference
data): WAL, `synchronous=FULL`, one lock so threads take turns, and transactions that roll back on error."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cordon.store.connect import connect, immediate


class SideConnection:
    """One serialised connection; `busy_timeout_s` is how long a write waits for the database lock."""

    def __init__(self, path: Path, busy_timeout_s: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._db = connect(path, busy_timeout_s)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` when the block raises (`connect.immediate`)."""
        with self._lock, immediate(self._db) as connection:
            yield connection

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()
