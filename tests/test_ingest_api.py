"""HTTP ingest end to end on a real app, store and file system: good reads, re-sends, every bad input."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cordon.api import create_app
from cordon.auth.roles import Role
from cordon.runtime import Runtime
from tests.conftest import read_json

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


@pytest.fixture
def key(runtime: Runtime) -> str:
    return runtime.keyring.issue("cam-north", "test")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(runtime: Runtime, camera: str = "cam-north") -> dict[str, int]:
    return {r.reason: r.count for r in runtime.ingest.rejection_counts() if r.camera_id == camera}


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    for detail in body["error"]["details"]:
        assert set(detail) == {"loc", "code", "message"}


def test_one_read_is_stored_durably(client: TestClient, runtime: Runtime, key: str) -> None:
    response = client.post("/api/v1/reads", json=read_json("1-abc-234", eventId="e1"), headers=auth(key))
    assert response.status_code == 201, response.text
    assert response.json() == {
        "accepted": 1, "stored": 1, "duplicates": 0, "reads": [{"eventId": "e1", "status": "stored"}]
    }  # fmt: skip
    (read,) = runtime.store.plate_history("1ABC234")
    assert read.plate_as_read == "1-abc-234"
    assert read.observed_by == "cam-north"
    assert read.country == "BE"
    assert read.date_received >= read.date_observed


def test_batch_and_x_api_key_header(client: TestClient, runtime: Runtime, key: str) -> None:
    batch = [read_json(f"1-ABC-{i:03d}", eventId=f"b{i}") for i in range(500)]
    response = client.post("/api/v1/reads", json=batch, headers={"X-API-Key": key})
    assert response.status_code == 201
    assert response.json()["stored"] == 500
    assert runtime.store.count_reads() == 500


def test_resent_read_is_acknowledged_not_stored_twice(client: TestClient, runtime: Runtime, key: str) -> None:
    body = read_json(eventId="same")
    assert client.post("/api/v1/reads", json=body, headers=auth(key)).status_code == 201
    again = client.post("/api/v1/reads", json=body, headers=auth(key))
    assert again.status_code == 200
    assert again.json()["reads"] == [{"eventId": "same", "status": "duplicate"}]
    assert runtime.store.count_reads() == 1


def test_read_without_event_id_gets_a_stable_one(client: TestClient, runtime: Runtime, key: str) -> None:
    body = read_json()
    first = client.post("/api/v1/reads", json=body, headers=auth(key)).json()
    second = client.post("/api/v1/reads", json=body, headers=auth(key)).json()
    assert first["reads"][0]["eventId"] == second["reads"][0]["eventId"]
    assert second["duplicates"] == 1


def test_image_is_stored_by_content(client: TestClient, runtime: Runtime, key: str) -> None:
    body = read_json(image=base64.b64encode(PNG).decode())
    assert client.post("/api/v1/reads", json=body, headers=auth(key)).status_code == 201
    (read,) = runtime.store.plate_history("1ABC234")
    assert read.image_ref is not None
    assert runtime.images.get(read.image_ref) == PNG


def test_fiware_anpr_flow_observed(client: TestClient, runtime: Runtime, key: str) -> None:
    entity = {
        "id": "urn:ngsi-ld:AnprFlowObserved:cam-north:778",
        "type": "AnprFlowObserved",
        "dateObserved": (datetime.now(UTC) - timedelta(seconds=2)).isoformat(),
        "observedBy": "urn:ngsi-ld:Device:cam-north",
        "laneId": "2",
        "location": {"type": "Point", "coordinates": [4.0312, 51.0601]},
        "observedVehicle": {
            "direction": "away",
            "speed": 43,
            "country": {"code": "nl"},
            "licensePlate": {"identifier": "12-ABC-3", "confidence": 0.88},
        },
    }
    response = client.post("/api/v1/reads", json=entity, headers={**auth(key), "Content-Type": "application/ld+json"})
    assert response.status_code == 201, response.text
    (read,) = runtime.store.plate_history("12ABC3")
    assert (read.country, read.lane_id, read.direction, read.speed) == ("NL", "2", "away", 43)
    assert read.confidence == 0.88
    assert read.location is not None and read.location.lat == 51.0601


def now_minus(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


# (request body, extra headers, expected status, expected code, reads counted as refused)
BAD_INPUTS = {
    "unknown-camera": (read_json(observedBy="cam-atlantis"), {}, 422, "unknown_camera", 1),
    "camera-mismatch": (read_json(observedBy="cam-school"), {}, 422, "camera_mismatch", 1),
    "impossible-plate": (read_json("1-AB€-234"), {}, 422, "invalid_plate", 1),
    "empty-plate": (read_json(" - "), {}, 422, "invalid_plate", 1),
    "future": ({**read_json(), "dateObserved": now_minus(minutes=-30)}, {}, 422, "timestamp_future", 1),
    "too-old": ({**read_json(), "dateObserved": now_minus(days=40)}, {}, 422, "timestamp_past", 1),
    "naive-time": ({**read_json(), "dateObserved": "2026-11-27T08:00:00"}, {}, 422, "timestamp_naive", 1),
    "not-a-time": ({**read_json(), "dateObserved": "yesterday"}, {}, 422, "invalid_read", 1),
    "unknown-field": (read_json(colour="red"), {}, 422, "invalid_read", 1),
    "unknown-lane": (read_json(laneId="7"), {}, 422, "unknown_lane", 1),
    "confidence-over-1": (read_json(confidence=1.5), {}, 422, "invalid_read", 1),
    "image-too-large": (read_json(image=base64.b64encode(PNG + bytes(600_000)).decode()), {}, 422,
                        "image_too_large", 1),
    "not-an-image": (read_json(image=base64.b64encode(b"%PDF-1.4").decode()), {}, 422, "image_format", 1),
    "bad-base64": (read_json(image="***"), {}, 422, "image_format", 1),
    "one-bad-in-batch": ([read_json("1-ABC-001"), read_json("1-AB€-002"), read_json("1-ABC-003")], {}, 422,
                         "invalid_plate", 1),
    "batch-too-large": ([read_json() for _ in range(1001)], {}, 413, "batch_too_large", 1001),
    "empty-batch": ([], {}, 422, "empty_batch", 0),
    "not-a-read": ("just a string", {}, 422, "invalid_read", 1),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_read_changes_nothing_and_is_counted(client: TestClient, runtime: Runtime, key: str, case: str) -> None:
    body, headers, status, code, counted = BAD_INPUTS[case]
    response = client.post("/api/v1/reads", json=body, headers={**auth(key), **headers})
    assert response.status_code == status, response.text
    assert_error_shape(response.json(), code)
    assert runtime.store.count_reads() == 0
    assert list(runtime.images.root.rglob("*")) == [] if runtime.images.root.exists() else True
    assert refused(runtime).get(code, 0) == counted


def test_batch_refusal_lists_every_bad_read(client: TestClient, runtime: Runtime, key: str) -> None:
    batch = [read_json("1-ABC-001"), read_json("1-AB€-002"), read_json("1-ABC-003", laneId="9")]
    body = client.post("/api/v1/reads", json=batch, headers=auth(key)).json()
    assert body["error"]["code"] == "invalid_reads"
    assert [(d["loc"], d["code"]) for d in body["error"]["details"]] == [
        ("reads[1].licensePlate", "invalid_plate"),
        ("reads[2].laneId", "unknown_lane"),
    ]
    assert refused(runtime) == {"invalid_plate": 1, "unknown_lane": 1, "batch_refused": 1}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "missing_key"), ({"Authorization": "Bearer cdk_wrong"}, 401, "wrong_key"),
     ({"Authorization": "Basic abc"}, 401, "missing_key")],
)  # fmt: skip
def test_keys_are_checked(
    client: TestClient, runtime: Runtime, headers: dict[str, str], status: int, code: str
) -> None:
    response = client.post("/api/v1/reads", json=read_json(observedBy="cam-north"), headers=headers)
    assert response.status_code == status
    assert response.headers["www-authenticate"] == "Bearer"
    assert_error_shape(response.json(), code)
    assert runtime.store.count_reads() == 0
    assert refused(runtime).get(code) == 1  # counted against the camera the read claims to come from


def test_revoked_key_is_refused(client: TestClient, runtime: Runtime, key: str) -> None:
    runtime.store.revoke_camera_keys("cam-north")
    runtime.keyring.reload()
    assert client.post("/api/v1/reads", json=read_json(), headers=auth(key)).status_code == 401


def test_malformed_json(client: TestClient, runtime: Runtime, key: str) -> None:
    response = client.post(
        "/api/v1/reads",
        content=b'{"licensePlate": ',
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert_error_shape(response.json(), "malformed_json")
    assert refused(runtime) == {"malformed_json": 1}


def test_wrong_content_type(client: TestClient, runtime: Runtime, key: str) -> None:
    response = client.post("/api/v1/reads", content=b"plate=1ABC234",
                           headers={**auth(key), "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 415
    assert_error_shape(response.json(), "unsupported_media_type")
    assert refused(runtime) == {"unsupported_media_type": 1}


def test_oversized_body(client: TestClient, runtime: Runtime, key: str) -> None:
    limit = runtime.settings.ingest.max_body_bytes
    response = client.post("/api/v1/reads", content=b" " * (limit + 1),
                           headers={**auth(key), "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert_error_shape(response.json(), "body_too_large")
    assert runtime.store.count_reads() == 0


def test_every_error_has_the_one_shape(client: TestClient) -> None:
    assert_error_shape(client.get("/api/v1/nothing-here").json(), "not_found")
    assert_error_shape(client.get("/api/v1/reads").json(), "method_not_allowed")


def test_health_figures(
    client: TestClient, runtime: Runtime, key: str, login_as: Callable[..., dict[str, str]]
) -> None:
    client.post("/api/v1/reads", json=read_json("1-AB€-234"), headers=auth(key))
    assert client.get("/api/v1/health").json()["zone"] == "pz-example"  # liveness: public
    assert client.get("/api/v1/health/cameras").status_code == 401  # camera figures: for health.read
    admin = login_as(Role.ADMIN)
    cameras = {c["camera_id"]: c for c in client.get("/api/v1/health/cameras", headers=admin).json()}
    assert set(cameras) >= {"cam-north", "cam-school"}
    assert cameras["cam-north"]["rejected"] == 1
    assert cameras["cam-north"]["rejections"][0]["reason"] == "invalid_plate"
    runtime.ingest.flush_rejections()  # persisted: survives a restart
    assert {(r.camera_id, r.reason, r.count) for r in runtime.store.rejections()} == {("cam-north", "invalid_plate", 1)}


def test_openapi_spec_is_served_and_complete(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    post = spec["paths"]["/api/v1/reads"]["post"]
    assert {"201", "200", "400", "401", "413", "415", "422", "503"} <= set(post["responses"])
    body_schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/ReadIn"} in body_schema["oneOf"]
    schemas = spec["components"]["schemas"]
    read_in = schemas["ReadIn"]
    assert {"dateObserved", "licensePlate", "observedBy", "eventId", "laneId"} <= set(read_in["properties"])
    assert read_in["required"] == ["dateObserved", "licensePlate"]
    assert all("description" in prop for prop in read_in["properties"].values())
    assert "ErrorResponse" in schemas
    for path in ("/api/v1/health", "/api/v1/health/cameras"):
        assert path in spec["paths"]
    refs = _refs(spec)
    assert refs <= {f"#/components/schemas/{name}" for name in schemas}, refs - set(schemas)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    assert "/static/swagger/swagger-ui-bundle.js" in page
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
