"""Hotlists, permits and the registry in the store: changed through the API and the CLI while the rules run,
retroactive matching over the last 30 days, imports with a report of rejected lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cordon.api.app import create_app
from cordon.auth.roles import Role
from cordon.hotlists.store import HotlistList, ReferenceStore
from cordon.records import PlateRead
from cordon.reference import HotlistEntry
from cordon.runtime import Runtime
from tests.brokers import wait_until
from tests.conftest import SMALL_ZONE
from tests.test_cli import run

Login = Callable[..., dict[str, str]]
MakeRead = Callable[..., PlateRead]
NOW = datetime.now(UTC).replace(microsecond=0)
LIST = {
    "name": "Stolen vehicles (local PV)",
    "owner": "PZ Schelde-Leie, recherche",
    "legal_basis": "WPA art. 44/1; theft reported in a PV",
    "category": "stolen_vehicle",
    "priority": 1,
    "valid_from": (NOW - timedelta(days=400)).isoformat(),
    "valid_until": (NOW + timedelta(days=365)).isoformat(),
}


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


@pytest.fixture
def investigator(client: TestClient, login_as: Login) -> dict[str, str]:
    headers = login_as(Role.INVESTIGATOR, "rech.maes")
    assert client.put("/api/v1/hotlists/stolen", headers=headers, json=LIST).status_code == 200
    return headers


def store_reads(runtime: Runtime, reads: list[PlateRead]) -> None:
    runtime.writer.submit(reads).result(5)
    assert runtime.rules is not None
    rules = runtime.rules
    wait_until(lambda: rules.runner.processed >= len(reads), what="the rules to see the reads")


def test_new_entry_is_matched_against_the_last_30_days(
    client: TestClient, runtime: Runtime, investigator: dict[str, str], make_read: MakeRead
) -> None:
    assert runtime.rules is not None
    store_reads(runtime, [
        make_read("1ABC234", "cam-north", NOW - timedelta(days=3), lane_id="1"),
        make_read("1A8C234", "cam-school", NOW - timedelta(days=2)),  # a look-alike misread of the same car
        make_read("1ABC234", "cam-north", NOW - timedelta(days=40), lane_id="1"),  # beyond the first month
        make_read("2XYZ789", "cam-north", NOW - timedelta(days=1), lane_id="1"),
    ])  # fmt: skip
    assert runtime.rules.decisions.alerts() == []  # nothing was on the list yet
    entry = {"plate": "1-abc-234", "reason": "stolen on 2026-11-27, PV 12345/26"}
    answer = client.post("/api/v1/hotlists/stolen/entries", headers=investigator, json=[entry])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"stored": 1, "new": 1, "retroactive_alerts": 2, "rejected": []}
    alerts = runtime.rules.decisions.alerts()
    assert {a.alert.camera_id for a in alerts} == {"cam-north", "cam-school"}
    assert all(a.alert.details["retroactive"] is True for a in alerts)
    assert {a.alert.details["match"] for a in alerts} == {"exact", "lookalike"}
    # and live from now on: the rules were rebuilt over the new entry
    store_reads(runtime, [make_read("1ABC234", "cam-north", datetime.now(UTC), lane_id="1")])
    rules = runtime.rules
    wait_until(lambda: len(rules.decisions.alerts()) == 3, what="the live alert")
    live = [a for a in rules.decisions.alerts() if "retroactive" not in a.alert.details]
    assert len(live) == 1 and live[0].alert.category == "stolen_vehicle"
    actions = [(e.event.actor, e.event.action) for e in runtime.audit.iter_entries()]
    assert ("rech.maes", "hotlists.change") in actions


def test_bad_entries_store_nothing(client: TestClient, runtime: Runtime, investigator: dict[str, str]) -> None:
    body = [{"plate": "1-ABC-234", "reason": "ok"}, {"plate": "!!!", "reason": "bad"}]
    answer = client.post("/api/v1/hotlists/stolen/entries", headers=investigator, json=body)
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["loc"] == "[1].plate"
    assert client.get("/api/v1/hotlists/stolen/entries", headers=investigator).json() == []
    unknown = client.post("/api/v1/hotlists/nope/entries", headers=investigator, json=body[:1])
    assert unknown.status_code == 404


def test_csv_import_reports_rejected_lines(client: TestClient, investigator: dict[str, str]) -> None:
    valid = f"{(NOW - timedelta(days=1)).isoformat()},{(NOW + timedelta(days=30)).isoformat()}"
    csv_text = (
        "list,entry,plate,category,valid_from,valid_until,reason\n"
        f",e1,1-ABC-234,stolen_vehicle,{valid},PV 1\n"
        f",e2,???,stolen_vehicle,{valid},PV 2\n"
        f"sis,e3,2-XYZ-789,sis_alert,{valid},other list\n"
        f",e4,ab-123-cd,stolen_vehicle,not a date,{valid.split(',')[1]},PV 4\n"
    )
    headers = {**investigator, "Content-Type": "text/csv"}
    strict = client.post("/api/v1/hotlists/stolen/import?all_or_nothing=true", headers=headers, content=csv_text)
    assert strict.status_code == 422 and len(strict.json()["error"]["details"]) == 3
    assert client.get("/api/v1/hotlists/stolen/entries", headers=investigator).json() == []
    lenient = client.post("/api/v1/hotlists/stolen/import", headers=headers, content=csv_text).json()
    assert lenient["stored"] == 1 and len(lenient["rejected"]) == 3
    assert any(":3:" in line or "line 3" in line or ":3 " in line for line in lenient["rejected"]), lenient
    [stored] = client.get("/api/v1/hotlists/stolen/entries", headers=investigator).json()
    assert (stored["entry_id"], stored["plate"]) == ("e1", "1ABC234")


def test_hotlists_are_for_investigators(client: TestClient, login_as: Login) -> None:
    for role in (Role.OPERATOR, Role.TRAFFIC_ANALYST, Role.GAS_OFFICER, Role.DPO):
        assert client.get("/api/v1/hotlists", headers=login_as(role)).status_code == 403, role
    assert client.get("/api/v1/hotlists").status_code == 401


def test_permit_import_opens_the_bollard_at_once(
    client: TestClient, runtime: Runtime, login_as: Login, make_read: MakeRead
) -> None:
    assert runtime.rules is not None
    rules = runtime.rules
    permits = (
        "permit,type,plate,area,valid_from,valid_until,windows\n"
        f"p-9,access,2-XYZ-789,schoolstraat,{(NOW - timedelta(days=1)).isoformat()},"
        f"{(NOW + timedelta(days=1)).isoformat()},\n"
    )
    headers = {**login_as(Role.ADMIN), "Content-Type": "text/csv"}
    assert client.post("/api/v1/permits/import", headers=headers, content=permits).json() == {
        "stored": 1,
        "rejected": [],
    }
    bad = client.post("/api/v1/permits/import", headers=headers, content=permits.replace("access", "bogus"))
    assert bad.status_code == 422
    store_reads(runtime, [make_read("2XYZ789", "cam-school", NOW - timedelta(seconds=2))])
    wait_until(lambda: len(rules.decisions.commands()) == 1, what="the lower command")
    assert rules.decisions.commands()[0].command.reason == "permit p-9"


def test_a_change_by_another_process_reaches_the_running_rules(runtime: Runtime, make_read: MakeRead) -> None:
    assert runtime.rules is not None
    other = ReferenceStore(runtime.settings.sqlite_path)
    try:
        other.put_list(HotlistList(list_id="sis", **{**LIST, "category": "sis_alert"}), "cli:test", NOW)
        wanted = HotlistEntry("sis", "s1", "5FAS123", None, "sis_alert", 1, "SIS art. 26",
                              NOW - timedelta(days=1), NOW + timedelta(days=1))  # fmt: skip
        other.add_entries([wanted], "cli:test", NOW)
    finally:
        other.close()
    assert runtime.rules.references.refresh_if_changed()
    assert not runtime.rules.references.refresh_if_changed()
    store_reads(runtime, [make_read("5FAS123", "cam-north", NOW - timedelta(seconds=1), lane_id="1")])
    rules = runtime.rules
    wait_until(lambda: [a.alert.category for a in rules.decisions.alerts()] == ["sis_alert"], what="the alert")


def test_cli_put_import_list(tmp_path: Path) -> None:
    data = tmp_path / "data"
    zone = ("--zone", SMALL_ZONE)
    until = (NOW + timedelta(days=90)).isoformat()
    run("hotlists", "put", "stolen", "--name", "Stolen", "--owner", "recherche", "--legal-basis", "WPA 44/1",
        "--category", "stolen_vehicle", "--valid-until", until, *zone, data=data)  # fmt: skip
    csv_file = tmp_path / "stolen.csv"
    csv_file.write_text(
        "list,entry,plate,category,valid_from,valid_until\n"
        f",e1,1-ABC-234,stolen_vehicle,{NOW.isoformat()},{(NOW + timedelta(days=9)).isoformat()}\n"
        ",e2,1-ABC-234,stolen_vehicle,yesterday,tomorrow\n"
    )
    result = run("hotlists", "import", csv_file, "--list", "stolen", *zone, data=data)
    assert "1 entries stored (1 new), 1 lines rejected" in result.stdout
    assert "stolen.csv:3" in result.stderr
    listed = run("hotlists", "list", "--json", *zone, data=data).stdout
    assert '"entries":1' in listed.replace(" ", "")
    strict = run("hotlists", "import", csv_file, "--list", "stolen", "--all-or-nothing", *zone, data=data, check=False)
    assert strict.returncode != 0 and "nothing was stored" in strict.stderr and "Traceback" not in strict.stderr
