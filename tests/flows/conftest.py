"""Shared pieces of the flows tests: a movable clock, flow records, the demo zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cordon.api import create_app
from cordon.config import ZoneConfig, load_zone
from cordon.runtime import Runtime
from cordon.settings import Settings
from cordon.sim import NoiseSettings
from tests.conftest import DEMO_ZONE
from tests.simtown import SimulatedTown, simulate_town


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # 21:00 in Brussels


@pytest.fixture(scope="session")
def demo_zone() -> ZoneConfig:
    return load_zone(DEMO_ZONE)


FAST_AUTH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The demo zone (its gate cameras are authorised for traffic statistics), cheap password hashing, no rules."""
    return Settings(data_dir=tmp_path / "data", zone_file=DEMO_ZONE, auth=FAST_AUTH, rules={"enabled": False})


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def town_week(tmp_path_factory: pytest.TempPathFactory) -> SimulatedTown:
    """A small simulated week of the demo town with the default camera noise (about 31,000 reads)."""
    folder = tmp_path_factory.mktemp("town-week")
    return simulate_town(folder, NoiseSettings(), end=datetime(2026, 11, 23, tzinfo=UTC), days=7, vehicles=1500, seed=3)
