"""Open the store named by the settings, migrated to the schema this code expects."""

from __future__ import annotations

from pathlib import Path

from cordon.settings import Settings
from cordon.store import migrate
from cordon.store.base import Store, StoreError
from cordon.store.sqlite import SqliteStore


def open_store(settings: Settings, *, auto_migrate: bool = True) -> Store:
    """The store of record. With `auto_migrate`, an older schema is migrated forward first."""
    url = settings.store_url
    if not url.startswith("sqlite:///"):
        raise StoreError(
            f"unsupported store URL {url.split(':', 1)[0]!r}: this version ships the embedded SQLite store "
            "(sqlite:///path); the PostgreSQL store is planned behind the same interface"
        )
    current = migrate.current_revision(url)
    head = migrate.head_revision()
    if current != head:
        if not auto_migrate:
            raise StoreError(f"the store is at schema {current or 'empty'}, not {head}: run `cordon db migrate`")
        migrate.upgrade(url)
    return SqliteStore(
        Path(url.removeprefix("sqlite:///")),
        synchronous=settings.sqlite_synchronous,
        busy_timeout_s=settings.sqlite_busy_timeout_s,
    )
