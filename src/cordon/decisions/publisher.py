"""MQTT out: alerts on `{prefix}/alerts/{category}`, device commands on `{prefix}/bollards/{device}/command`,
both QoS 1, JSON in the records' public (camelCase) shape.

One worker thread owns the order of publication. When the broker is away, alerts wait in a bounded queue (they
are in the store anyway) and go out on reconnect; a command waits only while it is valid: once its
`validUntil` has passed it is dropped and recorded `expired`, so a bollard never lowers late for a vehicle
long gone. The bollard's own default, up, is the fail-safe: no command, no passage.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from cordon.decisions.store import Delivery
from cordon.records import Alert, Command
from cordon.settings import MqttSettings
from cordon.timeutil import utcnow

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[str, Delivery, datetime], None]

#: Alerts kept while the broker is away; beyond this the oldest are dropped from the queue (not from the store).
MAX_WAITING_ALERTS = 10_000


def alert_topic(prefix: str, category: str) -> str:
    return f"{prefix}/alerts/{category}"


def command_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/bollards/{device_id}/command"


@dataclass(frozen=True, slots=True)
class _Out:
    topic: str
    payload: bytes
    command: Command | None = None


class MqttPublisher:
    """Publishes decisions to the broker in order, with the fail-safe rules above."""

    def __init__(
        self,
        settings: MqttSettings,
        on_delivery: DeliveryCallback | None = None,
        clock: Callable[[], datetime] = utcnow,
        client_id_suffix: str = "-out",
    ) -> None:
        self._settings = settings
        self._on_delivery = on_delivery
        self._clock = clock
        self._client = Client(
            CallbackAPIVersion.VERSION2,
            settings.client_id + client_id_suffix,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if settings.username is not None:
            secret = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, secret)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._connected = threading.Event()
        self._queue: queue.SimpleQueue[_Out | None] = queue.SimpleQueue()
        self._waiting: deque[_Out] = deque()
        self._thread = threading.Thread(target=self._run, name="cordon-mqtt-out", daemon=True)
        self._started = False
        self._stopping = False
        self.published = 0
        self.expired = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, timeout: float = 5.0) -> bool:
        """Connect in the background; True when connected within `timeout`. Not connecting is not an error:
        the publisher keeps trying, and the fail-safe rules hold meanwhile."""
        if self._started:
            return self.connected
        self._started = True
        s = self._settings
        self._client.connect_async(s.host, s.port, s.keepalive_s)
        self._client.loop_start()
        self._thread.start()
        if not self._connected.wait(timeout):
            log.warning("MQTT out: broker %s:%d not reachable yet; commands wait while valid", s.host, s.port)
        return self.connected

    def stop(self, timeout: float = 5.0) -> None:
        if not self._started:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False

    def alert(self, alert: Alert) -> None:
        topic = alert_topic(self._settings.topic_prefix, alert.category)
        self._queue.put(_Out(topic, alert.model_dump_json(by_alias=True).encode()))

    def command(self, command: Command) -> None:
        topic = command_topic(self._settings.topic_prefix, command.device_id)
        self._queue.put(_Out(topic, command.model_dump_json(by_alias=True).encode(), command))

    # -- worker thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                self._flush()  # a tick: expire or retry what waits
                continue
            if item is None:
                return
            self._waiting.append(item)
            if len(self._waiting) > MAX_WAITING_ALERTS:
                self._drop_oldest_alert()
            self._flush()

    def _flush(self) -> None:
        while self._waiting:
            item = self._waiting[0]
            if item.command is not None and self._clock() >= item.command.valid_until:
                self._waiting.popleft()
                self.expired += 1
                log.warning(
                    "command %s to %s expired before the broker took it; the bollard stays as it is",
                    item.command.command_id,
                    item.command.device_id,
                )
                self._deliver(item.command, Delivery.EXPIRED)
                continue
            if not self._connected.is_set():
                return
            info = self._client.publish(item.topic, item.payload, qos=1)
            if info.rc != 0:
                return  # lost the connection meanwhile: retry on the next tick
            self._waiting.popleft()
            if item.command is not None:
                left = (item.command.valid_until - self._clock()).total_seconds()
                # Disconnected meanwhile (RuntimeError): paho resends it on reconnect; the device ignores it once
                # expired.
                with contextlib.suppress(RuntimeError):
                    info.wait_for_publish(max(0.05, min(left, 5.0)))
                self._deliver(item.command, Delivery.PUBLISHED if info.is_published() else Delivery.FAILED)
            self.published += 1

    def _drop_oldest_alert(self) -> None:
        for index, item in enumerate(self._waiting):
            if item.command is None:
                del self._waiting[index]
                log.warning("MQTT out: broker away too long, an alert was dropped from the queue (it is stored)")
                return

    def _deliver(self, command: Command, delivery: Delivery) -> None:
        if self._on_delivery is not None:
            try:
                self._on_delivery(command.command_id, delivery, self._clock())
            except Exception:
                log.exception("recording the delivery of command %s failed", command.command_id)

    # -- paho callbacks --------------------------------------------------------------------------------------

    def _on_connect(self, _: Client, __: Any, ___: ConnectFlags, reason: ReasonCode, ____: Any) -> None:
        if reason.is_failure:
            log.error("MQTT out: the broker refused the connection: %s", reason)
            return
        self._connected.set()

    def _on_disconnect(self, _: Client, __: Any, ___: DisconnectFlags, reason: ReasonCode, ____: Any) -> None:
        self._connected.clear()
        if not self._stopping:
            log.warning("MQTT out: lost the broker (%s); reconnecting", reason)
