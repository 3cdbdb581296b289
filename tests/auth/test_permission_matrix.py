"""The role × route permission matrix: every route of `create_app`, with every role, no token, a bad token and an
expired token, against `ROLE_PERMISSIONS`. Routes added later are walked too: a route without a declared
permission (`require(...)`) fails here unless it is in `PUBLIC_ROUTES`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from cordon.api import create_app
from cordon.api.security import PUBLIC_ROUTES, Endpoint, endpoints, require
from cordon.auth.roles import ROLE_PERMISSIONS, Permission, Role, allowed
from cordon.runtime import Runtime

BODY_METHODS = {"POST", "PUT", "PATCH"}


def unguarded(app: FastAPI) -> list[tuple[str, str]]:
    """Endpoints without a declared permission that are not in the public list."""
    return [(e.method, e.path) for e in endpoints(app) if not e.guards and not e.public]


def guarded(app: FastAPI) -> list[Endpoint]:
    return [e for e in endpoints(app) if e.guards and e.method != "HEAD"]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Answer:
    """One request; an event stream (live alerts) is closed once its status is known, never read to its end."""
    body = {"json": {}} if method in BODY_METHODS else {}
    with client.stream(method, concrete(path), headers=headers, **body) as response:
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        text = "" if streaming else response.read().decode()
        return Answer(response.status_code, dict(response.headers), text)


def test_every_route_declares_a_permission_or_is_public(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    assert unguarded(app) == []
    for endpoint in endpoints(app):
        assert not (endpoint.public and endpoint.guards), f"{endpoint} is public but declares a permission"
    served = {(e.method, e.path) for e in endpoints(app)}
    assert {(m, p) for m, p in PUBLIC_ROUTES if m != "HEAD" and p != "/docs/oauth2-redirect"} <= served


def test_a_route_without_a_permission_is_caught(runtime: Runtime) -> None:
    """The walk above can fail: an unguarded route added to the app is found; a guarded one is not."""
    app = create_app(runtime.settings, runtime)
    careless = APIRouter()

    @careless.get("/api/v1/careless")
    async def careless_route() -> dict[str, str]:
        return {}

    @careless.get("/api/v1/careful", dependencies=[Depends(require(Permission.AUDIT_READ))])
    async def careful_route() -> dict[str, str]:
        return {}

    app.include_router(careless)
    assert unguarded(app) == [("GET", "/api/v1/careless")]


def test_every_role_against_every_route(
    client: TestClient, runtime: Runtime, login_as: Callable[..., dict[str, str]]
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    routes = guarded(app)
    assert len(routes) >= 10  # auth, users, audit, health: the walk found the app's routes
    tokens = {role: login_as(role) for role in Role}
    checked = 0
    for endpoint in routes:
        method, path = endpoint.method, endpoint.path
        for role in Role:
            expected = all(p is None or allowed(role, p) for p in endpoint.permissions)
            response = call(client, method, path, tokens[role])
            where = f"{role.value} {method} {path} -> {response.status_code} {response.text[:200]}"
            if expected:
                assert response.status_code not in (401, 403), where
                assert response.status_code != 500, where  # an allowed call never hits an unexpected error
            else:
                assert response.status_code == 403, where
                assert response.json()["error"]["code"] == "forbidden", where
            if response.status_code == 204 and path.endswith("/logout"):
                tokens[role] = login_as(role)  # that call ended the session: a new one for the next route
            checked += 1
    assert checked == len(routes) * len(Role)


def test_no_bad_or_expired_token_opens_any_route(client: TestClient, runtime: Runtime, login_as: Any) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    expired = login_as(Role.ADMIN)
    with runtime.audit.database.write() as connection:
        connection.execute(text("UPDATE sessions SET expires_us = 0"))
    cases = {
        "missing_token": {},
        "invalid_token": {"Authorization": "Bearer cdu_not-a-token"},
        "session_expired": expired,
    }
    for endpoint in guarded(app):
        for code, headers in cases.items():
            response = call(client, endpoint.method, endpoint.path, headers)
            assert response.status_code == 401, f"{code} {endpoint} -> {response.status_code}"
            assert response.json()["error"]["code"] == code
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_a_purpose_in_the_table(role: Role) -> None:
    """DESIGN.md §1: each role may do something, and only a DPO reads the audit trail, only an admin
    manages users, and a traffic analyst sees flows and nothing that carries a plate."""
    held = ROLE_PERMISSIONS[role]
    assert held
    assert (Permission.AUDIT_READ in held) == (role is Role.DPO)
    assert (Permission.USERS_MANAGE in held) == (role is Role.ADMIN)
    if role is Role.TRAFFIC_ANALYST:
        assert held == {Permission.FLOWS_READ}
    if role is Role.DPO:
        assert Permission.READS_SEARCH not in held
