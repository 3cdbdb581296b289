"""Schema migrations, forward and back, on SQLite and PostgreSQL (Alembic under the hood)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from cordon.store.base import StoreError

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _prepare(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_config("sqlite://")).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StoreError("no migrations shipped")
    return head


def current_revision(url: str) -> str | None:
    """The schema revision the store is at (None: empty store)."""
    _prepare(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the store forward to `revision`."""
    _prepare(url)
    command.upgrade(_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the store back to `revision` (`base` empties it)."""
    command.downgrade(_config(url), revision)


def history() -> list[tuple[str, str]]:
    """(revision, one-line description) of every migration, oldest first."""
    scripts = ScriptDirectory.from_config(_config("sqlite://"))
    return [(s.revision, (s.doc or "").splitlines()[0]) for s in reversed(list(scripts.walk_revisions()))]
