"""MQTT ingest end to end: a real Mosquitto broker, a real runtime and store, paho as the camera."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from cordon.api.errors import error_response
from cordon.errors import CordonError, ErrorDetail, error_body
from cordon.ingest.mqtt import MqttIngest, topic_camera, unwrap
from cordon.records import PlateRead
from cordon.runtime import Runtime, build_runtime
from cordon.settings import IngestSettings, MqttSettings, Settings
from cordon.store.base import AppendResult
from tests.brokers import (
    WAIT_S,
    Camera,
    Mosquitto,
    free_port,
    make_camera,
    mosquitto,
    mosquitto_broker,
    reads_topic,
    running_mosquitto,
    wait_until,
)
from tests.conftest import SMALL_ZONE, read_json

__all__ = ["mosquitto", "mosquitto_broker"]  # fixtures, imported for pytest

pytestmark = pytest.mark.mqtt


@pytest.fixture
def camera(mosquitto: tuple[str, int]) -> Iterator[Camera]:
    active = make_camera(mosquitto)
    yield active
    active.close()


@pytest.fixture
def key(runtime: Runtime) -> str:
    return runtime.keyring.issue("cam-north")


def mqtt_settings(address: tuple[str, int]) -> MqttSettings:
    return MqttSettings(enabled=True, host=address[0], port=address[1], client_id="cordon-test")


@pytest.fixture
def ingest(runtime: Runtime, mosquitto: tuple[str, int]) -> Iterator[MqttIngest]:
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(mosquitto), publish_receipts=True)
    subscriber.start(timeout=WAIT_S)
    yield subscriber
    subscriber.stop()


def stored(runtime: Runtime) -> int:
    return runtime.store.count_reads()


def counts(runtime: Runtime) -> dict[tuple[str, str], int]:
    return {(row.camera_id, row.reason): row.count for row in runtime.ingest.rejection_counts()}


def fiware(plate: str = "2-XYZ-789") -> dict[str, Any]:
    """A FIWARE AnprFlowObserved entity (key-values), without observedBy: the topic names the camera."""
    return {
        "id": "urn:ngsi-ld:AnprFlowObserved:cam-north:ev-fiware-1",
        "type": "AnprFlowObserved",
        "dateObserved": (datetime.now(UTC) - timedelta(seconds=2)).isoformat(),
        "laneId": "1",
        "observedVehicle": {"licensePlate": {"identifier": plate, "confidence": 0.9}},
    }


# -- the happy path ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "protocol", [MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311], ids=["mqtt5", "mqtt311"]
)
def test_single_read_is_stored_with_the_topic_camera(
    runtime: Runtime, ingest: MqttIngest, mosquitto: tuple[str, int], key: str, protocol: MQTTProtocolVersion
) -> None:
    camera = make_camera(mosquitto, protocol)
    camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="ev-1")})
    wait_until(lambda: stored(runtime) == 1, what="the read to be stored")
    (read,) = runtime.store.camera_reads("cam-north")
    assert (read.observed_by, read.event_id, read.plate) == ("cam-north", "ev-1", "1ABC234")
    assert camera.wait_message("cordon/cameras/cam-north/acks") == [{"accepted": 1, "stored": 1, "duplicates": 0}]
    camera.close()


def test_batch_in_an_envelope_is_stored(runtime: Runtime, ingest: MqttIngest, camera: Camera, key: str) -> None:
    reads = [read_json(plate=f"1-ABC-{n:03d}", eventId=f"ev-{n}") for n in range(50)] + [fiware()]
    camera.publish("cam-north", {"apiKey": key, "reads": reads})
    wait_until(lambda: stored(runtime) == 51, what="51 reads to be stored")
    assert {read.plate for read in runtime.store.plate_history("2XYZ789")} == {"2XYZ789"}


def test_bare_array_with_the_key_in_a_user_property(
    runtime: Runtime, ingest: MqttIngest, camera: Camera, key: str
) -> None:
    camera.publish("cam-north", [read_json(eventId="a"), fiware()], key=key, correlation=b"msg-7")
    wait_until(lambda: stored(runtime) == 2, what="2 reads to be stored")
    camera.wait_message("cordon/cameras/cam-north/acks")
    assert camera.received == [
        ("cordon/cameras/cam-north/acks", ({"accepted": 2, "stored": 2, "duplicates": 0}, b"msg-7"))
    ]


def test_read_with_an_image_stores_the_image(runtime: Runtime, ingest: MqttIngest, camera: Camera, key: str) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    camera.publish("cam-north", {"apiKey": key, "read": read_json(image=base64.b64encode(image).decode())})
    camera.wait_message("cordon/cameras/cam-north/acks")
    (read,) = runtime.store.camera_reads("cam-north")
    assert read.image_ref is not None
    assert runtime.images.get(read.image_ref) == image


def test_many_messages_in_flight_are_all_stored_and_acknowledged(
    runtime: Runtime, ingest: MqttIngest, camera: Camera, key: str
) -> None:
    """Single-read messages arriving while commits run join the next commit of their key; none is left."""
    infos = [
        camera.client.publish(
            reads_topic("cam-north"), orjson.dumps({"apiKey": key, "read": read_json(eventId=f"burst-{n}")}), qos=1
        )
        for n in range(300)
    ]
    infos[-1].wait_for_publish(WAIT_S)
    wait_until(lambda: stored(runtime) == 300, what="300 reads to be stored")
    acks = camera.wait_message("cordon/cameras/cam-north/acks", 300)
    assert sum(ack["stored"] for ack in acks) == 300


def test_resent_message_is_a_duplicate_not_stored_twice(
    runtime: Runtime, ingest: MqttIngest, camera: Camera, key: str
) -> None:
    message = {"apiKey": key, "reads": [read_json(eventId="ev-1"), read_json(plate="2-XYZ-789")]}
    camera.publish("cam-north", message)
    camera.publish("cam-north", message)
    acks = camera.wait_message("cordon/cameras/cam-north/acks", 2)
    assert acks == [
        {"accepted": 2, "stored": 2, "duplicates": 0},
        {"accepted": 2, "stored": 0, "duplicates": 2},
    ]
    assert stored(runtime) == 2


# -- refusals ------------------------------------------------------------------------------------------------

REFUSALS: Sequence[tuple[str, str, Callable[[str], Any], str, str | None]] = [
    # (case, topic camera, payload from the key, expected code, counted against)
    (
        "wrong key",
        "cam-north",
        lambda k: {"apiKey": "cdk_wrong", "read": read_json()},
        "wrong_key",
        "cam-north",
    ),
    ("missing key", "cam-north", lambda k: read_json(), "missing_key", "cam-north"),
    ("envelope without key", "cam-north", lambda k: {"reads": [read_json()]}, "missing_key", "cam-north"),
    ("malformed JSON", "cam-north", lambda k: b'{"apiKey": "x", "read": {', "malformed_json", "cam-north"),
    (
        "bad envelope",
        "cam-north",
        lambda k: {"apiKey": k, "read": {}, "reads": []},
        "invalid_envelope",
        "cam-north",
    ),
    (
        "unknown camera",
        "cam-ghost",
        lambda k: {"apiKey": k, "read": read_json()},
        "unknown_camera",
        "cam-north",
    ),
    (
        "key of another camera",
        "cam-school",
        lambda k: {"apiKey": k, "read": read_json()},
        "camera_mismatch",
        "cam-north",
    ),
    (
        "read names the key's camera on another camera's topic",
        "cam-school",
        lambda k: {"apiKey": k, "reads": [read_json(observedBy="cam-north")] * 2},
        "camera_mismatch",
        "cam-north",
    ),
    (
        "read names another camera",
        "cam-north",
        lambda k: {"apiKey": k, "read": read_json(observedBy="cam-school")},
        "camera_mismatch",
        "cam-north",
    ),
    (
        "impossible plate",
        "cam-north",
        lambda k: {"apiKey": k, "reads": [read_json(plate="1-ABC-!!!")]},
        "invalid_plate",
        "cam-north",
    ),
    ("not a read", "cam-north", lambda k: {"apiKey": k, "read": [1, 2]}, "invalid_read", "cam-north"),
]


@pytest.mark.parametrize(
    ("topic_cam", "payload", "code", "counted"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refused_message_stores_nothing_is_counted_and_published(
    runtime: Runtime,
    ingest: MqttIngest,
    camera: Camera,
    key: str,
    topic_cam: str,
    payload: Callable[[str], Any],
    code: str,
    counted: str,
) -> None:
    camera.publish(topic_cam, payload(key))
    (rejection,) = camera.wait_message(f"cordon/cameras/{topic_cam}/rejected")
    assert rejection["error"]["code"] == code
    assert set(rejection["error"]) == {"code", "message", "details"}
    assert counts(runtime).get((counted, code), 0) >= 1
    # Nothing of the refused message was stored; a valid message after it is.
    camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="after")})
    wait_until(lambda: stored(runtime) == 1, what="the next valid read")
    assert [read.event_id for read in runtime.store.camera_reads("cam-north")] == ["after"]


def test_oversized_payload_is_refused(tmp_path: Path, mosquitto: tuple[str, int], camera: Camera) -> None:
    settings = Settings(data_dir=tmp_path / "data", zone_file=SMALL_ZONE, ingest=IngestSettings(max_body_bytes=1024))
    active = build_runtime(settings)
    active.start()
    subscriber = MqttIngest(active.ingest, mqtt_settings(mosquitto))
    try:
        subscriber.start(WAIT_S)
        key = active.keyring.issue("cam-north")
        camera.publish("cam-north", {"apiKey": key, "read": read_json(vehicleType="car" + " " * 2000)})
        (rejection,) = camera.wait_message("cordon/cameras/cam-north/rejected")
        assert rejection["error"]["code"] == "body_too_large"
        assert counts(active)[("cam-north", "body_too_large")] == 1
        assert active.store.count_reads() == 0
    finally:
        subscriber.stop()
        active.stop()


def test_rejection_has_the_http_error_shape() -> None:
    error = CordonError("invalid_plate", "1 of 1 reads refused", 422, (ErrorDetail("reads[0]", "x", "y"),))
    http = error_response(error.status, error.code, error.message, error.details)
    assert error_body(error.code, error.message, error.details) == orjson.loads(http.body)


# -- delivery guarantees -------------------------------------------------------------------------------------


def test_messages_sent_while_cordon_is_away_arrive_after_restart(
    runtime: Runtime, mosquitto: tuple[str, int], camera: Camera, key: str
) -> None:
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(mosquitto))
    subscriber.start(WAIT_S)  # creates the persistent session and its subscription
    subscriber.stop()
    for n in range(5):
        camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId=f"away-{n}")})
    assert stored(runtime) == 0
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(mosquitto))
    subscriber.start(WAIT_S)
    try:
        wait_until(lambda: stored(runtime) == 5, what="the queued reads")
        camera.wait_message("cordon/cameras/cam-north/acks", 5)
    finally:
        subscriber.stop()
    # Acknowledged messages are not delivered again: after a restart only the new message arrives.
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(mosquitto))
    subscriber.start(WAIT_S)
    try:
        camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="marker")})
        acks = camera.wait_message("cordon/cameras/cam-north/acks", 6)
    finally:
        subscriber.stop()
    assert acks == [{"accepted": 1, "stored": 1, "duplicates": 0}] * 6


def test_message_not_yet_committed_is_redelivered_after_a_stop(
    runtime: Runtime, mosquitto: tuple[str, int], camera: Camera, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash (here: a stop) before the commit completes leaves the message unacknowledged at the broker."""
    release, entered = threading.Event(), threading.Event()
    real_append = runtime.store.append

    def slow_append(reads: Sequence[PlateRead]) -> AppendResult:
        entered.set()
        release.wait(WAIT_S)
        return real_append(reads)

    monkeypatch.setattr(runtime.store, "append", slow_append)
    first = MqttIngest(runtime.ingest, mqtt_settings(mosquitto))
    first.start(WAIT_S)
    camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="in-flight")})
    assert entered.wait(WAIT_S)
    first.stop(timeout=0.1)  # gives up on the pending commit: no PUBACK was sent
    release.set()
    wait_until(lambda: stored(runtime) == 1, what="the first commit")
    monkeypatch.setattr(runtime.store, "append", real_append)
    second = MqttIngest(runtime.ingest, mqtt_settings(mosquitto), publish_receipts=True)
    second.start(WAIT_S)
    try:  # redelivered, recognised as a duplicate, acknowledged this time
        assert camera.wait_message("cordon/cameras/cam-north/acks") == [{"accepted": 1, "stored": 0, "duplicates": 1}]
    finally:
        second.stop()
    assert stored(runtime) == 1


