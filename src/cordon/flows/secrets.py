"""The day's secret: flow records link within a local day, never across days, because each day's key is
random, kept only until the day is over, and then destroyed.

- A secret is 32 random bytes, made the first time a read of that local day (zone time zone) comes in.
- The token of a plate is keyed BLAKE2b (a MAC, RFC 7693) of the normalised plate under the day's secret,
  16 bytes. Without the secret, a token cannot be tested against a guessed plate; with it, the whole plate
  space could be tried, which is why the secret must not outlive its day.
- Once the clock passes the day's end plus `grace` (late reads of a camera's backlog still link), the secret
  is destroyed: overwritten in memory, its file overwritten with zeros, flushed and deleted. A read of that day
  arriving later gets no token: it is counted, never linked.
- A restart within the day: with `persist=True` the open days' secrets are kept in `directory` (a 0600 file
  per day, the folder 0700) and read back, so the day's records still link across the restart; files of days
  already over are destroyed at start. With `persist=False` the secrets live in memory only: a restart starts
  a new secret, and the day's records before and after it no longer link (counts are unaffected; trips that
  straddle the restart are lost).
- A secret is never made for a day that is already over, so a destroyed secret cannot come back; a clock set
  back would make a *new* random secret, which links to nothing written before.

Limits: overwriting a file does not guarantee the bytes are gone from an SSD or a journaling file system; put
`directory` on tmpfs or an encrypted volume where that matters. In memory the secret is overwritten, but Python
cannot promise that no copy (the keyed hash state, a temporary `bytes`) lingers in freed heap memory until it
is reused: the process's memory is as sensitive as the police store beside it (docs/flows.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cordon.flows.records import day_bounds
from cordon.timeutil import utcnow

log = logging.getLogger(__name__)

SECRET_BYTES = 32
TOKEN_BYTES = 16
_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.key$")


def token_of(secret: bytes | bytearray, plate: str) -> bytes:
    """The keyed hash of a normalised plate under a day's secret.

    >>> len(token_of(bytes(32), "1ABC234"))
    16
    """
    return hashlib.blake2b(plate.encode(), key=bytes(secret), digest_size=TOKEN_BYTES).digest()


class DaySecrets:
    """The secrets of the local days still open, made on demand and destroyed when their day is over."""

    def __init__(
        self,
        timezone: str,
        *,
        directory: Path | None = None,
        grace: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.timezone = timezone
        self.directory = directory
        self.grace = grace
        self.clock = clock
        self._secrets: dict[str, bytearray] = {}
        self._hashers: dict[str, Any] = {}  # keyed BLAKE2b state per day, copied for each token
        self._closes: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.destroyed: list[str] = []  # days whose secret this process destroyed, oldest first
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
            self._load()

    # -- the secret of a day ---------------------------------------------------------------------------------

    def closes_at(self, day: str) -> datetime:
        """When the secret of `day` is destroyed: the next local midnight plus the grace period."""
        found = self._closes.get(day)
        if found is None:
            found = self._closes[day] = day_bounds(day, self.timezone)[1] + self.grace
        return found

    def secret(self, day: str) -> bytearray | None:
        """The day's secret, made if the day is still open; None once the day is over."""
        with self._lock:
            found = self._secrets.get(day)
            if found is not None:
                return found
            if self.clock() >= self.closes_at(day):
                return None
            made = bytearray(secrets.token_bytes(SECRET_BYTES))
            self._secrets[day] = made
            if self.directory is not None:
                self._write(day, made)
            return made

    def token(self, day: str, plate: str) -> bytes | None:
        """The plate's token for that day, or None when the day's secret is gone."""
        tokens = self.tokens(day)
        return None if tokens is None else tokens(plate)

    def tokens(self, day: str) -> Callable[[str], bytes] | None:
        """A function plate → token for that day (fast: the keyed state is made once), or None when the day's
        secret is gone. Take it afresh for each batch: it must not outlive the day."""
        hasher = self._hashers.get(day)
        if hasher is None:
            secret = self.secret(day)
            if secret is None:
                return None
            hasher = self._hashers[day] = hashlib.blake2b(key=bytes(secret), digest_size=TOKEN_BYTES)

        def token(plate: str) -> bytes:
            state = hasher.copy()
            state.update(plate.encode())
            return state.digest()

        return token

    def days(self) -> list[str]:
        """The days whose secret is held now."""
        with self._lock:
            return sorted(self._secrets)

    # -- destruction -----------------------------------------------------------------------------------------

    def expire(self, now: datetime | None = None) -> list[str]:
        """Destroy the secret of every day that is over; returns those days."""
        moment = now or self.clock()
        with self._lock:
            over = sorted(day for day in self._secrets if moment >= self.closes_at(day))
            for day in over:
                secret = self._secrets.pop(day)
                secret[:] = bytes(len(secret))  # overwrite in memory before letting go
                self._hashers.pop(day, None)
                self._destroy_file(day)
                self.destroyed.append(day)
        for day in over:
            log.info("flows: the secret of %s was destroyed", day)
        return over

    def destroy_all(self) -> None:
        """Forget every secret now (memory only: files of open days stay for a restart within the day)."""
        with self._lock:
            for secret in self._secrets.values():
                secret[:] = bytes(len(secret))
            self._secrets.clear()
            self._hashers.clear()

    # -- files -----------------------------------------------------------------------------------------------

    def _path(self, day: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{day}.key"

    def _write(self, day: str, secret: bytearray) -> None:
        path = self._path(day)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, bytes(secret))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _destroy_file(self, day: str) -> None:
        if self.directory is None:
            return
        path = self._path(day)
        with contextlib.suppress(FileNotFoundError):
            size = path.stat().st_size
            with path.open("r+b") as handle:
                handle.write(bytes(max(size, SECRET_BYTES)))
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()

    def _load(self) -> None:
        """Read back the secrets of days still open; destroy files of days that are over (or unreadable)."""
        assert self.directory is not None
        now = self.clock()
        for path in sorted(self.directory.iterdir()):
            match = _FILE.match(path.name)
            if match is None:
                continue
            day = match.group(1)
            data = path.read_bytes()
            if now >= self.closes_at(day) or len(data) != SECRET_BYTES:
                self._destroy_file(day)
                self.destroyed.append(day)
                continue
            self._secrets[day] = bytearray(data)
