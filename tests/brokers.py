"""A real Mosquitto broker for the tests: a process on a free loopback port with a temporary config.

Import the `mosquitto` fixture into a test module (`from tests.brokers import mosquitto`). The fixture skips
when the binary is missing, except in CI (`CI` set), where a missing broker fails the run instead of hiding
the tests. `Mosquitto` itself starts and stops the process, so a test can restart the broker on its port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def find_mosquitto() -> str | None:
    """The broker binary: on PATH, else where the packages put it (apt installs it in /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found is not None:
        return found
    return next((path for path in MOSQUITTO_CANDIDATES if Path(path).is_file()), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """One broker process on `host:port`, configured in `folder`; start and stop it as often as needed."""

    def __init__(
        self, binary: str, folder: Path, port: int | None = None, host: str = "127.0.0.1", anonymous: bool = True
    ) -> None:
        self.binary = binary
        self.anonymous = anonymous
        self.folder = folder
        self.host = host
        self.port = port or free_port()
        self.config = folder / "mosquitto.conf"
        self.log_path = folder / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def write_config(self) -> None:
        # max_queued_messages 0: no cap on messages queued for a slow or offline subscriber; the default
        # (1000) makes the broker drop QoS 1 messages beyond it, which a backlog test would see as loss.
        self.config.write_text(
            f"listener {self.port} {self.host}\n"
            f"allow_anonymous {'true' if self.anonymous else 'false'}\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
            "log_type notice\n"
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return
        self.write_config()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}:\n{self.log()}")
            if accepts_connections(self.host, self.port):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not accept connections within {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after `timeout`) and wait for it to exit."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


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
