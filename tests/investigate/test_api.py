"""The investigation API: thin routes over the one door; refusals in the one error shape; every call audited."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cordon.api import create_app
from cordon.auth.roles import Permission, Role, allowed
from cordon.records import PlateRead
from cordon.runtime import Runtime

NOW = datetime.now(UTC)
CONSULTATION = {
    "purpose": "judicial", "reason": "stolen car seen near the station", "offence_type": "theft",
    "case_reference": "PV DE.20.L1.000042/2026",
}  # fmt: skip


@pytest.fixture
def client(runtime: Runtime, make_read: Callable[..., PlateRead]) -> Iterator[TestClient]:
    runtime.store.append([make_read("1ABC234", at=NOW - timedelta(days=d), lane_id="1") for d in (1, 2, 45)])
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


def search(plate: str = "1-ABC-234", **window: str) -> dict[str, Any]:
    return {"consultation": CONSULTATION, "query": {"type": "plate", "plate": plate, "window": window}}


def test_search_through_the_door(client: TestClient, runtime: Runtime, login_as: Callable[..., Any]) -> None:
    response = client.post("/api/v1/investigate/search", json=search(), headers=login_as(Role.OPERATOR))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2 and body["type"] == "plate"
    assert [r["read"]["plate"] for r in body["reads"]] == ["1ABC234", "1ABC234"]
    assert body["reads"][0]["movement"] == "entry"
    assert {w["camera_id"] for w in body["door"]["windows"]} == {"cam-north"}
    entry = runtime.audit.entries(limit=1000)[-1].event
    assert (entry.actor, entry.action, entry.result_count) == ("operator", "reads.search", 2)


def test_refusals_come_in_the_one_error_shape(client: TestClient, login_as: Callable[..., Any]) -> None:
    since = (NOW - timedelta(days=90)).isoformat()
    old = client.post("/api/v1/investigate/search", json=search(since=since), headers=login_as(Role.OPERATOR))
    assert old.status_code == 403
    error = old.json()["error"]
    assert error["code"] == "beyond_open_period"
    assert error["details"] == [{"loc": "consultation", "code": "beyond_open_period", "message": error["message"][22:]}]
    body = search()
    body["consultation"] = {"purpose": "judicial"}
    incomplete = client.post("/api/v1/investigate/search", json=body, headers=login_as(Role.INVESTIGATOR))
    assert incomplete.status_code == 422
    assert incomplete.json()["error"]["message"] == (
        "consultation refused: a consultation needs: reason, offence type, case reference"
    )
    bad_plate = client.post("/api/v1/investigate/search", json=search("1-AB€"), headers=login_as(Role.INVESTIGATOR))
    assert bad_plate.status_code == 422 and bad_plate.json()["error"]["code"] == "invalid_request"
    analyst = client.post("/api/v1/investigate/search", json=search(), headers=login_as(Role.TRAFFIC_ANALYST))
    assert analyst.status_code == 403 and analyst.json()["error"]["code"] == "forbidden"
    patterns = {"consultation": CONSULTATION, "query": {"type": "timeline", "plate": "1ABC234"}}
    operator = client.post("/api/v1/investigate/patterns", json=patterns, headers=login_as(Role.OPERATOR))
    assert operator.status_code == 403  # patterns are for investigators


def test_a_registered_decision_opens_older_reads(client: TestClient, login_as: Callable[..., Any]) -> None:
    headers = login_as(Role.INVESTIGATOR)
    since = (NOW - timedelta(days=90)).isoformat()
    assert client.post("/api/v1/investigate/search", json=search(since=since), headers=headers).status_code == 403
    decision = {
        "reference": "PK-2026-0042", "magistrate": "PK Dendermonde", "plates": ["1-ABC-234"],
        "valid_from": (NOW - timedelta(days=1)).isoformat(), "valid_until": (NOW + timedelta(days=30)).isoformat(),
    }  # fmt: skip
    created = client.post("/api/v1/investigate/decisions", json=decision, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["plates"] == ["1ABC234"] and created.json()["registered_by"] == "investigator"
    assert client.post("/api/v1/investigate/decisions", json=decision, headers=headers).status_code == 409
    body = search(since=since)
    body["consultation"] = {**CONSULTATION, "decision_reference": "PK-2026-0042"}
    allowed = client.post("/api/v1/investigate/search", json=body, headers=headers)
    assert allowed.status_code == 200 and allowed.json()["count"] == 3
    assert allowed.json()["door"]["decision_reference"] == "PK-2026-0042"
    listed = client.get("/api/v1/investigate/decisions", headers=headers).json()
    assert [d["reference"] for d in listed] == ["PK-2026-0042"]
    revoked = client.post("/api/v1/investigate/decisions/PK-2026-0042/revoke", headers=headers)
    assert revoked.status_code == 204
    assert client.post("/api/v1/investigate/search", json=body, headers=headers).status_code == 403


def test_export_and_holds(client: TestClient, runtime: Runtime, login_as: Callable[..., Any]) -> None:
    headers = login_as(Role.INVESTIGATOR)
    body = {"consultation": CONSULTATION, "query": {"type": "export", "plate": "1ABC234"}}
    response = client.post("/api/v1/investigate/export", json=body, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "manifest.sha256" in archive.namelist()
    assert (
        runtime.audit.entries(limit=1000)[-1].event.details["manifest_sha256"] == response.headers["x-manifest-sha256"]
    )
    hold = {"case_reference": "PV 1", "reason": "trial pending", "plates": ["1-abc-234"]}
    created = client.post("/api/v1/investigate/holds", json=hold, headers=headers)
    assert created.status_code == 201 and created.json()["plates"] == ["1ABC234"]
    hold_id = created.json()["hold_id"]
    assert client.post(f"/api/v1/investigate/holds/{hold_id}/release", headers=headers).status_code == 204
    assert client.post(f"/api/v1/investigate/holds/{hold_id}/release", headers=headers).status_code == 404
    assert client.get("/api/v1/investigate/holds", headers=headers).json()[0]["released_at"] is not None


ROUTES = [
    ("POST", "/api/v1/investigate/search", Permission.READS_SEARCH),
    ("POST", "/api/v1/investigate/patterns", Permission.PATTERNS_RUN),
    ("POST", "/api/v1/investigate/export", Permission.EVIDENCE_EXPORT),
    ("GET", "/api/v1/investigate/decisions", Permission.DECISIONS_MANAGE),
    ("POST", "/api/v1/investigate/decisions", Permission.DECISIONS_MANAGE),
    ("POST", "/api/v1/investigate/decisions/PK-1/revoke", Permission.DECISIONS_MANAGE),
    ("GET", "/api/v1/investigate/holds", Permission.DECISIONS_MANAGE),
    ("POST", "/api/v1/investigate/holds", Permission.DECISIONS_MANAGE),
    ("POST", "/api/v1/investigate/holds/1/release", Permission.DECISIONS_MANAGE),
]


def test_every_role_against_every_investigation_route(client: TestClient, login_as: Callable[..., Any]) -> None:
    tokens = {role: login_as(role) for role in Role}
    for method, path, permission in ROUTES:
        for role in Role:
            body: dict[str, Any] = {"json": {}} if method == "POST" else {}
            response = client.request(method, path, headers=tokens[role], **body)
            where = f"{role.value} {method} {path} -> {response.status_code} {response.text[:200]}"
            if allowed(role, permission):
                assert response.status_code not in (401, 403) and response.status_code < 500, where
            else:
                assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", where
        assert client.request(method, path).status_code == 401
