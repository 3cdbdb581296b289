"""A private Mosquitto broker: a process on a free loopback port with its own configuration.

`cordon demo` starts one when the machine has the broker installed, so the demo's MQTT cameras publish
through a real broker; the tests use it for their throw-away brokers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from cordon.server import free_port

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def find_mosquitto() -> str | None:
    """The broker binary: on PATH, else where the packages put it (apt installs it in /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found is not None:
        return found
    return next((path for path in MOSQUITTO_CANDIDATES if Path(path).is_file()), None)


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
