"""Domain errors. Every error a user can cause is a `CordonError` with a stable code.

The API maps them to one JSON shape in one handler (`cordon.api.errors`), the CLI prints their message on
one line. The codes are part of the public contract: cameras and scripts branch on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One precise problem inside a request: where (`loc`, e.g. `reads[3].dateObserved`) and what."""

    loc: str
    code: str
    message: str


@dataclass(slots=True)
class CordonError(Exception):
    """A user-caused error: `code` for machines, `message` for people, `status` for HTTP."""

    code: str
    message: str
    status: int = 400
    details: tuple[ErrorDetail, ...] = field(default=())

    def __str__(self) -> str:
        return self.message


def error_body(code: str, message: str, details: tuple[ErrorDetail, ...] = ()) -> dict[str, Any]:
    """The one error shape, for every transport: `{"error": {"code", "message", "details": [...]}}`."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [{"loc": d.loc, "code": d.code, "message": d.message} for d in details],
        }
    }


def unauthorized(code: str, message: str) -> CordonError:
    """A request without a valid credential (HTTP 401)."""
    return CordonError(code, message, 401)


def forbidden(code: str, message: str) -> CordonError:
    """A valid credential asking for what it may not do (HTTP 403)."""
    return CordonError(code, message, 403)


def unprocessable(code: str, message: str, details: tuple[ErrorDetail, ...] = ()) -> CordonError:
    """Well-formed input that breaks a rule (HTTP 422)."""
    return CordonError(code, message, 422, details)
