"""The day's secret: flow records link within a local day, never across days, because each day's key is
random, kept only until the day is over, and then destroyed.

- A secret is 32 random bytes, made the first time a read of that local day (zone time zone) comes in.
- The token of a plate is keyed BLAKE2b (a MAC, RFC 7693) of the normalised plate under the day's secret,
  16 bytes. Without the secret, a token cannot be tested against a guessed plate; with it, the whole plate
  space could be tried, which is why the secret must not outlive its day.
- The look-alike token is keyed BLAKE2b under the same secret with another personalisation (`ALIKE_PERSON`:
  another function, so it never equals a token) of the plate's look-alike key (`cordon.plates.lookalike_key`).
  Two readings of one plate that differ by look-alike characters (a misread `8` for `B`) share it: the trip
  linking uses it to join an entry to an exit that one misread left apart. It links within the day only.
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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from cordon.flows.records import day_bounds
from cordon.plates import lookalike_key
from cordon.timeutil import utcnow

log = logging.getLogger(__name__)

SECRET_BYTES = 32
TOKEN_BYTES = 16
ALIKE_PERSON = b"cordon-alike"  # BLAKE2b personalisation of look-alike tokens: another function than tokens'
# `lookalike_key` as a bytes table: it maps ASCII letters and digits to ASCII digits and leaves every other
# character alone, so it commutes with UTF-8 encoding.
_ALIKE_BYTES = bytes(ord(lookalike_key(chr(i))) for i in range(256))
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
        self._hashers: dict[str, tuple[hashlib.blake2b, hashlib.blake2b]] = {}  # keyed states per day, copied per token
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
        return self.tokens_of(day, [plate])[0][0]

    def tokens_of(self, day: str, plates: Sequence[str]) -> tuple[list[bytes | None], list[bytes | None]]:
        """The tokens of many plates of one day, and their look-alike tokens (one loop, the keyed states copied
        per plate); None for each when the day's secret is gone.

        The look-alike token is the keyed hash, under the same secret but another personalisation (so it can
        never equal a token), of the plate's look-alike key (`cordon.plates.lookalike_key`: 0/O/D/Q, 1/I/L/T,
        2/Z, 5/S, 6/G, 8/B each one character). A plate misread by a look-alike character keeps it: that is what
        links an entry to its misread exit. It links within the day only, as the token does."""
        keyed = self._keyed(day)
        if keyed is None:
            nothing: list[bytes | None] = [None] * len(plates)
            return nothing, list(nothing)
        tokens: list[bytes | None] = []
        alikes: list[bytes | None] = []
        token, alike, copy, copy_alike = tokens.append, alikes.append, keyed[0].copy, keyed[1].copy
        for plate in plates:
            text = plate.encode()
            state = copy()
            state.update(text)
            token(state.digest())
            state = copy_alike()
            state.update(text.translate(_ALIKE_BYTES))  # = lookalike_key(plate).encode(), without a second encode
            alike(state.digest())
        return tokens, alikes

    def _keyed(self, day: str) -> tuple[hashlib.blake2b, hashlib.blake2b] | None:
        """The day's keyed BLAKE2b states (tokens, look-alike tokens), made once; None once the secret is gone."""
        keyed = self._hashers.get(day)
        if keyed is None:
            secret = self.secret(day)
            if secret is None:
                return None
            key = bytes(secret)
            keyed = self._hashers[day] = (
                hashlib.blake2b(key=key, digest_size=TOKEN_BYTES),
                hashlib.blake2b(key=key, digest_size=TOKEN_BYTES, person=ALIKE_PERSON),
            )
        return keyed

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
