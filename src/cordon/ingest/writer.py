"""Group commit: concurrent appends share one durable transaction.

Each caller gets a future that completes only after the transaction holding its reads has committed, so
acknowledging on completion is safe. While one commit is in flight, new submissions queue up and go into
the next one: throughput grows with load while each commit stays durable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from cordon.records import PlateRead
from cordon.store.base import AppendResult, Store

log = logging.getLogger(__name__)

StoredCallback = Callable[[Sequence[PlateRead]], None]


class WriterStopped(RuntimeError):
    """The writer no longer accepts reads (the process is shutting down)."""


class GroupCommitWriter:
    """Append reads to the store from any thread; one background thread commits them in groups."""

    def __init__(
        self,
        store: Store,
        *,
        max_delay_s: float = 0.0,
        max_group: int = 50_000,
        on_stored: StoredCallback | None = None,
        on_failed: StoredCallback | None = None,
        idle_interval_s: float = 1.0,
    ) -> None:
        """`on_stored` gets the reads newly stored by each commit; `on_failed` the reads of a commit that failed
        (the store is down: their senders get the error and resend; `on_failed` lets the rules act without the
        store meanwhile, see `RuleService.decide_unstored`)."""
        self._store = store
        self._max_delay_s = max_delay_s
        self._max_group = max_group
        self._on_stored = on_stored
        self._on_failed = on_failed
        self._idle_tasks: list[Callable[[], object]] = []
        self._idle_interval_s = idle_interval_s
        self._pending: list[tuple[Sequence[PlateRead], Future[AppendResult]]] = []
        self._pending_reads = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="cordon-writer", daemon=True)
        self.commits = 0

    def add_idle_task(self, task: Callable[[], object]) -> None:
        """Run `task` on the writer thread about every `idle_interval_s`, and once when stopping."""
        self._idle_tasks.append(task)

    def start(self) -> None:
        self._thread.start()

    def submit(self, reads: Sequence[PlateRead]) -> Future[AppendResult]:
        """Queue reads for the next commit; the future completes once they are durable."""
        future: Future[AppendResult] = Future()
        if not reads:
            future.set_result(AppendResult(()))
            return future
        with self._condition:
            if self._stopping:
                raise WriterStopped("the store writer is stopping")
            self._pending.append((reads, future))
            self._pending_reads += len(reads)
            self._condition.notify()
        return future

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the thread."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _take(self) -> list[tuple[Sequence[PlateRead], Future[AppendResult]]]:
        with self._condition:
            while not self._pending and not self._stopping:
                if not self._condition.wait(self._idle_interval_s):
                    return []
            if self._max_delay_s and not self._stopping and self._pending_reads < self._max_group:
                self._condition.wait(self._max_delay_s)
            group: list[tuple[Sequence[PlateRead], Future[AppendResult]]] = []
            count = 0
            while self._pending and (not group or count + len(self._pending[0][0]) <= self._max_group):
                item = self._pending.pop(0)
                group.append(item)
                count += len(item[0])
            self._pending_reads -= count
            return group

    def _run(self) -> None:
        last_idle = time.monotonic()
        while True:
            group = self._take()
            if group:
                self._commit(group)
            now = time.monotonic()
            if now - last_idle >= self._idle_interval_s:
                last_idle = now
                self._run_idle_tasks()
            with self._condition:
                if self._stopping and not self._pending:
                    break
        self._run_idle_tasks()

    def _run_idle_tasks(self) -> None:
        for task in self._idle_tasks:
            self._safely(task)

    def _commit(self, group: list[tuple[Sequence[PlateRead], Future[AppendResult]]]) -> None:
        reads = [read for batch, _ in group for read in batch]
        try:
            result = self._store.append(reads)
        except Exception as exc:
            log.exception("commit of %d reads failed", len(reads))
            for _, future in group:
                future.set_exception(exc)
            if self._on_failed is not None:
                on_failed = self._on_failed
                self._safely(lambda: on_failed(reads))
            return
        self.commits += 1
        offset = 0
        fresh: list[PlateRead] = []
        for batch, future in group:
            flags = result.stored[offset : offset + len(batch)]
            fresh.extend(read for read, stored in zip(batch, flags, strict=True) if stored)
            offset += len(batch)
            future.set_result(AppendResult(flags))
        if fresh and self._on_stored is not None:
            self._safely(lambda: self._on_stored(fresh) if self._on_stored else None)

    @staticmethod
    def _safely(callback: Callable[[], object]) -> None:
        try:
            callback()
        except Exception:
            log.exception("writer callback failed")
