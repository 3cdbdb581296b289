"""Camera API keys: random, high-entropy secrets shown once and stored only as a SHA-256 hash.

A slow password hash (argon2) is for secrets people choose; a 256-bit random key cannot be guessed, so a
fast hash keeps the per-request check cheap without weakening it.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from cordon.store.base import Store

KEY_PREFIX = "cdk_"


def new_camera_key() -> str:
    """A fresh key: `cdk_` and 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    """Which camera a key belongs to, cached from the store and refreshed every `refresh_interval_s`."""

    def __init__(self, store: Store, refresh_interval_s: float = 1.0) -> None:
        self._store = store
        self._refresh_interval_s = refresh_interval_s
        self._lock = threading.Lock()
        self._by_hash: dict[str, str] = {}
        self._loaded_at = float("-inf")
        self.reload()

    def reload(self) -> None:
        """Re-read the active keys (after a key was added or revoked)."""
        keys = {key.key_hash: key.camera_id for key in self._store.active_camera_keys()}
        with self._lock:
            self._by_hash = keys
            self._loaded_at = time.monotonic()

    def camera_for(self, key: str | None) -> str | None:
        """The camera id of a valid key, else None. Keys are re-read at most once per refresh interval,
        so a key issued or revoked by `cordon cameras` takes effect in a running server within it."""
        if not key:
            return None
        if time.monotonic() - self._loaded_at >= self._refresh_interval_s:
            self.reload()
        return self._lookup(hash_key(key))

    def _lookup(self, digest: str) -> str | None:
        # A dict lookup on the hash leaks nothing useful: timing reveals hash prefixes, not the key.
        with self._lock:
            return self._by_hash.get(digest)

    def issue(self, camera_id: str, label: str = "") -> str:
        """Create, store and return a new key for a camera (the only time it is shown)."""
        key = new_camera_key()
        self._store.add_camera_key(camera_id, hash_key(key), label)
        self.reload()
        return key
