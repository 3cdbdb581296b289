"""A real Mosquitto broker for the tests: a process on a free loopback port with a temporary config.

Import the `mosquitto` fixture into a test module (`from tests.brokers import mosquitto`). The fixture skips
when the binary is missing, except in CI (`CI` set), where a missing broker fails the run instead of hiding
the tests. `Mosquitto` itself starts and stops the process, so a test can restart the broker on its port.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cordon.broker import Mosquitto, accepts_connections, find_mosquitto
from cordon.server import free_port

__all__ = [
    "WAIT_S",
    "Camera",
    "Mosquitto",
    "accepts_connections",
    "free_port",
    "make_camera",
    "mosquitto",
    "mosquitto_broker",
    "reads_topic",
    "running_mosquitto",
    "wait_until",
]


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


# -- an MQTT client on the other side: a camera or a bollard controller ------------------------------------

WAIT_S = 5.0
_client_ids = itertools.count(1)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def reads_topic(camera: str) -> str:
    return f"cordon/cameras/{camera}/reads"


@dataclass
class Camera:
    """A camera-side paho client: publishes reads and collects what Cordon publishes back."""

    client: Client
    received: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, camera: str, payload: Any, *, key: str | None = None, correlation: bytes | None = None) -> None:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        properties = None
        if key is not None or correlation is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if key is not None:
                properties.UserProperty = ("api-key", key)
            if correlation is not None:
                properties.CorrelationData = correlation
        info = self.client.publish(reads_topic(camera), body, qos=1, properties=properties)
        info.wait_for_publish(WAIT_S)  # the broker has it (PUBACK from the broker, not from Cordon)

    def on_message(self, _: Client, __: Any, message: MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        with self.lock:
            self.received.append((message.topic, (orjson.loads(message.payload), correlation)))

    def messages(self, topic: str) -> list[Any]:
        with self.lock:
            return [body for name, (body, _) in self.received if name == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_message(self, topic: str, count: int = 1) -> list[Any]:
        wait_until(lambda: len(self.messages(topic)) >= count, what=f"{count} message(s) on {topic}")
        return self.messages(topic)


def make_camera(address: tuple[str, int], protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5) -> Camera:
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"camera-{next(_client_ids)}", protocol=protocol)
    camera = Camera(client)
    client.on_message = camera.on_message
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(*address)
    client.loop_start()
    client.subscribe([("cordon/cameras/+/rejected", 1), ("cordon/cameras/+/acks", 1)])
    assert subscribed.wait(WAIT_S), "camera could not subscribe"
    return camera
