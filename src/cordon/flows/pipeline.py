"""From committed reads to flow records: the recorder (reads → the columns a `FlowRecord` needs), the pipeline
(the day's tokens made, records into the flow store, days closed once their secret is gone) and the sink that
feeds it from the in-process `ReadBus`.

The sink is a bus subscriber: the writer thread hands it the reads it has just committed; it takes from them
what a flow record needs, in columns (`Passages`: times, a number for camera/lane/direction/class/country,
plates), queues that and returns; its own thread makes the day's tokens and writes a batch at a time, so
ingest never waits for the flows pipeline, and ingest's code does not know it exists. Keeping columns rather
than the reads matters: a queued read is dozens of objects that the garbage collector would walk again and
again while they wait (docs/flows.md, Cost).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cordon.config.zone import Purpose, ZoneConfig
from cordon.flows.records import day_bounds, local_day
from cordon.flows.secrets import DaySecrets
from cordon.flows.store import Dims, FlowStore, RecordChunk
from cordon.flows.trips import ZoneLayout, day_trips
from cordon.records import PlateRead
from cordon.settings import Settings
from cordon.timeutil import utcnow

log = logging.getLogger(__name__)

#: A clock reading after every day: closing "now" at it closes every day (the end of a replayed period).
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def flow_store_path(settings: Settings) -> Path:
    """Where the flow store lives: its own setting, else `flows.sqlite3` in the data folder."""
    return settings.flows.database_path or settings.data_dir / "flows.sqlite3"


def secret_dir(settings: Settings) -> Path | None:
    """Where the day's secret is kept (None: in memory only)."""
    if not settings.flows.persist_secret:
        return None
    return settings.flows.secret_dir or settings.data_dir / "flows-secret"


class ReplayClock:
    """The clock of a replayed period: the delivery time of the reads, moved forward by the replay."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, moment: datetime) -> datetime:
        """Move forward to `moment` (never back); returns the time now."""
        self.now = max(self.now, moment)
        return self.now


@dataclass(frozen=True, slots=True)
class Passages:
    """Committed reads of statistics cameras, in columns: all the flows pipeline keeps of them until it records
    them. Plain lists of numbers and strings rather than the reads themselves, so that the sink holds no read
    object (dozens of them per read, for the garbage collector to walk) between ingest's commit and its own."""

    at: list[int]  # event time, whole seconds (UTC)
    dims: list[int]  # the recorder's number of the (camera, lane, direction, movement, class, country)
    plates: list[str]  # normalised plates, turned into the day's tokens when recorded

    def __len__(self) -> int:
        return len(self.at)

    @classmethod
    def joined(cls, parts: Sequence[Passages]) -> Passages:
        if len(parts) == 1:
            return parts[0]
        return cls(
            [a for p in parts for a in p.at], [d for p in parts for d in p.dims], [x for p in parts for x in p.plates]
        )