def test_failed_commit_is_retried_through_redelivery(
    runtime: Runtime, ingest: MqttIngest, camera: Camera, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_append = runtime.store.append
    failures = iter([OSError("disk full")])

    def flaky_append(reads: Sequence[PlateRead]) -> AppendResult:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_append(reads)

    monkeypatch.setattr(runtime.store, "append", flaky_append)
    camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="retry")})
    wait_until(lambda: stored(runtime) == 1, timeout=WAIT_S, what="the redelivered read")
    assert camera.wait_message("cordon/cameras/cam-north/acks") == [{"accepted": 1, "stored": 1, "duplicates": 0}]


def test_broker_restart_reconnects_and_keeps_ingesting(runtime: Runtime, mosquitto_broker: Mosquitto, key: str) -> None:
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(mosquitto_broker.address))
    subscriber.start(WAIT_S)
    try:
        camera = make_camera(mosquitto_broker.address)
        camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="before")})
        wait_until(lambda: stored(runtime) == 1, what="the read before the restart")
        camera.close()
        mosquitto_broker.restart()  # persistence off: the broker forgets every session
        wait_until(lambda: not subscriber.ready, what="the subscriber to notice")
        assert subscriber.wait_ready(WAIT_S), "the subscriber did not reconnect"
        camera = make_camera(mosquitto_broker.address)
        camera.publish("cam-north", {"apiKey": key, "read": read_json(eventId="after")})
        wait_until(lambda: stored(runtime) == 2, what="the read after the restart")
        camera.close()
    finally:
        subscriber.stop()


