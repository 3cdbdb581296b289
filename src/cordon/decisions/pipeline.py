"""The rules' decision sink, and the restart replay that rebuilds the rules' state from the stored reads
without raising anything twice.

A decision's journey:
1. Fresh commands go to the MQTT publisher at once, on the rules' thread, before anything is written: a bollard
   must not wait for a disk. A command id already sent (an in-memory record of the recent ones) is not sent
   again; a command whose validity has passed (a replayed read, a backlog) is never sent and is recorded
   `expired`.
2. `DecisionStore.save` keeps what is new (stable ids), in batches: decisions gathered over `batch_s` are
   saved in one transaction by a saver thread, so the decision store takes the database lock a few times a
   second instead of once per rule step (two writers taking turns at SQLite's lock is what makes ingest
   latency jump). If the store fails, the decision goes on unsaved and is saved when the store answers again.
3. New alerts (only those the store did not hold yet) go to MQTT `cordon/alerts/{category}` and to the
   in-process subscribers (live views).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from cordon.bus import Hub
from cordon.decisions.publisher import MqttPublisher
from cordon.decisions.store import DecisionStore, Delivery
from cordon.records import Alert
from cordon.rules.base import Decision, merge
from cordon.rules.engine import RuleEngine
from cordon.store.base import Store
from cordon.timeutil import from_micros, to_micros, utcnow

log = logging.getLogger(__name__)


#: Reads per batch when the restart replays the store.
REPLAY_BATCH = 5000
#: Command ids remembered as sent: a command decided again (a read resent after a store outage) is not resent.
RECENT_COMMANDS = 10_000


class AlertHub(Hub[Alert]):
    """In-process subscribers to new alerts (the dashboard's live feed)."""

    def __init__(self) -> None:
        super().__init__("new alerts")


class DecisionPipeline:
    """A `DecisionSink` for the `RuleRunner`, as the module says. With `batch_s` 0 everything happens in the
    caller's thread (tests, the CLI); otherwise a saver thread saves and publishes alerts (`start`/`stop`)."""

    def __init__(
        self,
        store: DecisionStore,
        hub: AlertHub,
        publisher: MqttPublisher | None = None,
        clock: Callable[[], datetime] = utcnow,
        batch_s: float = 0.0,
    ) -> None:
        self.store = store
        self.hub = hub
        self.publisher = publisher
        self._clock = clock
        self._batch_s = batch_s
        self._unsaved: list[Decision] = []
        self.unsaved_total = 0
        self._sent: OrderedDict[str, None] = OrderedDict()  # recent command ids, oldest first
        self._queue: queue.SimpleQueue[Decision | None] = queue.SimpleQueue()
        self._saver: threading.Thread | None = None
        self._idle = threading.Condition()
        self._waiting = 0  # decisions queued and not yet saved

    def start(self) -> None:
        if self._batch_s > 0 and self._saver is None:
            self._saver = threading.Thread(target=self._run, name="cordon-decisions", daemon=True)
            self._saver.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Save what is queued, then stop the saver."""
        if self._saver is not None:
            self._queue.put(None)
            self._saver.join(timeout)
            self._saver = None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every decision handed in so far is saved (and its alerts published)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._waiting == 0, timeout)

    def __call__(self, decision: Decision) -> None:
        now = self._clock()
        for command in decision.commands:
            if now < command.valid_until and self.publisher is not None and command.command_id not in self._sent:
                self.publisher.command(command)
                self._sent[command.command_id] = None
                if len(self._sent) > RECENT_COMMANDS:
                    self._sent.popitem(last=False)
        if self._saver is None:
            self._conclude(decision)
            return
        with self._idle:
            self._waiting += 1
        self._queue.put(decision)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            gathered = [first]
            deadline = time.monotonic() + self._batch_s
            stopping = False
            while (left := deadline - time.monotonic()) > 0:
                try:
                    more = self._queue.get(timeout=left)
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                gathered.append(more)
            self._conclude(merge(gathered))
            with self._idle:
                self._waiting -= len(gathered)
                self._idle.notify_all()
            if stopping:
                return

    def _conclude(self, decision: Decision) -> None:
        now = self._clock()
        fresh = self._save(decision, now)
        for command in fresh.commands:
            if now >= command.valid_until and command.command_id not in self._sent:
                self._mark(command.command_id, Delivery.EXPIRED, now)
        for alert in fresh.alerts:
            if self.publisher is not None:
                self.publisher.alert(alert)
            self.hub.publish(alert)

    def _save(self, decision: Decision, now: datetime) -> Decision:
        try:
            if self._unsaved:  # the store came back: keep what was decided while it was away
                for pending in self._unsaved:
                    self.store.save(pending, now)
                log.warning("the store is back: %d decisions saved late", len(self._unsaved))
                self._unsaved.clear()
            return self.store.save(decision, now)
        except Exception:
            log.exception("the store failed: this decision goes on unsaved and is saved when the store is back")
            self._unsaved.append(decision)
            self.unsaved_total += 1
            return decision

    def _mark(self, command_id: str, delivery: Delivery, at: datetime) -> None:
        try:
            self.store.mark_delivery(command_id, delivery, at)
        except Exception:
            log.exception("recording the delivery of command %s failed", command_id)


def replay(engine: RuleEngine, store: Store, sink: Callable[[Decision], None]) -> int:
    """Rebuild the rules' state from the reads stored within the engine's horizon (in storage order, as they
    first came), handing every decision to `sink`, which keeps only what is new. Returns the reads replayed.
    Run it before ingest starts: reads arriving meanwhile would be seen twice."""
    last = store.last_cursor()
    if last == 0 or engine.horizon_us == 0:
        return 0
    newest = store.reads_after(last - 1, 1)
    if not newest:
        return 0
    since = from_micros(to_micros(newest[0][1].date_received) - engine.horizon_us)
    cursor, replayed = store.cursor_before(since), 0
    while cursor < last:
        batch = store.reads_after(cursor, REPLAY_BATCH)
        if not batch:
            break
        cursor = batch[-1][0]
        reads = [read for position, read in batch if position <= last]
        replayed += len(reads)
        decision = engine.process(reads)
        if decision:
            sink(decision)
    return replayed