class FlowRecorder:
    """Committed reads → what their flow records need (reads of cameras not authorised for traffic statistics
    give none).

    `passages` takes it from each read (on ingest's thread: a few attribute reads, one dictionary look-up);
    then the sink's thread splits a batch by local day (`by_day`) and `FlowPipeline.record_passages` makes each
    day's tokens (`DaySecrets.tokens_of`)."""

    def __init__(self, zone: ZoneConfig, *, statistics_cameras_only: bool = True) -> None:
        self.zone = zone
        self.timezone = zone.zone.timezone
        self.cameras = {
            c.id: c for c in zone.cameras if not statistics_cameras_only or Purpose.TRAFFIC_STATISTICS in c.purposes
        }
        self._movement: dict[tuple[str, str | None], str] = {}
        for camera in self.cameras.values():
            for lane in camera.lanes:
                self._movement[(camera.id, lane.id)] = lane.movement.value
            if len(camera.lanes) == 1:
                self._movement[(camera.id, None)] = camera.lanes[0].movement.value
        # (camera, lane, direction, class, country) as the read has them → a number (-1: not a statistics
        # camera); `dims[number]` is the flow record's (camera, lane, direction, movement, class, country).
        self._numbers: dict[tuple[object, ...], int] = {}
        self.dims: list[Dims] = []
        self._day: tuple[int, int, str] = (0, 0, "")  # [start, end) seconds of the last day seen, and its date

    def passages(self, reads: Sequence[PlateRead]) -> Passages:
        """What the flow records of `reads` need, in columns (this is on ingest's path: kept lean; a plain loop
        is faster here than `attrgetter` and `map`, the interpreter reads a model's attributes directly)."""
        at: list[int] = []
        dims: list[int] = []
        plates: list[str] = []
        numbers = self._numbers
        for read in reads:
            key = (read.observed_by, read.lane_id, read.direction, read.vehicle_type, read.country)
            number = numbers.get(key)
            if number is None:
                number = self._number(key, read)
            if number >= 0:
                at.append(int(read.date_observed.timestamp()))
                dims.append(number)
                plates.append(read.plate)
        return Passages(at, dims, plates)

    def _number(self, key: tuple[object, ...], read: PlateRead) -> int:
        if read.observed_by not in self.cameras:
            number = -1
        else:
            number = len(self.dims)
            self.dims.append((
                read.observed_by,
                read.lane_id or "",
                str(read.direction) if read.direction is not None else "",
                self._movement.get((read.observed_by, read.lane_id), ""),
                str(read.vehicle_type) if read.vehicle_type is not None else "",
                read.country or "",
            ))  # fmt: skip
        self._numbers[key] = number
        return number

    def days(self, seconds: Sequence[int]) -> list[str]:
        """The local day of each instant (seconds, UTC)."""
        out: list[str] = []
        append = out.append
        start, end, day = self._day
        for at in seconds:
            if not start <= at < end:
                day = local_day(datetime.fromtimestamp(at, UTC), self.timezone)
                first, last = day_bounds(day, self.timezone)
                start, end = int(first.timestamp()), int(last.timestamp())
            append(day)
        self._day = (start, end, day)
        return out

    def by_day(self, batch: Passages) -> list[tuple[str, Passages]]:
        """The passages of each local day in the batch (one day, but around midnight or for a late read)."""
        days = self.days(batch.at)
        if not days:
            return []
        if days.count(days[0]) == len(days):
            return [(days[0], batch)]
        parts: dict[str, list[int]] = {}
        for index, day in enumerate(days):
            parts.setdefault(day, []).append(index)
        at, dims, plates = batch.at, batch.dims, batch.plates
        return [
            (day, Passages([at[i] for i in part], [dims[i] for i in part], [plates[i] for i in part]))
            for day, part in parts.items()
        ]


class FlowPipeline:
    """Records reads into the flow store and closes the days that are over."""

    def __init__(
        self,
        zone: ZoneConfig,
        store: FlowStore,
        secrets: DaySecrets,
        recorder: FlowRecorder,
        raw_retention_days: int = 31,
    ) -> None:
        self.zone = zone
        self.raw_retention_days = raw_retention_days
        self.store = store
        self.secrets = secrets
        self.recorder = recorder
        self.layout = ZoneLayout.of(zone)
        self._open: set[str] | None = None  # days with records, not closed yet (read from the store once)

    def record(self, reads: Sequence[PlateRead]) -> int:
        """Store the flow records of `reads`; returns how many were recorded."""
        return self.record_passages(self.recorder.passages(reads))

    def record_passages(self, batch: Passages) -> int:
        """Store the flow records of passages taken by `recorder.passages`; returns how many were recorded."""
        recorder = self.recorder
        ids = [self.store.dims_id(dims) for dims in recorder.dims]
        chunks = []
        for day, part in recorder.by_day(batch):
            tokens, alikes = self.secrets.tokens_of(day, part.plates)
            chunks.append(RecordChunk(day, part.at, [ids[n] for n in part.dims], tokens, alikes))
        written = self.store.append_chunks(chunks)
        if self._open is not None:  # days whose records link (a day's tokens are all there or all gone)
            self._open.update(chunk.day for chunk in chunks if chunk.tokens[0] is not None)
        return written

    def close_due_days(self, now: datetime, purge: bool = True) -> list[str]:
        """Destroy the secrets of days that are over, keep the trips of every such day once, and (`purge`)
        delete the raw records older than the retention period."""
        self.secrets.expire(now)
        if self._open is None:
            closed = self.store.closed_days()
            self._open = {d for d in self.store.record_days() if d not in closed}
        due = sorted(d for d in self._open if now >= self.secrets.closes_at(d))
        for day in due:
            self._open.discard(day)
            trips = day_trips(self.store.day_records(day), self.layout)
            self.store.close_day(day, trips, int(now.timestamp()))
            log.info("flows: %s closed with %d trips", day, len(trips))
        if due and purge:
            today = date.fromisoformat(local_day(now, self.zone.zone.timezone))
            purged = self.store.purge_raw((today - timedelta(days=self.raw_retention_days)).isoformat())
            if purged:
                log.info("flows: %d raw records older than %d days deleted", purged, self.raw_retention_days)
        return due

    def finish(self) -> list[str]:
        """Close every day now (a replayed period is over: no read of it will come any more)."""
        return self.close_due_days(END_OF_TIME, purge=False)


