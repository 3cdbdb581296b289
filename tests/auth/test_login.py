"""Logins, second factor, lock-out and sessions on a real app and a real SQLite store."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cordon.audit.events import Action, Outcome
from cordon.auth import totp
from cordon.auth.models import Actor
from cordon.auth.roles import Role
from cordon.auth.sessions import Sessions
from cordon.errors import CordonError
from cordon.runtime import Runtime
from cordon.timeutil import utcnow

PASSWORD = "correct horse battery staple"
ADMIN = Actor("test-admin", "admin", "127.0.0.1")


def add_user(runtime: Runtime, name: str, role: Role) -> str | None:
    """Create a user; returns the TOTP secret when the role gets one."""
    _, uri = runtime.accounts.users.add(name, role, PASSWORD, ADMIN)
    return parse_qs(urlparse(uri).query)["secret"][0] if uri else None


def code(secret: str, at: float | None = None) -> str:
    return totp.totp(totp.secret_bytes(secret), time.time() if at is None else at)


def login(client: TestClient, username: str, password: str = PASSWORD, one_time: str | None = None) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password, "totp": one_time})
    return {"status": response.status_code, **response.json()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def actions(runtime: Runtime) -> list[tuple[str, str, str]]:
    return [(e.event.action, e.event.actor, e.event.outcome.value) for e in runtime.audit.entries(limit=1000)]


def test_operator_signs_in_with_a_password_and_out_again(client: TestClient, runtime: Runtime) -> None:
    assert add_user(runtime, "odile", Role.OPERATOR) is None  # operators need no second factor
    answer = login(client, "ODILE ")  # usernames are case-insensitive and trimmed
    assert answer["status"] == 200, answer
    token = answer["token"]
    assert token.startswith("cdu_") and len(token) > 40
    assert answer["user"]["role"] == "operator"
    me = client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["username"] == "odile"
    assert "reads.search" in me.json()["permissions"]
    with runtime.audit.database.read() as connection:
        stored = connection.execute(text("SELECT token_hash FROM sessions")).scalars().all()
    assert token not in stored and len(stored[0]) == 64  # only the SHA-256 is kept
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    after = client.get("/api/v1/auth/me", headers=bearer(token))
    assert (after.status_code, after.json()["error"]["code"]) == (401, "session_ended")
    assert [a for a, _, _ in actions(runtime)] == [Action.USER_ADD, Action.LOGIN, Action.LOGOUT]


def test_investigator_needs_the_totp_code(client: TestClient, runtime: Runtime) -> None:
    secret = add_user(runtime, "ines", Role.INVESTIGATOR)
    assert secret is not None
    assert login(client, "ines")["error"]["code"] == "invalid_credentials"  # no code
    assert login(client, "ines", one_time="000000")["error"]["code"] == "invalid_credentials"
    now = time.time()
    good = code(secret, now)
    assert login(client, "ines", one_time=good)["status"] == 200
    replay = login(client, "ines", one_time=good)  # the same code again: refused (RFC 6238 §5.2)
    assert replay["error"]["code"] == "invalid_credentials"
    failures = [(a, o) for a, _, o in actions(runtime) if a == Action.LOGIN_FAILED]
    assert failures == [(Action.LOGIN_FAILED, Outcome.FAILURE.value)] * 3


def test_a_role_that_needs_a_second_factor_cannot_sign_in_without_one(runtime: Runtime) -> None:
    add_user(runtime, "otto", Role.OPERATOR)
    stricter = runtime.settings.auth.model_copy(update={"totp_required_roles": (Role.OPERATOR,)})
    sessions = Sessions(
        runtime.accounts.sessions.database, runtime.accounts.sessions.passwords, runtime.audit, stricter
    )
    with pytest.raises(CordonError) as refused:
        sessions.login("otto", PASSWORD, None, "127.0.0.1")
    assert refused.value.code == "totp_not_enrolled"
    with pytest.raises(CordonError) as not_removable:
        runtime.accounts.users.add("ivo", Role.INVESTIGATOR, PASSWORD, ADMIN)
        runtime.accounts.users.remove_totp("ivo", ADMIN)
    assert not_removable.value.code == "totp_required"


def test_brute_force_locks_the_account(client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    add_user(runtime, "odile", Role.OPERATOR)
    threshold = runtime.settings.auth.lockout_threshold
    with caplog.at_level(logging.INFO):
        answers = [login(client, "odile", f"guess number {n}") for n in range(threshold)]
    assert [a["error"]["code"] for a in answers] == ["invalid_credentials"] * (threshold - 1) + ["account_locked"]
    assert any(r.levelno == logging.WARNING and "locked" in r.getMessage() for r in caplog.records)
    locked = login(client, "odile")  # the right password, during the lock-out: still refused
    assert (locked["status"], locked["error"]["code"]) == (401, "account_locked")
    user = runtime.accounts.users.get("odile")
    assert user.locked_until is not None and user.locked_until > utcnow()
    trail = actions(runtime)
    assert trail.count((Action.LOGIN_FAILED, "odile", "failure")) == threshold
    assert trail.count((Action.LOCKOUT, "odile", "denied")) == 1
    assert trail.count((Action.LOGIN_FAILED, "odile", "denied")) == 1  # the attempt during the lock-out
    with runtime.audit.database.read() as connection:
        reasons = connection.execute(text("SELECT reason FROM login_failures ORDER BY id")).scalars().all()
    assert reasons == ["password"] * threshold + ["locked"]
    # after the lock-out has run out, the right password works, and the count starts again
    later = utcnow() + timedelta(seconds=runtime.settings.auth.lockout_s + 1)
    issued = runtime.accounts.sessions.login("odile", PASSWORD, None, "127.0.0.1", now=later)
    assert issued.user.username == "odile"
    assert runtime.accounts.users.get("odile").failed_count == 0


def test_unknown_users_and_wrong_passwords_look_the_same(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "odile", Role.OPERATOR)
    unknown = login(client, "nobody")
    wrong = login(client, "odile", "not the password at all")
    assert unknown["status"] == wrong["status"] == 401
    assert unknown["error"] == wrong["error"]
    assert runtime.accounts.users.get("odile").failed_count == 1


def test_a_disabled_account_cannot_sign_in_and_loses_its_sessions(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "odile", Role.OPERATOR)
    token = login(client, "odile")["token"]
    runtime.accounts.users.set_disabled("odile", True, ADMIN)
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["error"]["code"] == "session_ended"
    assert login(client, "odile")["error"]["code"] == "account_disabled"
    runtime.accounts.users.set_disabled("odile", False, ADMIN)
    assert login(client, "odile")["status"] == 200


def test_sessions_expire_when_idle_and_at_their_absolute_limit(runtime: Runtime) -> None:
    add_user(runtime, "odile", Role.OPERATOR)
    sessions = runtime.accounts.sessions
    auth = runtime.settings.auth
    start = utcnow()
    issued = sessions.login("odile", PASSWORD, None, "10.0.0.1", now=start)
    assert issued.expires_at == start + timedelta(seconds=auth.session_absolute_s)
    principal = sessions.authenticate(issued.token, "10.0.0.1", now=start + timedelta(seconds=5))
    assert (principal.username, principal.role, principal.client) == ("odile", Role.OPERATOR, "10.0.0.1")
    # used every idle period minus a minute, the session lives until its absolute limit
    moment = start
    while moment + timedelta(seconds=auth.session_idle_s - 60) < issued.expires_at:
        moment += timedelta(seconds=auth.session_idle_s - 60)
        sessions.authenticate(issued.token, None, now=moment)
    with pytest.raises(CordonError) as absolute:
        sessions.authenticate(issued.token, None, now=issued.expires_at)
    assert absolute.value.code == "session_expired"
    other = sessions.login("odile", PASSWORD, None, None, now=start)
    with pytest.raises(CordonError) as idle:
        sessions.authenticate(other.token, None, now=start + timedelta(seconds=auth.session_idle_s + 1))
    assert idle.value.code == "session_expired"
    for bad in (None, "", "cdu_forged"):
        with pytest.raises(CordonError) as refused:
            sessions.authenticate(bad, None)
        assert refused.value.status == 401


def test_a_new_password_ends_every_session(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "odile", Role.OPERATOR)
    token = login(client, "odile")["token"]
    runtime.accounts.users.reset_password("odile", "a brand new passphrase", ADMIN)
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    assert login(client, "odile")["status"] == 401
    assert login(client, "odile", "a brand new passphrase")["status"] == 200


def test_a_person_changes_their_own_password(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "odile", Role.OPERATOR)
    here, elsewhere = login(client, "odile")["token"], login(client, "odile")["token"]
    change = "/api/v1/auth/password"
    wrong = client.post(change, json={"current": "not it at all", "new": "a new passphrase"}, headers=bearer(here))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "wrong_password")
    weak = client.post(change, json={"current": PASSWORD, "new": "short"}, headers=bearer(here))
    assert (weak.status_code, weak.json()["error"]["code"]) == (422, "weak_password")
    assert login(client, "odile")["status"] == 200  # the refusals changed nothing
    done = client.post(change, json={"current": PASSWORD, "new": "a new passphrase"}, headers=bearer(here))
    assert done.status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(here)).status_code == 200  # this session stays
    assert client.get("/api/v1/auth/me", headers=bearer(elsewhere)).status_code == 401  # the others end
    assert login(client, "odile", "a new passphrase")["status"] == 200
    assert ("users.password", "odile", "success") in actions(runtime)


def test_a_login_rehashes_a_password_made_with_old_parameters(runtime: Runtime) -> None:
    from cordon.auth.passwords import Passwords
    from cordon.auth.users import UserAdmin

    users = runtime.accounts.users
    older = UserAdmin(users.database, Passwords(2, 2048, 1), runtime.audit, users.totp_required, "Cordon")
    older.add("odile", Role.OPERATOR, PASSWORD, ADMIN)

    def stored() -> str:
        with runtime.audit.database.read() as connection:
            return str(connection.execute(text("SELECT password_hash FROM users")).scalar_one())

    assert "$m=2048,t=2,p=1$" in stored()
    runtime.accounts.sessions.login("odile", PASSWORD, None, None)
    assert "$m=1024,t=1,p=1$" in stored()  # today's parameters (tests/auth/conftest.py)
    runtime.accounts.sessions.login("odile", PASSWORD, None, None)  # and the new hash verifies
