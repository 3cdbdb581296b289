"""User administration: add, change role, disable, enable, reset a password, enrol a second factor.

Every change and its audit entry commit in one transaction: a change is never stored without its record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from cordon.audit.events import Action, AuditEvent
from cordon.audit.log import AuditLog
from cordon.auth import totp
from cordon.auth.database import Database
from cordon.auth.models import Actor, User, check_username
from cordon.auth.passwords import Passwords
from cordon.auth.roles import Role
from cordon.errors import CordonError, unprocessable
from cordon.timeutil import from_micros, to_micros, utcnow

USER_COLUMNS = (
    "id, username, display_name, role, disabled, totp_secret, failed_count, locked_until_us, created_us, "
    "password_changed_us, last_login_us"
)


def user_from_row(row: Sequence[Any]) -> User:
    (user_id, username, display_name, role, disabled, secret, failed, locked_us, created_us, changed_us,
     login_us) = row  # fmt: skip
    return User(
        user_id=int(user_id),
        username=str(username),
        display_name=str(display_name),
        role=Role(role),
        disabled=bool(disabled),
        totp_enrolled=secret is not None,
        failed_count=int(failed),
        locked_until=from_micros(int(locked_us)) if locked_us is not None else None,
        created_at=from_micros(int(created_us)),
        password_changed_at=from_micros(int(changed_us)),
        last_login_at=from_micros(int(login_us)) if login_us is not None else None,
    )


def no_such_user(username: str) -> CordonError:
    return CordonError("unknown_user", f"no user '{username}'", 404)


class UserAdmin:
    """Accounts of people, as an administrator (or `cordon users`) manages them."""

    def __init__(
        self,
        database: Database,
        passwords: Passwords,
        audit: AuditLog,
        totp_required: Sequence[Role],
        totp_issuer: str,
    ) -> None:
        self.database = database
        self.passwords = passwords
        self.audit = audit
        self.totp_required = frozenset(totp_required)
        self.totp_issuer = totp_issuer

    # -- reading -------------------------------------------------------------------------------------------

    def list(self) -> list[User]:
        with self.database.read() as connection:
            rows = connection.execute(text(f"SELECT {USER_COLUMNS} FROM users ORDER BY username")).all()  # noqa: S608
        return [user_from_row(row) for row in rows]

    def get(self, username: str) -> User:
        with self.database.read() as connection:
            return self._get(connection, username)

    @staticmethod
    def _get(connection: Connection, username: str) -> User:
        row = connection.execute(
            text(f"SELECT {USER_COLUMNS} FROM users WHERE username = :u"),  # noqa: S608
            {"u": username},
        ).first()
        if row is None:
            raise no_such_user(username)
        return user_from_row(tuple(row))

    # -- changing ------------------------------------------------------------------------------------------

    def _record(self, connection: Connection, actor: Actor, action: Action, **details: Any) -> None:
        self.audit.record_in(
            connection,
            AuditEvent(
                actor=actor.name, actor_role=actor.role, client=actor.client, action=action, at=utcnow(),
                details=details,
            ),
        )  # fmt: skip

    def add(
        self, username: str, role: Role, password: str, actor: Actor, display_name: str = ""
    ) -> tuple[User, str | None]:
        """Create an account; returns it and, for roles that need a second factor, the TOTP enrolment URI."""
        check_username(username)
        password_hash = self.passwords.hash(password)
        secret = totp.new_secret() if role in self.totp_required else None
        now = to_micros(utcnow())
        with self.database.write() as connection:
            exists = connection.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": username}).first()
            if exists is not None:
                raise CordonError("user_exists", f"user '{username}' exists already", 409)
            connection.execute(
                text(
                    "INSERT INTO users (username, display_name, role, password_hash, totp_secret, disabled, "
                    "failed_count, created_us, updated_us, password_changed_us) VALUES (:u, :d, :r, :h, :s, "
                    ":f, 0, :now, :now, :now)"
                ),
                {"u": username, "d": display_name, "r": role.value, "h": password_hash, "s": secret, "f": False,
                 "now": now},
            )  # fmt: skip
            self._record(
                connection, actor, Action.USER_ADD, username=username, role=role.value, totp=secret is not None
            )
            user = self._get(connection, username)
        return user, self._uri(secret, username)

    def _uri(self, secret: str | None, username: str) -> str | None:
        return totp.provisioning_uri(secret, username, self.totp_issuer) if secret is not None else None

    def set_role(self, username: str, role: Role, actor: Actor) -> User:
        """Change a user's role (their sessions end: the next request signs in with the new role)."""
        with self.database.write() as connection:
            user = self._get(connection, username)
            if role in self.totp_required and not user.totp_enrolled:
                raise unprocessable(
                    "totp_required", f"role {role.value} needs a second factor: enrol one first (cordon users totp)"
                )
            self._update(connection, user, "role = :v", role.value)
            self._revoke_sessions(connection, user.user_id)
            self._record(connection, actor, Action.USER_CHANGE, username=username, role=role.value, was=user.role.value)
            return self._get(connection, username)

    def set_disabled(self, username: str, disabled: bool, actor: Actor) -> User:
        """Disable (ending every session at once) or enable an account; enabling also lifts a lock-out."""
        with self.database.write() as connection:
            user = self._get(connection, username)
            self._update(connection, user, "disabled = :v", disabled)
            if disabled:
                self._revoke_sessions(connection, user.user_id)
            else:
                self._update(connection, user, "failed_count = 0, locked_until_us = :v", None)
            self._record(connection, actor, Action.USER_CHANGE, username=username, disabled=disabled)
            return self._get(connection, username)

    def reset_password(self, username: str, password: str, actor: Actor) -> User:
        """Set a new password, lift a lock-out and end every session of the user."""
        password_hash = self.passwords.hash(password)
        with self.database.write() as connection:
            user = self._get(connection, username)
            self._update(
                connection, user, "password_hash = :v, failed_count = 0, locked_until_us = NULL", password_hash
            )
            self._update(connection, user, "password_changed_us = :v", to_micros(utcnow()))
            self._revoke_sessions(connection, user.user_id)
            self._record(connection, actor, Action.USER_PASSWORD, username=username)
            return self._get(connection, username)

    def change_own_password(self, username: str, current: str, new: str, actor: Actor, keep_session: int) -> None:
        """A person changes their own password, proving the current one; their other sessions end."""
        with self.database.read() as connection:
            stored = connection.execute(
                text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}
            ).scalar_one_or_none()
        if stored is None or not self.passwords.verify(str(stored), current):
            raise unprocessable("wrong_password", "the current password is not right")
        password_hash = self.passwords.hash(new)
        with self.database.write() as connection:
            user = self._get(connection, username)
            self._update(connection, user, "password_hash = :v", password_hash)
            self._update(connection, user, "password_changed_us = :v", to_micros(utcnow()))
            connection.execute(
                text(
                    "UPDATE sessions SET revoked_us = :now WHERE user_id = :id AND id <> :keep AND revoked_us IS NULL"
                ),
                {"now": to_micros(utcnow()), "id": user.user_id, "keep": keep_session},
            )
            self._record(connection, actor, Action.USER_PASSWORD, username=username, own=True)

    def enrol_totp(self, username: str, actor: Actor) -> str:
        """A new TOTP secret for the user (replacing any old one); returns the `otpauth://` URI, shown once."""
        secret = totp.new_secret()
        with self.database.write() as connection:
            user = self._get(connection, username)
            self._update(connection, user, "totp_secret = :v, totp_last_step = NULL", secret)
            self._revoke_sessions(connection, user.user_id)
            self._record(connection, actor, Action.USER_TOTP, username=username, enrolled=True)
        uri = self._uri(secret, username)
        assert uri is not None
        return uri

    def remove_totp(self, username: str, actor: Actor) -> User:
        """Remove the second factor of a user whose role does not require one."""
        with self.database.write() as connection:
            user = self._get(connection, username)
            if user.role in self.totp_required:
                raise unprocessable("totp_required", f"role {user.role.value} must keep a second factor")
            self._update(connection, user, "totp_secret = :v, totp_last_step = NULL", None)
            self._record(connection, actor, Action.USER_TOTP, username=username, enrolled=False)
            return self._get(connection, username)

    @staticmethod
    def _update(connection: Connection, user: User, assignment: str, value: object) -> None:
        connection.execute(
            text(f"UPDATE users SET {assignment}, updated_us = :now WHERE id = :id"),  # noqa: S608
            {"v": value, "now": to_micros(utcnow()), "id": user.user_id},
        )

    @staticmethod
    def _revoke_sessions(connection: Connection, user_id: int) -> None:
        connection.execute(
            text("UPDATE sessions SET revoked_us = :now WHERE user_id = :id AND revoked_us IS NULL"),
            {"now": to_micros(utcnow()), "id": user_id},
        )
