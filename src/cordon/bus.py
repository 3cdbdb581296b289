"""In-process publish/subscribe: stored reads reach their subscribers (rules, flows, live views) right after
commit; new alerts reach the live views. Subscribers must return quickly (queue, don't work)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from cordon.records import PlateRead

log = logging.getLogger(__name__)

T = TypeVar("T")


class Hub(Generic[T]):
    """Hands each published item to every subscriber; a failing subscriber is logged and the others go on."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._subscribers: list[Callable[[T], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Callable[[T], None]) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, item: T) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(item)
            except Exception:
                log.exception("a subscriber to %s failed", self._what)


ReadSubscriber = Callable[[Sequence[PlateRead]], None]


class ReadBus(Hub[Sequence[PlateRead]]):
    """Newly stored reads, a commit's worth at a time."""

    def __init__(self) -> None:
        super().__init__("stored reads")
