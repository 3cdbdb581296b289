"""A real Mosquitto broker for the tests: a process on a free loopback port with a temporary config.

Import the `mosquitto` fixture into a test module (`from tests.brokers import mosquitto`). The fixture skips
when the binary is missing, except in CI (`CI` set), where a missing broker fails the run instead of hiding
the tests. `Mosquitto` itself starts and stops the process, so a test can restart the broker on its port.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cordon.broker import Mosquitto, accepts_connections, find_mosquitto
from cordon.server import free_port

__all__ = ["Mosquitto", "accepts_connections", "free_port", "mosquitto", "mosquitto_broker", "running_mosquitto"]


def mosquitto_or_skip() -> str:
    """The broker binary, or skip the test (fail in CI, where the broker must be installed)."""
    binary = find_mosquitto()
    if binary is None:
        reason = "the mosquitto broker is not installed (apt-get install mosquitto)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the MQTT tests", pytrace=False)
        pytest.skip(reason)
    return binary


@contextlib.contextmanager
def running_mosquitto(folder: Path, anonymous: bool = True) -> Iterator[Mosquitto]:
    """A started broker, stopped on exit; `anonymous=False` makes it refuse clients without credentials."""
    broker = Mosquitto(mosquitto_or_skip(), folder, anonymous=anonymous)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`(host, port)` of a running broker, terminated after the test."""
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker.address


@pytest.fixture
def mosquitto_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A running broker that the test may stop, restart or inspect (`.address`, `.restart()`, `.log()`)."""
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker
