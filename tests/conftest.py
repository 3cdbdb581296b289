"""Shared fixtures: real settings on a temporary folder, a real runtime, a read factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cordon.config import ZoneConfig, load_zone
from cordon.records import PlateRead
from cordon.runtime import Runtime, build_runtime
from cordon.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SMALL_ZONE = ROOT / "examples" / "small-zone.yaml"
DEMO_ZONE = ROOT / "examples" / "demo-zone.yaml"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", zone_file=SMALL_ZONE)


@pytest.fixture
def zone() -> ZoneConfig:
    return load_zone(SMALL_ZONE)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    active = build_runtime(settings)
    active.start()
    yield active
    active.stop()


@pytest.fixture
def make_read() -> Callable[..., PlateRead]:
    """`make_read(plate="1ABC234", camera="cam-north", at=datetime, event_id=...)` -> a valid PlateRead."""
    counter = iter(range(1, 10**9))

    def make(
        plate: str = "1ABC234",
        camera: str = "cam-north",
        at: datetime | None = None,
        event_id: str | None = None,
        **fields: Any,
    ) -> PlateRead:
        moment = at or datetime.now(UTC) - timedelta(seconds=1)
        values: dict[str, Any] = {
            "event_id": event_id or f"ev-{next(counter)}",
            "observed_by": camera,
            "date_observed": moment,
            "date_received": moment,
            "plate_as_read": plate,
            "plate": plate,
        }
        return PlateRead(**{**values, **fields})

    return make


def read_json(plate: str = "1-ABC-234", at: datetime | None = None, **fields: Any) -> dict[str, Any]:
    """A read as a camera posts it (Cordon JSON)."""
    moment = at or datetime.now(UTC) - timedelta(seconds=1)
    body: dict[str, Any] = {"dateObserved": moment.isoformat(), "licensePlate": plate, "laneId": "1"}
    body.update(fields)
    return body


LOGIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
def login_as(runtime: Runtime) -> Callable[..., dict[str, str]]:
    """`login_as(Role.INVESTIGATOR)` -> `{"Authorization": "Bearer cdu_..."}`: a fresh session of a user of that
    role. The user (named after the role unless `username=` is given, password `LOGIN_PASSWORD`) is created on
    first use; each call opens a new session, so a test may log one out without touching the others. The users'
    passwords are hashed with cheap argon2 parameters (the runtime re-hashes at a password login)."""
    from cordon.auth.models import Actor
    from cordon.auth.passwords import Passwords
    from cordon.auth.roles import Role
    from cordon.auth.users import UserAdmin
    from cordon.errors import CordonError

    users = runtime.accounts.users
    cheap = UserAdmin(users.database, Passwords(1, 1024, 1), users.audit, users.totp_required, users.totp_issuer)

    def login(role: Role, username: str | None = None) -> dict[str, str]:
        name = username or role.value
        try:
            users.get(name)
        except CordonError:
            cheap.add(name, role, LOGIN_PASSWORD, Actor("test-setup"))
        return {"Authorization": f"Bearer {runtime.accounts.sessions.issue(name, 'testclient')}"}

    return login


from tests.postgres import postgres_url  # noqa: E402, F401 - a fixture, shared by every test module
