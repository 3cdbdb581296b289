"""Build people's accounts and the audit trail from the settings: one factory, nothing at import time."""

from __future__ import annotations

from dataclasses import dataclass

from cordon.audit.checkpoints import CheckpointSigner
from cordon.audit.log import AuditLog
from cordon.auth.database import Database
from cordon.auth.passwords import Passwords
from cordon.auth.sessions import Sessions
from cordon.auth.users import UserAdmin
from cordon.settings import Settings


@dataclass(frozen=True, slots=True)
class Accounts:
    """People's accounts: `users` to administer them, `sessions` to log in, out, and authenticate requests."""

    users: UserAdmin
    sessions: Sessions


@dataclass(frozen=True, slots=True)
class Security:
    """What `build_security` wires: the shared database, the audit trail and the accounts."""

    database: Database
    audit: AuditLog
    accounts: Accounts

    def close(self) -> None:
        self.database.close()


def build_security(settings: Settings, database: Database | None = None) -> Security:
    """Open (and migrate) the store's database and wire the audit trail and the accounts onto it."""
    database = database or Database.open(
        settings.store_url, settings.sqlite_synchronous, settings.sqlite_busy_timeout_s
    )
    audit = AuditLog(database, CheckpointSigner.load_or_create(settings.audit_signing_key_path))
    auth = settings.auth
    passwords = Passwords(
        auth.argon2_time_cost, auth.argon2_memory_kib, auth.argon2_parallelism, auth.password_min_length
    )
    users = UserAdmin(database, passwords, audit, auth.totp_required_roles, auth.totp_issuer)
    return Security(database, audit, Accounts(users, Sessions(database, passwords, audit, auth)))
