"""User administration through the API (admin role) and `cordon users`; nothing secret reaches the logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import text

from cordon.auth.models import Actor
from cordon.auth.roles import Role
from cordon.auth.service import build_security
from cordon.cli import cli
from cordon.runtime import Runtime
from cordon.settings import Settings
from tests.auth.conftest import FAST_AUTH
from tests.conftest import read_json

PASSWORD = "correct horse battery staple"
LoginAs = Callable[..., dict[str, str]]


def test_an_admin_manages_accounts(client: TestClient, runtime: Runtime, login_as: LoginAs) -> None:
    admin = login_as(Role.ADMIN)
    created = client.post(
        "/api/v1/users",
        json={"username": "jdupont", "role": "investigator", "password": PASSWORD, "display_name": "J. Dupont"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["totp_uri"].startswith("otpauth://totp/Cordon:jdupont?secret=")
    again = client.post(
        "/api/v1/users", json={"username": "jdupont", "role": "operator", "password": PASSWORD}, headers=admin
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "user_exists")
    weak = client.post("/api/v1/users", json={"username": "weak", "role": "operator", "password": "x"}, headers=admin)
    assert (weak.status_code, weak.json()["error"]["code"]) == (422, "weak_password")
    bad_name = client.post(
        "/api/v1/users", json={"username": "J Dupont", "role": "operator", "password": PASSWORD}, headers=admin
    )
    assert bad_name.json()["error"]["code"] == "invalid_username"
    names = [u["username"] for u in client.get("/api/v1/users", headers=admin).json()]
    assert names == ["admin", "jdupont"]  # the refused requests changed nothing
    changed = client.patch("/api/v1/users/jdupont", json={"role": "operator", "disabled": True}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["disabled"]) == ("operator", True)
    assert client.get("/api/v1/users/nobody", headers=admin).json()["error"]["code"] == "unknown_user"
    own = client.patch("/api/v1/users/admin", json={"disabled": True}, headers=admin)
    assert (own.status_code, own.json()["error"]["code"]) == (422, "own_account")
    reset = client.post("/api/v1/users/jdupont/password", json={"password": "another long passphrase"}, headers=admin)
    assert reset.status_code == 200
    enrol = client.post("/api/v1/users/jdupont/totp", headers=admin)
    assert enrol.json()["totp_uri"].startswith("otpauth://")
    trail = [(e.event.action, e.event.actor, e.event.details.get("username")) for e in runtime.audit.entries()]
    assert ("users.add", "admin", "jdupont") in trail
    assert ("users.change", "admin", "jdupont") in trail
    assert ("users.password", "admin", "jdupont") in trail
    assert ("users.totp", "admin", "jdupont") in trail


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", auth=FAST_AUTH)


def test_cordon_users_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORDON_AUTH__ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("CORDON_AUTH__ARGON2_TIME_COST", "1")
    runner = CliRunner()
    data = ["--data", str(tmp_path / "data")]
    added = runner.invoke(cli, ["users", "add", "ines", "--role", "investigator", "--password-stdin", *data],
                          input=f"{PASSWORD}\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "created user ines (investigator)" in added.output
    assert "otpauth://totp/Cordon:ines?secret=" in added.output
    prompted = runner.invoke(cli, ["users", "add", "odile", "--role", "operator", *data],
                             input=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # the prompt hides it
    no_argv = runner.invoke(cli, ["users", "add", "eve", "--role", "operator", "--password", PASSWORD, *data])
    assert no_argv.exit_code != 0  # there is no way to give a password on the command line
    for args in (["disable", "odile"], ["enable", "odile"], ["set-role", "odile", "gas_officer"], ["totp", "odile"]):
        result = runner.invoke(cli, ["users", *args, *data])
        assert result.exit_code == 0, result.output
    reset = runner.invoke(
        cli, ["users", "reset-password", "odile", "--password-stdin", *data], input="new passphrase 1\n"
    )
    assert reset.exit_code == 0, reset.output
    listed = runner.invoke(cli, ["users", "list", "--json", *data])
    assert listed.exit_code == 0, listed.output
    assert [line.split('"role":')[1].split(",")[0] for line in listed.output.splitlines()] == [
        '"investigator"', '"gas_officer"'
    ]  # fmt: skip
    security = build_security(_settings(tmp_path))
    try:
        actors = {e.event.actor for e in security.audit.entries()}
        assert len(actors) == 1 and actors.pop().startswith("cli:")
        assert security.audit.verify().ok
    finally:
        security.close()


def test_no_password_token_or_plate_in_the_logs(
    client: TestClient, runtime: Runtime, login_as: LoginAs, caplog: pytest.LogCaptureFixture
) -> None:
    key = runtime.keyring.issue("cam-north", "test")
    with caplog.at_level(logging.DEBUG):
        runtime.accounts.users.add("odile", Role.OPERATOR, PASSWORD, Actor("cli:test", None, "cli"))
        answer = client.post("/api/v1/auth/login", json={"username": "odile", "password": PASSWORD}).json()
        client.post("/api/v1/auth/login", json={"username": "odile", "password": "wrong " + PASSWORD})
        client.post("/api/v1/auth/login", json={"username": PASSWORD, "password": PASSWORD})  # a slip of the finger
        headers = {"Authorization": f"Bearer {answer['token']}"}
        client.get("/api/v1/auth/me", headers=headers)
        stored = client.post("/api/v1/reads", json=read_json("1-XYZ-987"), headers={"Authorization": f"Bearer {key}"})
        assert stored.status_code == 201
        client.post("/api/v1/auth/logout", headers=headers)
    info = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
    assert any("odile" in message for message in info)  # logins are logged, by username
    for secret in (PASSWORD, answer["token"], key, "1XYZ987", "1-XYZ-987"):
        assert not any(secret in message for message in info), secret
    with runtime.audit.database.read() as connection:
        shown = connection.execute(text("SELECT username FROM login_failures")).scalars().all()
    assert PASSWORD not in shown
