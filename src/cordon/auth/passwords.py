"""Password hashing with argon2id (RFC 9106), the parameters from the settings, re-hashed when they change."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from cordon.errors import unprocessable


class Passwords:
    """Hash and check people's passwords. Camera keys are random and need no slow hash (`cordon.ingest.keys`)."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4, min_length: int = 12):
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self.min_length = min_length
        self._dummy: str | None = None  # verified against for an unknown user, so it costs the same time

    def check_policy(self, password: str) -> None:
        """Refuse a password too short to resist guessing, or one made of blanks (a 422 `weak_password`)."""
        if len(password) < self.min_length:
            raise unprocessable("weak_password", f"a password needs at least {self.min_length} characters")
        if not password.strip():
            raise unprocessable("weak_password", "a password cannot be blank")

    def hash(self, password: str) -> str:
        """An argon2id hash of an acceptable password."""
        self.check_policy(password)
        return self._hasher.hash(password)

    def rehash(self, password: str) -> str:
        """A fresh hash, with today's parameters, of a password that was just verified (no policy check: a
        password accepted under an older policy must not lock its owner out at login)."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches `stored_hash` (None: no such user; the time spent is the same)."""
        if stored_hash is None and self._dummy is None:
            self._dummy = self._hasher.hash("cordon-no-such-user")
        try:
            return self._hasher.verify(stored_hash or self._dummy or "", password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether the hash was made with other parameters than today's (re-hash at the next login)."""
        return self._hasher.check_needs_rehash(stored_hash)
