"""`POST /api/v1/reads`: cameras deliver reads, one or a batch, in Cordon JSON or FIWARE AnprFlowObserved."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from cordon.api.deps import CameraKeyDep, RuntimeDep
from cordon.api.errors import ErrorResponse
from cordon.api.responses import JsonResponse
from cordon.errors import CordonError
from cordon.ingest.service import IngestService

router = APIRouter(prefix="/api/v1", tags=["ingest"])

JSON_TYPES = ("application/json", "application/ld+json")


class ReadStatusOut(BaseModel):
    """What happened to one read."""

    eventId: str = Field(description="The read's event id (given or derived).")  # noqa: N815
    status: str = Field(description="`stored`, or `duplicate` for a re-sent read already stored.")


class ReceiptOut(BaseModel):
    """The acknowledgement of a request: every read in it is durable."""

    accepted: int = Field(description="Reads in the request.")
    stored: int = Field(description="Reads newly stored.")
    duplicates: int = Field(description="Reads already stored before (re-sent).")
    reads: list[ReadStatusOut] = Field(description="Per read, in request order.")


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Malformed JSON.",
        401: "Missing or wrong API key.",
        413: "Body, image or batch too large.",
        415: "Content type is not JSON.",
        422: "A read breaks a rule (unknown camera, impossible plate, timestamp out of range, ...). "
        "Nothing of the request was stored.",
        503: "The store cannot take reads now; retry.",
    }.items()
}

_BODY = {
    "requestBody": {
        "required": True,
        "description": "One read, or an array of up to `max_batch` reads (1,000 by default). Each read is "
        "Cordon JSON (`ReadIn`) or a FIWARE `AnprFlowObserved` entity.",
        "content": {
            media: {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/ReadIn"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/ReadIn"}},
                        {"type": "object", "description": "FIWARE AnprFlowObserved entity (key-values)"},
                    ]
                }
            }
            for media in JSON_TYPES
        },
    }
}


async def _body(request: Request, service: IngestService, key: str | None) -> bytes:
    limit = service.limits.max_body_bytes
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        error = CordonError(
            "unsupported_media_type", f"content type must be application/json, not {media or 'none'!r}", 415
        )
        raise service.refuse(error, service.sender(key))
    declared = request.headers.get("content-length")
    too_large = CordonError("body_too_large", f"the body exceeds {limit} bytes", 413)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise service.refuse(too_large, service.sender(key))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise service.refuse(too_large, service.sender(key))
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/reads",
    status_code=201,
    response_model=ReceiptOut,
    responses={200: {"model": ReceiptOut, "description": "Every read was already stored."}, **_ERRORS},
    openapi_extra=_BODY,
    summary="Deliver reads (one or a batch)",
)
async def post_reads(request: Request, runtime: RuntimeDep, key: CameraKeyDep) -> JsonResponse:
    """Store reads durably: the answer comes only after they are committed. A request is taken whole or
    refused whole; a re-sent read (same camera and `eventId`) is acknowledged as `duplicate`."""
    # The dependencies are `async def`: FastAPI runs plain-`def` ones in its thread pool, and two hops per
    # request cost about a sixth of the server's CPU at one read per request (docs/benchmarks.md).
    service = runtime.ingest
    body = await _body(request, service, key)
    admission = service.admit_json(body, key)
    if any(item.image is not None for item in admission.prepared):
        future = await run_in_threadpool(service.commit, admission)
    else:
        future = service.commit(admission)
    receipt = await asyncio.wrap_future(future)
    status = 201 if any(receipt.stored) else 200
    return JsonResponse(receipt.to_json(), status_code=status)
