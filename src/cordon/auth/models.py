"""The typed values of people's accounts: a user, an authenticated principal, an issued session, and the pure
lock-out decision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from cordon.auth.roles import Permission, Role, allowed
from cordon.errors import unprocessable

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def check_username(username: str) -> str:
    """A valid username (2-64 characters: lower-case letters, digits, `.`, `_`, `-`), or a 422 error."""
    if not USERNAME.fullmatch(username):
        raise unprocessable(
            "invalid_username", "a username has 2-64 characters: lower-case letters, digits, '.', '_' or '-'"
        )
    return username


@dataclass(frozen=True, slots=True)
class User:
    """A person's account, without its secrets."""

    user_id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    totp_enrolled: bool
    failed_count: int
    locked_until: datetime | None
    created_at: datetime
    password_changed_at: datetime
    last_login_at: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, for the audit trail: a signed-in person, or a command run on the server."""

    name: str
    role: str | None = None
    client: str | None = None


class Principal(BaseModel):
    """The person behind an authenticated request (what `require(...)` hands a route).

    `client` is the request's client address; `session_id` identifies the session (never the token).
    """

    model_config = ConfigDict(frozen=True)

    user_id: int = Field(description="Account id.")
    username: str = Field(description="Username.")
    role: Role = Field(description="The account's role (DESIGN.md §1).")
    session_id: int = Field(description="The session the request came with.")
    client: str | None = Field(default=None, description="Client address of the request.")

    def can(self, permission: Permission) -> bool:
        """Whether the principal's role holds `permission`."""
        return allowed(self.role, permission)

    def actor(self) -> Actor:
        return Actor(self.username, self.role.value, self.client)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session: the bearer token is shown once, here, and stored only as its SHA-256."""

    token: str
    session_id: int
    user: User
    expires_at: datetime
    idle_timeout_s: int


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """How many failures in a row lock an account, and for how long."""

    threshold: int
    duration: timedelta


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    """What a failed login does to the account: the new count and, when it reached the threshold, a lock."""

    failed_count: int
    locked_until: datetime | None

    @property
    def locks(self) -> bool:
        return self.locked_until is not None


def after_failure(failed_count: int, policy: LockoutPolicy, now: datetime) -> FailureOutcome:
    """The pure lock-out decision: the count goes up; at the threshold the account locks and the count restarts.

    >>> from datetime import UTC
    >>> after_failure(4, LockoutPolicy(5, timedelta(minutes=15)), datetime(2026, 1, 1, tzinfo=UTC)).locks
    True
    """
    count = failed_count + 1
    if count >= policy.threshold:
        return FailureOutcome(0, now + policy.duration)
    return FailureOutcome(count, None)
