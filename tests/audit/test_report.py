"""The DPO's report (pure, API, CLI) and paging through the trail over the API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from cordon.api import create_app
from cordon.audit import Action, AuditEvent, AuditLog, Outcome, Purpose
from cordon.audit.events import AuditEntry
from cordon.audit.report import ReportOptions, build_report
from cordon.auth.roles import Role
from cordon.cli import cli
from cordon.runtime import Runtime
from tests.audit.conftest import START, consultation

LoginAs = Callable[..., dict[str, str]]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


def entries(*events: AuditEvent) -> list[AuditEntry]:
    return [AuditEntry(seq=n, event=e, prev_hash="0" * 64, hash=f"{n:064x}") for n, e in enumerate(events, 1)]


def test_the_report_counts_and_flags_consultations() -> None:
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    night = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # 22:30 in Brussels on a Tuesday
    early = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)  # 06:30 in Brussels: before working hours
    summer_evening = datetime(2026, 7, 1, 16, 30, tzinfo=UTC)  # 18:30 in Brussels (UTC+2): still working hours
    report = build_report(
        entries(
            consultation(1),
            consultation(2, result_count=800),
            consultation(3, at=saturday),
            consultation(4, actor="odile", actor_role="operator", purpose=Purpose.ADMINISTRATIVE, at=night),
            consultation(5, actor="odile", purpose=Purpose.ADMINISTRATIVE, outcome=Outcome.DENIED, result_count=0),
            consultation(6, at=early),
            consultation(7, at=summer_evening),
            AuditEvent(actor="ines", action=Action.LOGIN, at=START),
            AuditEvent(actor="x", action=Action.LOGIN_FAILED, at=START, outcome=Outcome.FAILURE),
            AuditEvent(actor="x", action=Action.LOCKOUT, at=START, outcome=Outcome.DENIED),
        ),
        ReportOptions(large_result_count=500),
    )
    assert (report.entries, report.consultations, report.denied) == (10, 7, 1)
    assert (report.login_failures, report.lockouts) == (1, 1)
    by_user = {line.actor: line for line in report.per_user}
    assert (by_user["ines"].consultations, by_user["ines"].results) == (5, 12 + 800 + 12 + 12 + 12)
    assert (by_user["ines"].off_hours, by_user["ines"].large) == (2, 1)
    assert (by_user["odile"].consultations, by_user["odile"].denied, by_user["odile"].off_hours) == (2, 1, 1)
    assert {p.purpose: p.consultations for p in report.per_purpose} == {"administrative": 2, "judicial": 5}
    assert [(f.seq, f.local_time) for f in report.off_hours] == [(3, "Sat 2026-11-28 11:00"),
                                                                 (4, "Tue 2026-11-24 22:30"),
                                                                 (6, "Tue 2026-11-24 06:30")]  # fmt: skip
    assert [(f.seq, f.result_count, f.case_ref) for f in report.large] == [(2, 800, "PV 2026/1234")]


def test_the_dpo_pages_through_the_trail_and_gets_the_report(
    client: TestClient, runtime: Runtime, login_as: LoginAs
) -> None:
    for n in range(1, 8):
        runtime.audit.record(consultation(n, result_count=900 if n == 7 else 3))
    dpo = login_as(Role.DPO)
    first = client.get("/api/v1/audit", params={"action": "reads.search", "limit": 5}, headers=dpo).json()
    assert [e["event"]["query"]["n"] for e in first["entries"]] == [1, 2, 3, 4, 5]
    assert first["entries"][0]["event"]["case_ref"] == "PV 2026/1234"
    rest = client.get(
        "/api/v1/audit", params={"action": "reads.search", "after": first["next_after"], "limit": 5}, headers=dpo
    ).json()
    assert [e["event"]["query"]["n"] for e in rest["entries"]] == [6, 7]
    assert rest["next_after"] is None
    window = client.get(
        "/api/v1/audit",
        params={
            "since": (START + timedelta(minutes=3)).isoformat(),
            "until": (START + timedelta(minutes=5)).isoformat(),
        },
        headers=dpo,
    ).json()
    assert [e["event"]["query"]["n"] for e in window["entries"]] == [3, 4]
    naive = client.get("/api/v1/audit", params={"since": "2026-11-23T09:00:00"}, headers=dpo)
    assert naive.status_code == 422
    report = client.get("/api/v1/audit/report", headers=dpo).json()
    assert report["consultations"] == 7
    assert [f["seq"] for f in report["large"]] == [entry.seq for entry in runtime.audit.entries() if
                                                  entry.event.result_count == 900]  # fmt: skip
    assert client.get("/api/v1/audit/verify", headers=dpo).json()["ok"] is True
    reads_of_the_trail = runtime.audit.entries(action=Action.AUDIT_READ)
    assert [e.event.query["view"] for e in reads_of_the_trail if e.event.query] == [
        "entries", "entries", "entries", "report", "verify"
    ]  # fmt: skip
    assert {e.event.actor for e in reads_of_the_trail} == {"dpo"}


def test_cordon_audit_report_as_table_and_json(runtime: Runtime) -> None:
    log: AuditLog = runtime.audit
    for n in range(1, 4):
        log.record(consultation(n, result_count=600 if n == 2 else 1))
    data = ["--data", str(runtime.settings.data_dir)]
    runner = CliRunner()
    as_json = runner.invoke(cli, ["audit", "report", "--json", "--since", "2026-11-23", *data])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert (body["consultations"], [f["seq"] for f in body["large"]]) == (3, [2])
    empty = runner.invoke(cli, ["audit", "report", "--json", "--since", "2026-11-24T00:00:00+01:00", *data])
    assert json.loads(empty.output)["consultations"] == 0
    table = runner.invoke(cli, ["audit", "report", *data])
    assert table.exit_code == 0, table.output
    assert "ines" in table.output and "Unusually large" in table.output
    bad = runner.invoke(cli, ["audit", "report", "--since", "yesterday", *data])
    assert bad.exception is not None and "not a date" in str(bad.exception)
