"""The rules' decision sink: store once, then publish what is new; and the restart replay that rebuilds the
rules' state from the stored reads without raising anything twice.

Order of a decision's journey (all on the rule runner's thread):
1. `DecisionStore.save` keeps what is new (stable ids). If the store fails, the decision goes on unsaved
   (a bollard for a permit holder must still lower, an alert must still reach the operator) and is kept in
   memory to be saved on the next decision.
2. Fresh commands go to the MQTT publisher; a command whose validity has passed (a replayed read, a backlog)
   is recorded `expired` and never sent.
3. New alerts go to MQTT `cordon/alerts/{category}` and to the in-process subscribers (live views).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from cordon.decisions.publisher import MqttPublisher
from cordon.decisions.store import DecisionStore, Delivery
from cordon.records import Alert
from cordon.rules.base import Decision
from cordon.rules.engine import RuleEngine
from cordon.store.base import Store
from cordon.timeutil import from_micros, to_micros, utcnow

log = logging.getLogger(__name__)

AlertSubscriber = Callable[[Alert], None]

#: Reads per batch when the restart replays the store.
REPLAY_BATCH = 5000


class AlertHub:
    """In-process subscribers to new alerts (the dashboard's live feed). Subscribers must return quickly."""

    def __init__(self) -> None:
        self._subscribers: list[AlertSubscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: AlertSubscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, alert: Alert) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(alert)
            except Exception:
                log.exception("an alert subscriber failed")


class DecisionPipeline:
    """A `DecisionSink` for the `RuleRunner`: persist, then publish, as the module says."""

    def __init__(
        self,
        store: DecisionStore,
        hub: AlertHub,
        publisher: MqttPublisher | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.hub = hub
        self.publisher = publisher
        self._clock = clock
        self._unsaved: list[Decision] = []
        self.unsaved_total = 0

    def __call__(self, decision: Decision) -> None:
        now = self._clock()
        fresh = self._save(decision, now)
        for command in fresh.commands:
            if now >= command.valid_until:
                self._mark(command.command_id, Delivery.EXPIRED, now)
            elif self.publisher is not None:
                self.publisher.command(command)
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
