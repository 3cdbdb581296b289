"""The one place the API checks who a person is and what they may do.

A route declares its permission through `require`, and through nothing else:

    from cordon.api.security import require
    from cordon.audit.events import AuditEvent, AuditRecorder
from cordon.auth.models import Principal
    from cordon.auth.roles import Permission

    @router.get("/alerts")
    async def alerts(principal: Annotated[Principal, Depends(require(Permission.ALERTS_READ))]) -> ...:
        ...                       # principal.username, principal.role, principal.client for the audit trail

    router = APIRouter(dependencies=[Depends(require(Permission.FLOWS_READ))])  # or for a whole router

`require(permission)` answers 401 in the API's one error shape without a valid session (`missing_token`,
`invalid_token`, `session_expired`, `session_ended`) and 403 (`forbidden`) when the role lacks the permission
(`cordon.auth.roles.ROLE_PERMISSIONS`); otherwise it hands the route the `Principal`. `SignedIn` is the same
check for routes every signed-in person may use (`/auth/me`, `/auth/logout`).

The guard stays visible on the route (`endpoints(app)` lists each endpoint with its guards), so
`tests/auth/test_permission_matrix.py` walks every route of `create_app` with every role: a route without a
guard fails that test unless it is listed in `PUBLIC_ROUTES` (the login, liveness, the docs, and the camera
ingest, which uses camera keys, not people).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from cordon.audit.events import AuditEvent, AuditRecorder
from cordon.auth.models import Principal
from cordon.auth.roles import Permission, allowed
from cordon.errors import forbidden
from cordon.runtime import Runtime
from cordon.timeutil import utcnow

# (method, path) of the routes anyone may call. Adding one is a security decision: say why beside it.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/login"),  # how a person gets a token
        ("GET", "/api/v1/health"),  # liveness, for load balancers and monitoring: no personal data
        ("POST", "/api/v1/reads"),  # cameras, authenticated by their own camera key (cordon.ingest.keys)
        ("POST", "/api/v1/cameras/{camera_id}/clock"),  # cameras' clock status, with their camera key
        ("GET", "/docs"),  # Swagger UI
        ("HEAD", "/docs"),
        ("GET", "/openapi.json"),  # the API description
        ("HEAD", "/openapi.json"),
        ("GET", "/docs/oauth2-redirect"),
    }
)
PUBLIC_MOUNTS: frozenset[str] = frozenset({"/static/swagger"})  # Swagger UI's files


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def client_address(request: Request) -> str | None:
    """The request's client address (behind a reverse proxy: run uvicorn with its proxy-headers option)."""
    return request.client.host if request.client is not None else None


@dataclass(frozen=True, slots=True)
class Guard:
    """The dependency `require` returns: authenticates the bearer token, then checks the permission.

    `permission` None means any signed-in person. Sessions are looked up in the store (a plain `def`: FastAPI
    runs it in its thread pool, so a slow disk never blocks the event loop).
    """

    permission: Permission | None

    def __call__(self, request: Request) -> Principal:
        runtime: Runtime = request.app.state.runtime
        principal = runtime.accounts.sessions.authenticate(bearer_token(request), client_address(request))
        if self.permission is not None and not allowed(principal.role, self.permission):
            raise forbidden("forbidden", f"the role {principal.role.value} may not {self.permission.value}")
        return principal


def require(permission: Permission) -> Guard:
    """The dependency for a route that needs `permission`: `Depends(require(Permission.X))`."""
    return Guard(permission)


signed_in = Guard(None)
SignedIn = Annotated[Principal, Depends(signed_in)]


def _dependency_calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_calls(sub)


def guards_of(dependant: Dependant) -> tuple[Guard, ...]:
    """Every guard in a dependency tree, at any depth."""
    return tuple(call for call in _dependency_calls(dependant) if isinstance(call, Guard))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One method on one path of the app, with the guards it declares (none: public, or a static mount)."""

    method: str
    path: str
    guards: tuple[Guard, ...]
    mount: bool = False

    @property
    def public(self) -> bool:
        return (self.method, self.path) in PUBLIC_ROUTES or (self.mount and self.path in PUBLIC_MOUNTS)

    @property
    def permissions(self) -> tuple[Permission | None, ...]:
        return tuple(guard.permission for guard in self.guards)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every endpoint the app serves, routers included (what the permission-matrix test and the docs walk)."""
    found: list[Endpoint] = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if isinstance(context.original_route, Mount):
            found.append(Endpoint("*", path, (), mount=True))
            continue
        dependant = getattr(context, "dependant", None)
        guards = guards_of(dependant) if isinstance(dependant, Dependant) else ()
        found.extend(Endpoint(method, path, guards) for method in sorted(context.methods or ()))
    return found


def record_action(
    audit: AuditRecorder, principal: Principal, action: str, query: dict[str, Any] | None = None, **details: Any
) -> None:
    """Record in the audit trail what a signed-in person just did (who, role, from where, when, on what)."""
    audit.record(
        AuditEvent(
            actor=principal.username,
            actor_role=principal.role.value,
            client=principal.client,
            action=action,
            at=utcnow(),
            query=query,
            details=details,
        )
    )
