"""Simulated cameras talking to a running Cordon through its real ingest path: HTTP, or MQTT for cameras whose
zone entry says `transport: mqtt` (when a broker is given). Used by `cordon sim replay` and `cordon demo`."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from cordon.config.zone import Transport, ZoneConfig
from cordon.errors import CordonError
from cordon.sim.noise import Delivery
from cordon.sim.output import replay_offsets


@dataclass
class FeedStats:
    """What the simulated cameras sent and how Cordon answered (HTTP status, or `mqtt` for a publish)."""

    sent: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    lag_s: float = 0.0  # how far behind schedule the replay runs


class CameraFeed:
    """Sends camera messages as each camera would: its own key, its own transport."""

    def __init__(
        self,
        zone: ZoneConfig,
        url: str,
        keys: dict[str, str],
        mqtt: tuple[str, int] | None = None,
        topic_prefix: str = "cordon",
    ) -> None:
        self.zone = zone
        self.keys = keys
        self.stats = FeedStats()
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=url, timeout=30)
        self._prefix = topic_prefix
        self._mqtt: Client | None = None
        if mqtt is not None:
            self._mqtt = Client(CallbackAPIVersion.VERSION2, client_id=f"cordon-feed-{id(self):x}")
            self._mqtt.max_queued_messages_set(0)
            try:
                self._mqtt.connect(mqtt[0], mqtt[1])
            except OSError as exc:
                message = f"cannot reach the MQTT broker at {mqtt[0]}:{mqtt[1]}: {exc}"
                raise CordonError("mqtt_unreachable", message) from None
            self._mqtt.loop_start()

    def transport_of(self, camera_id: str) -> Transport:
        camera = self.zone.camera(camera_id)
        if camera is not None and camera.transport is Transport.MQTT and self._mqtt is not None:
            return Transport.MQTT
        return Transport.HTTP

    def send(self, message: dict[str, Any]) -> None:
        """Deliver one camera message (Cordon JSON) now."""
        camera_id = str(message.get("observedBy", ""))
        key = self.keys.get(camera_id, "")
        if self.transport_of(camera_id) is Transport.MQTT and self._mqtt is not None:
            payload = orjson.dumps({"apiKey": key, "read": message})
            info = self._mqtt.publish(f"{self._prefix}/cameras/{camera_id}/reads", payload, qos=1)
            answer = "mqtt" if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS else f"mqtt-error-{info.rc}"
        else:
            response = self._http.post("/api/v1/reads", json=message, headers={"Authorization": f"Bearer {key}"})
            answer = str(response.status_code)
        with self._lock:
            self.stats.sent += 1
            self.stats.answers[answer] += 1

    def replay(self, deliveries: Iterable[Delivery], speed: float, stop: threading.Event | None = None) -> None:
        """Send deliveries in their order, at their delivery times accelerated `speed` times."""
        started = time.monotonic()
        for offset, delivery in replay_offsets(deliveries, speed):
            if stop is not None and stop.is_set():
                return
            wait = started + offset - time.monotonic()
            if wait > 0:
                if stop is not None:
                    if stop.wait(wait):
                        return
                else:
                    time.sleep(wait)
            self.stats.lag_s = max(0.0, -wait)
            self.send(delivery.read)

    def close(self) -> None:
        """Wait for MQTT publishes to be acknowledged by the broker, then disconnect."""
        self._http.close()
        if self._mqtt is not None:
            deadline = time.monotonic() + 10
            while self._mqtt.want_write() and time.monotonic() < deadline:
                time.sleep(0.05)
            self._mqtt.disconnect()
            self._mqtt.loop_stop()
