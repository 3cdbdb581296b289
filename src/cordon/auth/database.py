"""The SQL connection that accounts and the audit trail share: the store's own database, through SQLAlchemy Core.

Accounts and audit entries are few and small next to reads, so they go through SQLAlchemy Core rather than the
hot path's raw `sqlite3`; that keeps their SQL dialect-neutral (the same code runs on PostgreSQL in the tests).
On SQLite the connections follow the store's conventions (`cordon.store.sqlite`): WAL, `synchronous=FULL`
(a committed login or audit entry survives power loss), the store's busy timeout, and `BEGIN IMMEDIATE` for every
write transaction, so two processes (`cordon serve` and a `cordon users` command) never interleave writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from cordon.store import migrate
from cordon.store.base import StoreError


class Database:
    """An engine on the store's URL with durable, serialised write transactions."""

    def __init__(self, url: str, synchronous: str = "FULL", busy_timeout_s: float = 30.0) -> None:
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        self.engine: Engine = create_engine(url, pool_pre_ping=self.dialect != "sqlite")
        if self.dialect == "sqlite":
            self._configure_sqlite(self.engine, synchronous, int(busy_timeout_s * 1000))

    @staticmethod
    def _configure_sqlite(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: object) -> None:
            # autocommit at the driver: SQLAlchemy's `begin` event below issues the BEGIN we want
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.info.get("write") else "BEGIN")

    @classmethod
    def open(cls, url: str, synchronous: str = "FULL", busy_timeout_s: float = 30.0) -> Database:
        """The database at `url`, migrated to the newest schema first (as `open_store` does)."""
        if migrate.current_revision(url) != migrate.head_revision():
            migrate.upgrade(url)
        return cls(url, synchronous, busy_timeout_s)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed (durably) when the block ends, rolled back if it raises.

        A database that cannot be reached or stays locked past the busy timeout raises `StoreError` (the API
        answers 503 `store_unavailable`, the CLI one clean line)."""
        try:
            with self.engine.connect() as connection:
                connection.info["write"] = True
                try:
                    with connection.begin():
                        yield connection
                finally:
                    connection.info.pop("write", None)
        except OperationalError as exc:
            raise StoreError(f"the store cannot take the request now: {exc.orig}") from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot transaction."""
        try:
            with self.engine.connect() as connection, connection.begin():
                yield connection
        except OperationalError as exc:
            raise StoreError(f"the store cannot answer now: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()
