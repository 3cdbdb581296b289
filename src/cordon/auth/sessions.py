"""Logins and sessions: password + second factor in, an opaque bearer token out; the token back in, a
`Principal` out.

- A token is 256 random bits (`cdu_…`); the database keeps only its SHA-256, so a copy of the database opens
  no session. A session ends when unused for `session_idle_s`, `session_absolute_s` after login, at logout,
  and when its user is disabled, changes role or gets a new password or second factor.
- Every failed login counts against the account (`failed_count`), is kept in `login_failures` and written to
  the audit trail; `lockout_threshold` failures in a row lock the account for `lockout_s` (also audited). The
  answer never says which factor was wrong, and an unknown username costs the same argon2 time.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import Connection, text

from cordon.audit.events import Action, AuditEvent, Outcome
from cordon.audit.log import AuditLog
from cordon.auth import totp
from cordon.auth.database import Database
from cordon.auth.models import USERNAME, IssuedSession, LockoutPolicy, Principal, User, after_failure
from cordon.auth.passwords import Passwords
from cordon.auth.roles import Role
from cordon.auth.users import USER_COLUMNS, user_from_row
from cordon.errors import unauthorized
from cordon.settings import AuthSettings
from cordon.timeutil import from_micros, to_micros, utcnow

log = logging.getLogger(__name__)

TOKEN_PREFIX = "cdu_"  # noqa: S105 - a prefix, not a secret
# `last_seen` is written at most this often per session: idle expiry to the minute, without a write per request
_TOUCH_S = 60
_BAD_CREDENTIALS = "wrong username, password or one-time code"


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


class _Replayed(Exception):
    """A TOTP code used a moment ago by another login."""


class Sessions:
    """Log people in and out, and turn a bearer token into a `Principal`."""

    def __init__(self, database: Database, passwords: Passwords, audit: AuditLog, settings: AuthSettings) -> None:
        self.database = database
        self.passwords = passwords
        self.audit = audit
        self.settings = settings
        self.policy = LockoutPolicy(settings.lockout_threshold, timedelta(seconds=settings.lockout_s))
        self.totp_required = frozenset(settings.totp_required_roles)

    # -- login ---------------------------------------------------------------------------------------------

    def login(
        self, username: str, password: str, totp_code: str | None, client: str | None, now: datetime | None = None
    ) -> IssuedSession:
        """A new session for the right username, password and (where enrolled or required) TOTP code."""
        moment = now or utcnow()
        name = username.strip().lower()
        with self.database.read() as connection:
            row = connection.execute(
                text(f"SELECT {USER_COLUMNS}, password_hash, totp_last_step FROM users WHERE username = :u"),  # noqa: S608
                {"u": name},
            ).first()
        if row is None:
            self.passwords.verify(None, password)  # the same time as for a real account
            self._refuse(None, name, client, moment, "unknown_user")
        user, password_hash, last_step = user_from_row(tuple(row)[:-2]), str(row[-2]), row[-1]
        secret = row[5]
        if user.locked(moment):
            self._refuse(user, name, client, moment, "locked")
        if not self.passwords.verify(password_hash, password):
            self._refuse(user, name, client, moment, "password")
        if user.disabled:
            self._refuse(user, name, client, moment, "disabled")
        step = None
        if secret is not None:
            step = totp.matching_step(
                str(secret), (totp_code or "").strip(), moment.timestamp(), self.settings.totp_window,
                None if last_step is None else int(last_step),
            )  # fmt: skip
            if step is None:
                self._refuse(user, name, client, moment, "totp")
        elif user.role in self.totp_required:
            self._refuse(user, name, client, moment, "totp_not_enrolled")
        return self._open(user, password_hash, password, step, client, moment)

    def _open(
        self, user: User, password_hash: str, password: str, step: int | None, client: str | None, moment: datetime
    ) -> IssuedSession:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        rehash = self.passwords.rehash(password) if self.passwords.needs_rehash(password_hash) else None
        try:
            session_id = self._store_login(user, step, rehash, token, client, moment)
        except _Replayed:
            self._refuse(user, user.username, client, moment, "totp")
        log.info("user %s signed in (session %d)", user.username, session_id)
        expires = moment + timedelta(seconds=self.settings.session_absolute_s)
        return IssuedSession(token, session_id, user, expires, self.settings.session_idle_s)

    def _store_login(
        self, user: User, step: int | None, rehash: str | None, token: str, client: str | None, moment: datetime
    ) -> int:
        with self.database.write() as connection:
            if step is not None:
                used = connection.execute(
                    text(
                        "UPDATE users SET totp_last_step = :s WHERE id = :id "
                        "AND (totp_last_step IS NULL OR totp_last_step < :s)"
                    ),
                    {"s": step, "id": user.user_id},
                )
                if used.rowcount != 1:
                    raise _Replayed
            connection.execute(
                text("UPDATE users SET failed_count = 0, locked_until_us = NULL, last_login_us = :now WHERE id = :id"),
                {"now": to_micros(moment), "id": user.user_id},
            )
            if rehash is not None:
                connection.execute(
                    text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": rehash, "id": user.user_id}
                )
            session_id = self.issue_in(connection, user.user_id, token, client, moment)
            self.audit.record_in(connection, self._event(user.username, user.role, Action.LOGIN, client, moment,
                                                         Outcome.SUCCESS, session=session_id))  # fmt: skip
        return session_id

    def issue(self, username: str, client: str | None = None, now: datetime | None = None) -> str:
        """A session for `username` without credentials, for trusted callers only (tests, a local operator
        tool); it is audited as a login with `method: issued`. Returns the bearer token."""
        moment = now or utcnow()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.database.write() as connection:
            row = connection.execute(
                text("SELECT id, role FROM users WHERE username = :u AND NOT disabled"), {"u": username}
            ).first()
            if row is None:
                raise unauthorized("unknown_user", f"no enabled user '{username}'")
            session_id = self.issue_in(connection, int(row[0]), token, client, moment)
            event = self._event(username, Role(row[1]), Action.LOGIN, client, moment, Outcome.SUCCESS,
                                session=session_id, method="issued")  # fmt: skip
            self.audit.record_in(connection, event)
        return token

    def issue_in(self, connection: Connection, user_id: int, token: str, client: str | None, moment: datetime) -> int:
        """Store a session for `token` (its hash) inside a write transaction; returns the session id."""
        now = to_micros(moment)
        expires = to_micros(moment + timedelta(seconds=self.settings.session_absolute_s))
        result = connection.execute(
            text(
                "INSERT INTO sessions (token_hash, user_id, created_us, last_seen_us, expires_us, client) "
                "VALUES (:h, :u, :now, :now, :exp, :c) RETURNING id"
            ),
            {"h": token_hash(token), "u": user_id, "now": now, "exp": expires, "c": client},
        )
        return int(result.scalar_one())

    def _event(
        self, actor: str, role: Role | None, action: Action, client: str | None, moment: datetime, outcome: Outcome,
        **details: str | int | None,
    ) -> AuditEvent:  # fmt: skip
        return AuditEvent(
            actor=actor, actor_role=role.value if role else None, action=action, at=moment, client=client,
            outcome=outcome, details=dict(details),
        )  # fmt: skip

    def _refuse(self, user: User | None, name: str, client: str | None, moment: datetime, reason: str) -> NoReturn:
        """Count, keep and audit a failed login, lock the account at the threshold, then raise the 401."""
        shown = name if USERNAME.fullmatch(name) else "(not a valid username)"
        locked_now = False
        with self.database.write() as connection:
            connection.execute(
                text(
                    "INSERT INTO login_failures (username, user_id, at_us, client, reason) VALUES (:n, :u, :at, :c, :r)"
                ),
                {"n": shown, "u": user.user_id if user else None, "at": to_micros(moment), "c": client, "r": reason},
            )
            role = user.role if user else None
            outcome = Outcome.DENIED if reason in ("locked", "disabled", "totp_not_enrolled") else Outcome.FAILURE
            event = self._event(shown, role, Action.LOGIN_FAILED, client, moment, outcome, reason=reason)
            self.audit.record_in(connection, event)
            if user is not None and outcome is Outcome.FAILURE:
                count = connection.execute(
                    text("UPDATE users SET failed_count = failed_count + 1 WHERE id = :id RETURNING failed_count"),
                    {"id": user.user_id},
                ).scalar_one()
                decision = after_failure(int(count) - 1, self.policy, moment)
                if decision.locked_until is not None:
                    connection.execute(
                        text("UPDATE users SET failed_count = 0, locked_until_us = :until WHERE id = :id"),
                        {"until": to_micros(decision.locked_until), "id": user.user_id},
                    )
                    until = decision.locked_until.isoformat()
                    lockout = self._event(
                        shown, role, Action.LOCKOUT, client, moment, Outcome.DENIED, until=until,
                        failures=self.policy.threshold,
                    )  # fmt: skip
                    self.audit.record_in(connection, lockout)
                    locked_now = True
        log.info("failed login for %s (%s)", shown, reason)
        if locked_now:
            log.warning("account %s locked for %d s after %d failed logins", shown, self.settings.lockout_s,
                        self.policy.threshold)  # fmt: skip
        if reason == "locked" or locked_now:
            raise unauthorized("account_locked", "too many failed logins: the account is locked for a while")
        if reason == "disabled":
            raise unauthorized("account_disabled", "this account is disabled")
        if reason == "totp_not_enrolled":
            raise unauthorized(
                "totp_not_enrolled", "this role needs a second factor: ask an administrator to enrol one"
            )
        raise unauthorized("invalid_credentials", _BAD_CREDENTIALS)

    # -- requests ------------------------------------------------------------------------------------------

    def authenticate(self, token: str | None, client: str | None, now: datetime | None = None) -> Principal:
        """The principal behind a bearer token, or a 401 (`missing_token`, `invalid_token`, `session_expired`)."""
        if not token:
            raise unauthorized("missing_token", "sign in first: send `Authorization: Bearer <token>`")
        moment = now or utcnow()
        with self.database.read() as connection:
            row = connection.execute(
                text(
                    "SELECT s.id, s.last_seen_us, s.expires_us, s.revoked_us, u.id, u.username, u.role, u.disabled "
                    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = :h"
                ),
                {"h": token_hash(token)},
            ).first()
        if row is None:
            raise unauthorized("invalid_token", "the token is not valid: sign in again")
        session_id, last_seen_us, expires_us, revoked_us, user_id, username, role, disabled = row
        now_us = to_micros(moment)
        idle_limit = int(last_seen_us) + self.settings.session_idle_s * 1_000_000
        if revoked_us is not None or bool(disabled):
            raise unauthorized("session_ended", "the session has ended: sign in again")
        if now_us >= int(expires_us) or now_us >= idle_limit:
            raise unauthorized("session_expired", "the session has expired: sign in again")
        if now_us - int(last_seen_us) >= _TOUCH_S * 1_000_000:
            with self.database.write() as connection:
                connection.execute(
                    text("UPDATE sessions SET last_seen_us = :now WHERE id = :id AND last_seen_us < :now"),
                    {"now": now_us, "id": session_id},
                )
        return Principal(
            user_id=int(user_id), username=str(username), role=Role(role), session_id=int(session_id), client=client
        )

    def logout(self, principal: Principal) -> None:
        """End the principal's session (its token stops working at once)."""
        moment = utcnow()
        with self.database.write() as connection:
            connection.execute(
                text("UPDATE sessions SET revoked_us = :now WHERE id = :id AND revoked_us IS NULL"),
                {"now": to_micros(moment), "id": principal.session_id},
            )
            self.audit.record_in(connection, self._event(principal.username, principal.role, Action.LOGOUT,
                                                         principal.client, moment, Outcome.SUCCESS,
                                                         session=principal.session_id))  # fmt: skip
        log.info("user %s signed out (session %d)", principal.username, principal.session_id)

    def session_expiry(self, session_id: int) -> datetime | None:
        with self.database.read() as connection:
            value = connection.execute(
                text("SELECT expires_us FROM sessions WHERE id = :id"), {"id": session_id}
            ).scalar_one_or_none()
        return from_micros(int(value)) if value is not None else None
