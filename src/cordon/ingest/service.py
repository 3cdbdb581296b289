"""The ingest service: one door for reads from HTTP, MQTT and files.

`admit` authenticates and validates a whole request (all of it or none: a request with one bad read stores
nothing), counting every refused read against the sending camera; `commit` writes images, then hands the
reads to the group-commit writer and returns a future that completes once they are durable.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from cordon.config.zone import ZoneConfig
from cordon.errors import CordonError, ErrorDetail, unauthorized, unprocessable
from cordon.ingest.formats import FIWARE_TYPE, AdapterError, ReadIn, fiware_to_read, is_fiware
from cordon.ingest.keys import KeyRing
from cordon.ingest.validate import Prepared, Refused, prepare_read
from cordon.ingest.writer import GroupCommitWriter
from cordon.records import PlateRead
from cordon.settings import IngestSettings
from cordon.store.base import AppendResult, RejectionCount, Store
from cordon.store.images import ImageStore
from cordon.timeutil import utcnow

#: Counter bucket for requests whose sender cannot be told (no valid key, no known camera named).
UNKNOWN_SENDER = "unknown"

_READ_ADAPTER: TypeAdapter[ReadIn] = TypeAdapter(ReadIn)
_BODY_ADAPTER: TypeAdapter[list[ReadIn] | ReadIn] = TypeAdapter(list[ReadIn] | ReadIn)


@dataclass(frozen=True, slots=True)
class Admission:
    """A request that passed every check: its reads, ready to be committed."""

    camera_id: str
    prepared: tuple[Prepared, ...]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What was done with an admitted request, read by read."""

    reads: tuple[PlateRead, ...]
    stored: tuple[bool, ...]

    def to_json(self) -> dict[str, Any]:
        stored = sum(self.stored)
        return {
            "accepted": len(self.reads),
            "stored": stored,
            "duplicates": len(self.reads) - stored,
            "reads": [
                {"eventId": read.event_id, "status": "stored" if new else "duplicate"}
                for read, new in zip(self.reads, self.stored, strict=True)
            ],
        }


