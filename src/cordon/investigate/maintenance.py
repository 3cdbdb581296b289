"""Investigation upkeep for `cordon serve`: the search-index catch-up and retention, on their own thread.

Neither may run on the ingest writer's thread (a retention pass can take minutes on a large store, and the
writer must keep committing); each takes the write lock only for short batches.

    upkeep = build_upkeep(runtime)      # cordon.investigate.build_upkeep
    upkeep.start()
    ...
    upkeep.stop()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from cordon.investigate.index import SearchIndex
from cordon.investigate.retention import RetentionJob

log = logging.getLogger(__name__)


class Upkeep:
    """Runs `SearchIndex.catch_up` every `index_every_s` and `RetentionJob.run_once` every `retention_every_s`
    (0 switches either off), first retention one interval after start."""

    def __init__(
        self,
        index: SearchIndex,
        retention: RetentionJob,
        index_every_s: float,
        retention_every_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.index = index
        self.retention = retention
        self.index_every_s = index_every_s
        self.retention_every_s = retention_every_s
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cordon-investigate-upkeep", daemon=True)

    def start(self) -> None:
        if self.index_every_s > 0 or self.retention_every_s > 0:
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the pass under way (a retention batch is short), then close the connections."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.index.db.close()
            self.retention.db.close()

    def _run(self) -> None:
        started = time.monotonic()
        next_index = started
        next_retention = started + self.retention_every_s
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if self.index_every_s > 0 and now >= next_index:
                    self.index.catch_up()
                    next_index = now + self.index_every_s
                if self.retention_every_s > 0 and now >= next_retention:
                    self.retention.run_once(self.clock())
                    next_retention = now + self.retention_every_s
            except Exception:  # keep serving; the next pass retries (and the log says why)
                log.exception("investigation upkeep failed; retrying at the next interval")
                next_index = now + max(self.index_every_s, 1)
            waits = [t for t, on in ((next_index, self.index_every_s), (next_retention, self.retention_every_s)) if on]
            self._stop.wait(max(0.05, min(waits) - time.monotonic()) if waits else None)
