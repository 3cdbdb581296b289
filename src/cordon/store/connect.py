"""Opening a connection on a SQLite file of Cordon's and writing in it: one way for the store of record, the
tables beside it (`side.py`) and the investigation's connections, so that every one waits for the lock as long
as `CORDON_SQLITE_BUSY_TIMEOUT_S` says and no failed write leaves a connection inside a transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from cordon.store.base import StoreError

Synchronous = Literal["FULL", "NORMAL"]


def connect(path: Path, busy_timeout_s: float, synchronous: Synchronous = "FULL") -> sqlite3.Connection:
    """An autocommit connection usable from any thread (the caller serialises it): WAL, `synchronous`, foreign
    keys on, and `busy_timeout_s` to wait for another writer's lock. A file that cannot be opened is a
    `StoreError` naming it."""
    try:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from exc
    return connection


@contextmanager
def immediate(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT`; `ROLLBACK` when the block raises, and also when `COMMIT` itself failed
    (disk full, I/O error): a connection left inside an open transaction would fail every later `BEGIN`."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