class RejectionCounter:
    """Refused reads per (camera, reason), kept in memory and flushed to the store in the background."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[tuple[str, str]] = Counter()

    def add(self, camera_id: str, reason: str, count: int = 1) -> None:
        if count > 0:
            with self._lock:
                self._pending[(camera_id, reason)] += count

    def pending(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._pending)

    def flush(self, store: Store, at: datetime) -> None:
        with self._lock:
            drained, self._pending = self._pending, Counter()
        try:
            store.add_rejections(drained, at)
        except Exception:
            with self._lock:
                self._pending.update(drained)  # keep them for the next flush
            raise


class IngestService:
    """Authenticate, validate and durably store reads. Shared by HTTP, MQTT and file ingest."""

    def __init__(
        self,
        *,
        zone: ZoneConfig,
        store: Store,
        images: ImageStore,
        limits: IngestSettings,
        writer: GroupCommitWriter,
        keyring: KeyRing,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.zone = zone
        self.store = store
        self.images = images
        self.limits = limits
        self.writer = writer
        self.keyring = keyring
        self.clock = clock
        self.rejections = RejectionCounter()

    # -- refusing --------------------------------------------------------------------------------------------

    def sender(self, key: str | None, claimed: str | None = None) -> str:
        """The camera to count a refusal against: the key's camera, else a known claimed one."""
        camera = self.keyring.camera_for(key)
        if camera is not None:
            return camera
        if claimed is not None and self.zone.camera(claimed) is not None:
            return claimed
        return UNKNOWN_SENDER

    def refuse(self, error: CordonError, sender: str, count: int = 1) -> CordonError:
        """Count a refusal of `count` reads against `sender`, and return the error to raise."""
        self.rejections.add(sender, error.code, count)
        return error

    def flush_rejections(self) -> None:
        self.rejections.flush(self.store, self.clock())

    def rejection_counts(self) -> list[RejectionCount]:
        """Stored counts plus those not flushed yet."""
        merged: Counter[tuple[str, str]] = Counter()
        last: dict[tuple[str, str], datetime] = {}
        for row in self.store.rejections():
            merged[(row.camera_id, row.reason)] += row.count
            last[(row.camera_id, row.reason)] = row.last_at
        now = self.clock()
        for key, count in self.rejections.pending().items():
            merged[key] += count
            last[key] = now
        return [RejectionCount(cam, reason, n, last[(cam, reason)]) for (cam, reason), n in sorted(merged.items())]

    # -- admitting -------------------------------------------------------------------------------------------

    def admit_json(self, body: bytes, key: str | None) -> Admission:
        """Admit a raw JSON body (one read object or an array of reads)."""
        key_camera = self.keyring.camera_for(key)
        if key_camera is not None and FIWARE_TYPE.encode() not in body:
            # Fast path: pydantic parses and validates the whole body in one pass. Anything it refuses goes
            # down the precise path below, which says exactly what is wrong and where.
            try:
                decoded = _BODY_ADAPTER.validate_json(body)
            except ValidationError:
                decoded = None
            if decoded is not None:
                raws = decoded if isinstance(decoded, list) else [decoded]
                self._check_batch(len(raws), key_camera)
                return self._admit_items(raws, key_camera, self._prepare_raw)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            error = CordonError("malformed_json", f"the body is not valid JSON: {exc}", 400)
            raise self.refuse(error, self.sender(key)) from None
        return self.admit(payload, key)

    def admit(self, payload: Any, key: str | None) -> Admission:
        """Authenticate and validate a decoded payload; all of it is admitted or none."""
        items = payload if isinstance(payload, list) else [payload]
        key_camera = self.keyring.camera_for(key)
        if key_camera is None:
            sender = self.sender(None, _claimed_camera(items))
            if not key:
                raise self.refuse(unauthorized("missing_key", "an API key is required"), sender, len(items))
            raise self.refuse(unauthorized("wrong_key", "the API key is not valid"), sender, len(items))
        self._check_batch(len(items), key_camera)
        return self._admit_items(items, key_camera, self._prepare_item)

    def _check_batch(self, count: int, key_camera: str) -> None:
        if not count:
            raise self.refuse(unprocessable("empty_batch", "the batch holds no read"), key_camera, 0)
        if count > self.limits.max_batch:
            error = CordonError(
                "batch_too_large", f"{count} reads in one batch; the limit is {self.limits.max_batch}", 413
            )
            raise self.refuse(error, key_camera, count)

    def _admit_items(
        self, items: list[Any], key_camera: str, prepare: Callable[[Any, str, str, datetime], Prepared | Refused]
    ) -> Admission:
        received = self.clock()
        prepared: list[Prepared] = []
        refused: list[ErrorDetail] = []
        for index, item in enumerate(items):
            outcome = prepare(item, f"reads[{index}]", key_camera, received)
            if isinstance(outcome, Refused):
                refused.append(outcome.detail)
            else:
                prepared.append(outcome)
        if refused:
            for detail in refused:
                self.rejections.add(key_camera, detail.code)
            self.rejections.add(key_camera, "batch_refused", len(prepared))
            first = refused[0]
            code = first.code if len({d.code for d in refused}) == 1 else "invalid_reads"
            message = (
                f"{len(refused)} of {len(items)} reads refused, nothing was stored; first: {first.loc}: {first.message}"
            )
            raise unprocessable(code, message, tuple(refused))
        return Admission(key_camera, tuple(prepared))

    def _prepare_raw(self, raw: ReadIn, loc: str, key_camera: str, received: datetime) -> Prepared | Refused:
        return prepare_read(raw, key_camera=key_camera, zone=self.zone, received=received, limits=self.limits, loc=loc)

    def check_trusted(self, item: Any, loc: str) -> Prepared | Refused:
        """Validate one read from a trusted source (a file an administrator imports): the camera named in
        the read stands in for the key. Same checks as every other path; nothing is counted."""
        camera = _claimed_camera([item]) or ""
        return self._prepare_item(item, loc, camera, self.clock())

    def _prepare_item(self, item: Any, loc: str, key_camera: str, received: datetime) -> Prepared | Refused:
        try:
            data = fiware_to_read(item) if is_fiware(item) else item
            raw = _READ_ADAPTER.validate_python(data)
        except AdapterError as exc:
            return Refused(key_camera, ErrorDetail(loc, "invalid_read", str(exc)))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            detail = ErrorDetail(f"{loc}.{where}" if where else loc, "invalid_read", error["msg"])
            return Refused(key_camera, detail)
        return prepare_read(raw, key_camera=key_camera, zone=self.zone, received=received, limits=self.limits, loc=loc)

    # -- committing ------------------------------------------------------------------------------------------

    def commit(self, admission: Admission) -> Future[Receipt]:
        """Write images, then queue the reads; the future completes once they are durable."""
        for item in admission.prepared:
            if item.image is not None:
                self.images.put(item.image)
        reads = tuple(item.read for item in admission.prepared)
        receipt: Future[Receipt] = Future()

        def done(appended: Future[AppendResult]) -> None:
            error = appended.exception()
            if error is not None:
                receipt.set_exception(error)
            else:
                receipt.set_result(Receipt(reads, appended.result().stored))

        self.writer.submit(reads).add_done_callback(done)
        return receipt


def _claimed_camera(items: list[Any]) -> str | None:
    """The camera the first item says it comes from, to count refusals of unauthenticated requests."""
    if not items or not isinstance(items[0], dict):
        return None
    claimed = items[0].get("observedBy")
    if isinstance(claimed, dict):  # NGSI normalized
        claimed = claimed.get("object") or claimed.get("value")
    if isinstance(claimed, str):
        return claimed.rsplit(":", 1)[-1]
    return None
