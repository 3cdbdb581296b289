"""The rule runner: the edge between the read bus and the pure rule engine.

Stored reads arrive from the bus (on the writer thread, which must not wait); the runner queues them and one
worker thread feeds the engine, then hands every decision to its sinks (the live view today; persistence,
MQTT and alert channels plug in the same way).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from cordon.records import PlateRead
from cordon.rules.base import Decision
from cordon.rules.engine import RuleEngine

log = logging.getLogger(__name__)

DecisionSink = Callable[[Decision], None]
Call = Callable[[], None]


class RuleRunner:
    """Runs a `RuleEngine` on a thread of its own, fed from the read bus."""

    def __init__(self, engine: RuleEngine, sinks: Sequence[DecisionSink] = (), tick_s: float = 1.0) -> None:
        self.engine = engine
        self._sinks = list(sinks)
        self._queue: queue.SimpleQueue[Sequence[PlateRead] | Call | None] = queue.SimpleQueue()
        self._tick_s = tick_s
        self._thread = threading.Thread(target=self._run, name="cordon-rules", daemon=True)
        self.processed = 0

    def add_sink(self, sink: DecisionSink) -> None:
        self._sinks.append(sink)

    def submit(self, reads: Sequence[PlateRead]) -> None:
        """Bus subscriber: queue newly stored reads (returns at once)."""
        self._queue.put(reads)

    def call_soon(self, call: Call) -> None:
        """Run `call` on the runner's thread between two batches (e.g. swap rules over new reference data):
        the engine is never touched by two threads."""
        self._queue.put(call)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Process what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                batch = self._queue.get(timeout=self._tick_s)
            except queue.Empty:
                continue
            if batch is None:
                return
            if callable(batch):
                self._call(batch)
                continue
            reads = list(batch)
            while True:  # take whatever else is queued: one engine step for all of it
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._step(reads)
                    return
                if callable(more):
                    self._step(reads)
                    self._call(more)
                    reads = []
                    continue
                reads.extend(more)
            if reads:
                self._step(reads)

    @staticmethod
    def _call(call: Call) -> None:
        try:
            call()
        except Exception:
            log.exception("a call on the rule runner failed")

    def _step(self, reads: list[PlateRead]) -> None:
        try:
            decision = self.engine.process(reads)
        except Exception:
            log.exception("the rule engine failed on a batch of %d reads", len(reads))
            return
        self.processed += len(reads)
        if not decision:
            return
        for sink in self._sinks:
            try:
                sink(decision)
            except Exception:
                log.exception("a decision sink failed")
