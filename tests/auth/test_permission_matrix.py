"""The role × route permission matrix: every route of `create_app`, with every role, no token, a bad token and an
expired token, against `ROLE_PERMISSIONS`. Routes added later are walked too: a route without a declared
permission (`require(...)`) fails here unless it is in `PUBLIC_ROUTES`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.routing import Mount, Route

from cordon.api import create_app
from cordon.api.security import PUBLIC_MOUNTS, PUBLIC_ROUTES, require, route_guards
from cordon.auth.roles import ROLE_PERMISSIONS, Permission, Role, allowed
from cordon.runtime import Runtime

BODY_METHODS = {"POST", "PUT", "PATCH"}


def walk(app: FastAPI) -> Iterator[tuple[str, str, APIRoute | None]]:
    """(method, path, route) of every endpoint; `route` is None for plain Starlette routes."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                yield method, route.path, route
        elif isinstance(route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"mount {route.path} is neither guarded nor public"
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                yield method, route.path, None


def unguarded(app: FastAPI) -> list[tuple[str, str]]:
    """Endpoints without a declared permission that are not in the public list."""
    return [
        (method, path)
        for method, path, route in walk(app)
        if (route is None or not route_guards(route)) and (method, path) not in PUBLIC_ROUTES
    ]


def guarded(app: FastAPI) -> list[tuple[str, str, list[Permission | None]]]:
    found = []
    for method, path, route in walk(app):
        if route is not None and route_guards(route) and method != "HEAD":
            found.append((method, path, [guard.permission for guard in route_guards(route)]))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {"json": {}} if method in BODY_METHODS else {}
    return client.request(method, concrete(path), headers=headers, **body)


def test_every_route_declares_a_permission_or_is_public(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    assert unguarded(app) == []
    for method, path, route in walk(app):
        if (method, path) in PUBLIC_ROUTES and route is not None:
            assert not route_guards(route), f"{method} {path} is public but declares a permission"
    served = {(method, path) for method, path, _ in walk(app)}
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
    for method, path, permissions in routes:
        for role in Role:
            expected = all(p is None or allowed(role, p) for p in permissions)
            response = call(client, method, path, tokens[role])
            where = f"{role.value} {method} {path} -> {response.status_code} {response.text[:200]}"
            if expected:
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
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
    for method, path, _ in guarded(app):
        for code, headers in cases.items():
            response = call(client, method, path, headers)
            assert response.status_code == 401, f"{code} {method} {path} -> {response.status_code}"
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
