"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from cordon import __version__
from cordon.api import audit, auth, cameras, decisions, flows, health, hotlists, investigate, reads, users
from cordon.api.errors import install_error_handlers
from cordon.ingest.formats import ReadIn
from cordon.runtime import Runtime, build_runtime
from cordon.settings import Settings

DESCRIPTION = """
Cordon ingests ANPR reads from a police zone's cameras, stores them for as long as the law allows, and
runs the zone's rules on them. Cameras authenticate with their own API key (`Authorization: Bearer ...`).
Every error has the same shape: `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the API. Without `runtime`, one is built from `settings` when the app starts and stopped
    when it stops; with one, the caller owns its life."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        active = build_runtime(settings) if owned else runtime
        assert active is not None
        active.start()
        app.state.runtime = active
        try:
            yield
        finally:
            if owned:
                active.stop()

    app = FastAPI(
        title="Cordon",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
    )
    install_error_handlers(app)
    app.include_router(reads.router)
    app.include_router(cameras.router)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(audit.router)
    app.include_router(decisions.router)
    app.include_router(hotlists.router)
    app.include_router(flows.router)
    app.include_router(investigate.router)
    _install_offline_docs(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _install_offline_docs(app: FastAPI) -> None:
    """Swagger UI served from the installed package: the docs work on a network without a CDN."""
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Cordon API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the read input schemas the reads endpoint parses itself."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        license_info=app.license_info,
    )
    read_schema = ReadIn.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(read_schema.pop("$defs", {}))
    components["ReadIn"] = read_schema
    app.openapi_schema = schema
    return schema
