"""Accounts tests run with cheap argon2 parameters (the hashing itself is tested with the real defaults)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cordon.api import create_app
from cordon.runtime import Runtime
from cordon.settings import Settings
from tests.conftest import SMALL_ZONE

FAST_AUTH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", zone_file=SMALL_ZONE, auth=FAST_AUTH)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client