def build_pipeline(settings: Settings, zone: ZoneConfig, clock: Callable[[], datetime] = utcnow) -> FlowPipeline:
    """The flows pipeline of a zone, on the flow store and secret folder the settings name."""
    flows = settings.flows
    store = FlowStore(flow_store_path(settings), zone_id=zone.zone.id, timezone=zone.zone.timezone)
    secrets = DaySecrets(
        zone.zone.timezone, directory=secret_dir(settings), grace=timedelta(minutes=flows.grace_minutes), clock=clock
    )
    recorder = FlowRecorder(zone, statistics_cameras_only=flows.statistics_cameras_only)
    return FlowPipeline(zone, store, secrets, recorder, flows.raw_retention_days)


class FlowSink:
    """Bus subscriber: queues what the flow records need of committed reads (`Passages`); one thread records
    them and closes days every second."""

    def __init__(
        self,
        pipeline: FlowPipeline,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_pending: int = 2_000_000,
        linger_s: float = 0.25,
        batch: int = 20_000,
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self.max_pending = max_pending
        self.linger_s = linger_s
        self.batch = batch
        self.dropped = 0  # reads not recorded because the queue was full (statistics, never evidence)
        self.recorded = 0
        self.cpu_s = 0.0  # CPU seconds the sink's thread spent recording
        self.taking_cpu_s = 0.0  # CPU seconds the publisher (ingest's writer) spent in the subscriber
        self._queue: deque[Passages] = deque()
        self._pending = 0
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def __call__(self, reads: Sequence[PlateRead]) -> None:
        """The bus subscriber: take what the flow records need from the reads (not the reads: they can go as
        soon as ingest is done with them), queue it and return."""
        if self._pending + len(reads) > self.max_pending:
            with self._wake:
                self.dropped += len(reads)
            return
        started = time.thread_time()
        batch = self.pipeline.recorder.passages(reads)
        with self._wake:
            self.taking_cpu_s += time.thread_time() - started
            if not batch.at:
                return
            first = not self._queue
            self._queue.append(batch)
            self._pending += len(batch)
            if first or self._pending >= self.batch:  # wake the thread, or cut its lingering short
                self._wake.notify()

    def start(self) -> None:
        self.pipeline.close_due_days(self.clock())  # days that ended while the process was down
        self._thread = threading.Thread(target=self._run, name="cordon-flows", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Record what is queued, then stop; the open days' secrets stay on disk for a restart."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self.pipeline.secrets.destroy_all()
        self.pipeline.store.close()

    def drain(self) -> None:
        """Record everything queued now (on the caller's thread; for tests and benchmarks)."""
        self._record(self._take())

    def _take(self) -> Passages | None:
        with self._wake:
            batches, self._queue = list(self._queue), deque()
            self._pending = 0
        return Passages.joined(batches) if batches else None

    def _record(self, batch: Passages | None) -> None:
        if batch is not None:
            started = time.thread_time()
            try:
                self.recorded += self.pipeline.record_passages(batch)
            except Exception:
                log.exception("flows: %d reads could not be recorded", len(batch))
            self.cpu_s += time.thread_time() - started

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._queue and not self._stopping:
                    self._wake.wait(1.0)
                if self._queue and not self._stopping and self._pending < self.batch:
                    # Linger a moment: one large transaction costs far less per read than many small ones.
                    self._wake.wait(self.linger_s)
                stopping = self._stopping
            self._record(self._take())
            try:
                self.pipeline.close_due_days(self.clock())
            except Exception:
                log.exception("flows: closing days failed")
            if stopping:
                break


def build_flow_sink(settings: Settings, zone: ZoneConfig) -> FlowSink:
    """The bus subscriber `build_runtime` wires in when `settings.flows.enabled`."""
    return FlowSink(build_pipeline(settings, zone))