# -- starting and stopping -----------------------------------------------------------------------------------


def test_unreachable_broker_is_a_clear_error(runtime: Runtime) -> None:
    port = free_port()
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(("127.0.0.1", port)))
    started = time.monotonic()
    with pytest.raises(CordonError) as raised:
        subscriber.start(timeout=0.5)
    assert raised.value.code == "mqtt_unreachable"
    assert f"127.0.0.1:{port}" in raised.value.message
    assert time.monotonic() - started < 3
    subscriber.stop()  # nothing to stop: no error


def test_broker_refusing_cordon_is_a_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    with running_mosquitto(tmp_path, anonymous=False) as broker:
        subscriber = MqttIngest(runtime.ingest, mqtt_settings(broker.address))
        with pytest.raises(CordonError) as raised:
            subscriber.start(timeout=WAIT_S)
    assert raised.value.code == "mqtt_refused"
    assert f"{broker.host}:{broker.port}" in raised.value.message


def test_stop_is_idempotent(runtime: Runtime, mosquitto: tuple[str, int]) -> None:
    subscriber = MqttIngest(runtime.ingest, mqtt_settings(mosquitto))
    subscriber.start(WAIT_S)
    subscriber.stop()
    subscriber.stop()
    assert not subscriber.ready


# -- pure helpers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "camera"),
    [
        ("cordon/cameras/cam-1/reads", "cam-1"),
        ("cordon/cameras/cam-1/rejected", None),
        ("other/cameras/cam-1/reads", None),
        ("cordon/cameras/a/b/reads", None),
    ],
)
def test_topic_camera(topic: str, camera: str | None) -> None:
    assert topic_camera("cordon", topic) == camera


@pytest.mark.parametrize(
    ("payload", "prop", "expected"),
    [
        ({"apiKey": "k", "read": {"a": 1}}, None, ({"a": 1}, "k")),
        ({"apiKey": "k", "reads": [1]}, "p", ([1], "k")),
        ({"reads": [1]}, "p", ([1], "p")),
        ([{"a": 1}], "p", ([{"a": 1}], "p")),
        ({"licensePlate": "x"}, None, ({"licensePlate": "x"}, None)),
    ],
)
def test_unwrap(payload: Any, prop: str | None, expected: tuple[Any, str | None]) -> None:
    assert unwrap(payload, prop) == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"apiKey": "k"},
        {"apiKey": "k", "read": {}, "reads": []},
        {"apiKey": 3, "read": {}},
        {"read": {}, "x": 1},
    ],
)
def test_unwrap_refuses_bad_envelopes(payload: Any) -> None:
    with pytest.raises(CordonError) as raised:
        unwrap(payload, None)
    assert raised.value.code == "invalid_envelope"
