"""MQTT ingest: cameras publish reads to the broker; Cordon subscribes, stores them, then acknowledges.

Cameras publish on `{prefix}/cameras/{camera_id}/reads` (QoS 1) an envelope `{"apiKey": ..., "reads": [...]}`
or `{"apiKey": ..., "read": {...}}`, or (MQTT 5) a bare read or array with the key in the user property
`api-key`. The reads go through `IngestService.admit` exactly as over HTTP; refusals are published on
`.../rejected` in the API's error shape, receipts on `.../acks`. A persistent MQTT 5 session and manual
acknowledgement: a message is PUBACKed only once its reads are durable or it was refused, so the broker
redelivers whatever a crash, a failed commit or a stop left unacknowledged. Topics: `docs/mqtt.md`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from cordon.errors import CordonError, ErrorDetail, error_body, unprocessable
from cordon.ingest.service import Admission, IngestService, Receipt
from cordon.settings import MqttSettings

log = logging.getLogger(__name__)

#: MQTT 5 user property that carries the camera's API key when the payload is a bare read or array.
KEY_PROPERTY = "api-key"
#: How long the broker keeps Cordon's session (subscription, queued and unacknowledged messages) while away.
SESSION_EXPIRY_S = 7 * 86_400
#: Messages the broker may have in flight to Cordon (MQTT 5 Receive Maximum); they share group commits.
RECEIVE_MAXIMUM = 1000
_ENVELOPE_KEYS = frozenset({"apiKey", "read", "reads"})
_NONE = object()

Group = list[tuple["_Delivery", Admission]]


def camera_topic(prefix: str, camera_id: str, leaf: str) -> str:
    """`{prefix}/cameras/{camera_id}/{leaf}`, with leaf `reads`, `rejected` or `acks`."""
    return f"{prefix}/cameras/{camera_id}/{leaf}"


def topic_camera(prefix: str, topic: str) -> str | None:
    """The camera id of a reads topic, or None for any other topic."""
    head, tail = f"{prefix}/cameras/", "/reads"
    camera = topic[len(head) : -len(tail)] if topic.startswith(head) and topic.endswith(tail) else "/"
    return None if "/" in camera else camera


def unwrap(payload: Any, property_key: str | None) -> tuple[Any, str | None]:
    """The reads of a decoded message and their key. An object with `apiKey`, `read` or `reads` is an
    envelope (its `apiKey` wins); anything else is a bare read or array, keyed by the user property."""
    if not isinstance(payload, dict) or not _ENVELOPE_KEYS & payload.keys():
        return payload, property_key
    if len(payload) == 2 and isinstance(key := payload.get("apiKey"), str):  # the usual envelope, quickly
        reads = payload.get("read", payload.get("reads", _NONE))
        if reads is not _NONE:
            return reads, key
    extra = sorted(payload.keys() - _ENVELOPE_KEYS)
    key = payload.get("apiKey", property_key)
    if extra or ("read" in payload) == ("reads" in payload) or not isinstance(key, str | None):
        unknown = f"; unknown fields: {', '.join(extra)}" if extra else ""
        shape = '{"apiKey": "...", "reads": [...]} or {"apiKey": "...", "read": {...}}'
        raise unprocessable("invalid_envelope", f"an envelope is {shape}{unknown}")
    return payload["reads"] if "reads" in payload else payload["read"], key


def stamp_camera(reads: Any, camera_id: str) -> Any:
    """Reads that name no camera (`observedBy`) come from the camera of their topic."""
    for item in reads if isinstance(reads, list) else [reads]:
        if isinstance(item, dict) and item.get("observedBy") is None:
            item["observedBy"] = camera_id
    return reads


@dataclass(frozen=True, slots=True)
class _Delivery:
    """A received message still to acknowledge; `generation` names the connection it came on."""

    mid: int
    qos: int
    generation: int
    camera_id: str
    correlation: bytes | None


class MqttIngest:
    """Subscribe to camera reads on the broker and store them through the ingest service.

    paho's network thread admits each message and queues its commit; the writer thread acknowledges it when
    the commit completes. paho's `ack()` only appends to its outgoing queue and wakes the network thread,
    which is safe from any thread under `loop_start`. A connection generation, checked under a lock, keeps
    an acknowledgement from leaving on a later connection than its message came on: packet ids are reused,
    so a late PUBACK could confirm another message that is not stored yet."""

    def __init__(
        self,
        service: IngestService,
        settings: MqttSettings,
        *,
        publish_receipts: bool = True,
        receive_maximum: int = RECEIVE_MAXIMUM,
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        self._service = service
        self._settings = settings
        self._publish_receipts = publish_receipts
        self._receive_maximum = receive_maximum
        self._session_expiry_s = session_expiry_s
        self._address = f"{settings.host}:{settings.port}"
        self._reads_filter = camera_topic(settings.topic_prefix, "+", "reads")
        self._client: Client | None = None
        self._state = threading.Condition()  # guards everything below
        self._generation = 0
        self._subscribed = False
        self._stopping = False
        self._failure: str | None = None
        self._in_flight = 0  # messages admitted, not yet acknowledged or given up
        self._waiting: dict[str, Group] = {}  # per key with a commit in flight: the messages of its next one

    @property
    def ready(self) -> bool:
        """Connected and subscribed."""
        with self._state:
            return self._subscribed

    def wait_ready(self, timeout: float) -> bool:
        """Wait until connected and subscribed (after a start or a reconnect); False on timeout."""
        with self._state:
            self._state.wait_for(lambda: self._subscribed or self._failure is not None, timeout)
            return self._subscribed

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe to every camera's reads topic, and return once the broker confirmed both."""
        if self._client is not None:
            return
        settings = self._settings
        client = Client(
            CallbackAPIVersion.VERSION2, settings.client_id, protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True
        )
        if settings.username is not None:
            secret = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, secret)
        client.on_connect, client.on_subscribe = self._on_connect, self._on_subscribe
        client.on_disconnect, client.on_message = self._on_disconnect, self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        # Rejection notices (QoS 1) beyond this queue are dropped, not queued: packet ids are 16-bit, and paho
        # mixes up messages once more than 65,535 wait. Receipts (QoS 0) are never queued.
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(10_000)
        properties = _properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self._session_expiry_s
        properties.ReceiveMaximum = self._receive_maximum
        with self._state:
            self._stopping, self._failure, self._client = False, None, client
        client.connect_async(
            settings.host, settings.port, settings.keepalive_s, clean_start=False, properties=properties
        )
        client.loop_start()
        if not self.wait_ready(timeout):
            failure = self._failure
            self._shutdown(client)
            if failure is not None:
                raise CordonError("mqtt_refused", f"the MQTT broker at {self._address} refused: {failure}")
            raise CordonError(
                "mqtt_unreachable", f"cannot reach the MQTT broker at {self._address} within {timeout:g} s"
            )
        log.info("MQTT ingest subscribed to %s on %s", self._reads_filter, self._address)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking messages, acknowledge those whose commit completes within `timeout`, disconnect.
        What is left unacknowledged stays in the broker's session for the next start. Idempotent."""
        client = self._client
        if client is None:
            return
        with self._state:
            self._stopping = True
            if not self._state.wait_for(lambda: self._in_flight == 0, timeout):
                log.warning("stopping with %d messages not committed; the broker redelivers", self._in_flight)
        self._shutdown(client)
        log.info("MQTT ingest disconnected from %s", self._address)

    def _shutdown(self, client: Client) -> None:
        with self._state:
            self._stopping, self._subscribed, self._client = True, False, None
            self._generation += 1  # no acknowledgement leaves after this
        client.disconnect()  # a normal DISCONNECT keeps the session: its expiry was set on CONNECT
        client.loop_stop()

    # -- paho callbacks (network thread) ---------------------------------------------------------------------

    def _on_connect(self, client: Client, _: Any, flags: ConnectFlags, reason: ReasonCode, __: Any) -> None:
        with self._state:
            if reason.is_failure:
                self._failure = str(reason)
                self._state.notify_all()
            else:
                self._generation += 1
        if reason.is_failure:
            log.error("the MQTT broker at %s refused the connection: %s", self._address, reason)
            return
        log.info("connected to the MQTT broker at %s (session kept: %s)", self._address, flags.session_present)
        # Subscribe on every connect: a broker restarted without persistence has forgotten the session.
        client.subscribe(self._reads_filter, options=SubscribeOptions(qos=1))

    def _on_subscribe(self, _: Client, __: Any, ___: int, reasons: list[ReasonCode], ____: Any) -> None:
        with self._state:
            if any(reason.is_failure for reason in reasons):
                self._failure = f"subscription to {self._reads_filter} refused ({reasons[0]})"
                log.error("the MQTT broker at %s: %s", self._address, self._failure)
            else:
                self._subscribed = True
            self._state.notify_all()

    def _on_disconnect(self, _: Client, __: Any, ___: DisconnectFlags, reason: ReasonCode, ____: Any) -> None:
        with self._state:
            self._generation += 1
            self._subscribed = False
            stopping = self._stopping
        if not stopping:
            log.warning("lost the MQTT broker at %s (%s); reconnecting", self._address, reason)

    def _on_message(self, client: Client, _: Any, message: MQTTMessage) -> None:
        try:
            with self._state:
                if self._stopping:
                    return  # not acknowledged: the broker redelivers it to the next session
                generation = self._generation
            camera = topic_camera(self._settings.topic_prefix, message.topic)
            if camera is None:
                log.warning("message on unexpected topic %r dropped", message.topic)
                client.ack(message.mid, message.qos)
                return
            correlation = getattr(message.properties, "CorrelationData", None)
            delivery = _Delivery(message.mid, message.qos, generation, camera, correlation)
            try:
                admission, key = self._admit(message, camera)
            except CordonError as error:
                log.debug("refused a message of camera %s: %s", camera, error.code)  # never the plate
                topic = camera_topic(self._settings.topic_prefix, camera, "rejected")
                client.publish(
                    topic,
                    orjson.dumps(error_body(error.code, error.message, error.details)),
                    qos=1,
                    properties=_reply(delivery),
                )
                self._ack(delivery)
                return
            self._commit(delivery, admission, key)
        except Exception:
            log.exception("unexpected error on a message from the broker; left unacknowledged for redelivery")

    def _admit(self, message: MQTTMessage, camera: str) -> tuple[Admission, str]:
        service = self._service
        key: str | None = None
        for name, value in getattr(message.properties, "UserProperty", None) or ():
            key = str(value) if name == KEY_PROPERTY else key
        limit = service.limits.max_body_bytes
        if len(message.payload) > limit:
            error = CordonError("body_too_large", f"the payload exceeds {limit} bytes", 413)
            raise service.refuse(error, service.sender(key, camera))
        try:
            decoded = orjson.loads(message.payload)
        except orjson.JSONDecodeError as exc:
            error = CordonError("malformed_json", f"the payload is not valid JSON: {exc}", 400)
            raise service.refuse(error, service.sender(key, camera)) from None
        try:
            reads, key = unwrap(decoded, key)
        except CordonError as refused:
            raise service.refuse(refused, service.sender(key, camera)) from None
        admission = service.admit(stamp_camera(reads, camera), key)
        if admission.camera_id != camera:  # the reads name the key's camera, the topic another one
            text = f"reads of camera '{admission.camera_id}' on the topic of camera '{camera}'"
            details = tuple(
                ErrorDetail(f"reads[{i}].observedBy", "camera_mismatch", text) for i in range(len(admission.prepared))
            )
            raise service.refuse(unprocessable("camera_mismatch", text, details), admission.camera_id, len(details))
        return admission, key or ""

    def _commit(self, delivery: _Delivery, admission: Admission, key: str) -> None:
        """Commit now or, while a commit of the same key is in flight, join that key's next one. This saves
        the per-commit work in Python (futures, writer hand-off) that dominates with one read per message;
        keys are never mixed, and a message with an image is committed alone so its image is written here."""
        with self._state:
            self._in_flight += 1
            if any(item.image is not None for item in admission.prepared):
                key = ""
            elif key in self._waiting:
                self._waiting[key].append((delivery, admission))
                return
            else:
                self._waiting[key] = []
        self._submit(key, [(delivery, admission)])

    def _submit(self, key: str, group: Group) -> None:
        prepared = tuple(item for _, admission in group for item in admission.prepared)
        try:
            future = self._service.commit(Admission(group[0][1].camera_id, prepared))
        except Exception:
            log.exception("cannot queue reads for commit; reconnecting so that the broker redelivers them")
            self._drop_connection()
            self._finish(key, len(group))
            return
        future.add_done_callback(partial(self._committed, key, group))

    # -- commit completion (writer thread) -------------------------------------------------------------------

    def _committed(self, key: str, group: Group, future: Future[Receipt]) -> None:
        try:
            error = future.exception()
            if error is not None:
                log.error("commit failed (%s); reconnecting so that the broker redelivers", error)
                self._drop_connection()
                return
            stored, offset = future.result().stored, 0
            for delivery, admission in group:
                self._ack(delivery)
                count = len(admission.prepared)
                self._receipt(delivery, stored[offset : offset + count])
                offset += count
        finally:
            self._finish(key, len(group))

    def _finish(self, key: str, count: int) -> None:
        """`count` messages are done; start the next commit of `key` if messages joined it meanwhile."""
        with self._state:
            self._in_flight -= count
            if self._in_flight == 0:
                self._state.notify_all()
            following = self._waiting.pop(key, []) if key else []
            if following and self._client is None:  # stopped meanwhile: left for redelivery
                self._in_flight -= len(following)
                following = []
            if following:
                self._waiting[key] = []
        if following:
            self._submit(key, following)

    def _receipt(self, delivery: _Delivery, stored: tuple[bool, ...]) -> None:
        client = self._client
        if self._publish_receipts and client is not None:
            new = sum(stored)
            body = {"accepted": len(stored), "stored": new, "duplicates": len(stored) - new}
            topic = camera_topic(self._settings.topic_prefix, delivery.camera_id, "acks")
            client.publish(topic, orjson.dumps(body), qos=0, properties=_reply(delivery))

    def _ack(self, delivery: _Delivery) -> None:
        with self._state:
            if delivery.generation == self._generation and self._client is not None:
                self._client.ack(delivery.mid, delivery.qos)

    def _drop_connection(self) -> None:
        """Close the socket under paho, which reconnects with backoff; the broker then redelivers what is
        unacknowledged (MQTT 5 forbids redelivery on a live connection, so this is the way to retry)."""
        client = self._client
        sock = client.socket() if client is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


def _reply(delivery: _Delivery) -> Properties | None:
    """Echo the camera's MQTT 5 correlation data, so it can match an answer to its message."""
    if delivery.correlation is None:
        return None
    properties = _properties(PacketTypes.PUBLISH)
    properties.CorrelationData = delivery.correlation
    return properties


def _properties(packet_type: int) -> Properties:
    return Properties(packet_type)  # type: ignore[no-untyped-call]  # paho leaves this one untyped
