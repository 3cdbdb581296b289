"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cordon.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """The running platform. `async`, so FastAPI calls it inline instead of through its thread pool."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def key_of(request: Request) -> str | None:
    """The camera's API key: `Authorization: Bearer KEY` or `X-API-Key: KEY`."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return request.headers.get("x-api-key") or None


async def camera_key(request: Request) -> str | None:
    """The camera's API key (a dependency, called inline)."""
    return key_of(request)


CameraKeyDep = Annotated[str | None, Depends(camera_key)]
