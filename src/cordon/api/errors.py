"""One error shape for every API error, mapped from domain exceptions in one place.

{"error": {"code": "unknown_camera", "message": "...", "details": [{"loc": "...", "code": "...",
           "message": "..."}]}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cordon.api.responses import JsonResponse
from cordon.config import ConfigError
from cordon.errors import CordonError, ErrorDetail, error_body
from cordon.ingest.writer import WriterStopped
from cordon.store.base import StoreError

log = logging.getLogger(__name__)


class ErrorDetailOut(BaseModel):
    """One precise problem."""

    loc: str = Field(description="Where, e.g. `reads[3].dateObserved`.")
    code: str = Field(description="Stable machine code.")
    message: str = Field(description="Human explanation.")


class ErrorOut(BaseModel):
    """An error."""

    code: str = Field(description="Stable machine code, e.g. `wrong_key`, `invalid_plate`.")
    message: str = Field(description="Human explanation, one sentence.")
    details: list[ErrorDetailOut] = Field(default_factory=list, description="Per-item problems.")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorOut


def error_responses(texts: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route: each status with the one error shape and what it means there."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in texts.items()}


def error_response(
    status: int,
    code: str,
    message: str,
    details: tuple[ErrorDetail, ...] = (),
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status_code=status, headers=headers)


_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    401: "unauthorized",
    403: "forbidden",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the API in the `ErrorResponse` shape."""

    @app.exception_handler(CordonError)
    async def _domain(_: Request, exc: CordonError) -> JsonResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JsonResponse:
        details = tuple(
            ErrorDetail(".".join(str(p) for p in err["loc"]), "invalid_parameter", err["msg"]) for err in exc.errors()
        )
        return error_response(422, "invalid_request", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(StoreError)
    @app.exception_handler(WriterStopped)
    async def _unavailable(_: Request, exc: Exception) -> JsonResponse:
        log.error("store unavailable: %s", exc)
        return error_response(503, "store_unavailable", "the store cannot take the request now; retry later")

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError) -> JsonResponse:
        return error_response(500, "configuration_error", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JsonResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
