"""The in-process bus: stored reads reach their subscribers (rules, live views) right after commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from cordon.records import PlateRead

log = logging.getLogger(__name__)

ReadSubscriber = Callable[[Sequence[PlateRead]], None]


class ReadBus:
    """Publish newly stored reads to subscribers. Subscribers must return quickly (queue, don't work)."""

    def __init__(self) -> None:
        self._subscribers: list[ReadSubscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: ReadSubscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, reads: Sequence[PlateRead]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(reads)
            except Exception:
                log.exception("a read subscriber failed")
