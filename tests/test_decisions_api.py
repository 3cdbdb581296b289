"""The API over the rules' decisions: alerts and their life cycle, the violation review queue (a GAS officer
sees only GAS cases), bollard overrides on a real broker, gap rates; every change in the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cordon.api.app import create_app
from cordon.auth.roles import Role
from cordon.records import Finding, PlateRead, Route, Violation
from cordon.rules.base import Decision
from cordon.runtime import Runtime, build_runtime
from cordon.settings import MqttSettings, RulesSettings, Settings
from tests.brokers import make_camera, mosquitto, wait_until
from tests.test_decisions import alert

__all__ = ["mosquitto"]

Login = Callable[..., dict[str, str]]
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime)) as test_client:
        yield test_client


def violation(violation_id: str, route: Route) -> Violation:
    return Violation(
        violation_id=violation_id,
        rule_id="trajectcontrole",
        rule_type="section_control",
        plate="1ABC234",
        date_observed=NOW,
        read_ids=(("cam-north", "e1"), ("cam-school", "e2")),
        route=route,
        legal_basis="C43 30 km/h",
    )


def audit_actions(runtime: Runtime) -> list[tuple[str, str]]:
    return [(e.event.actor, e.event.action) for e in runtime.audit.iter_entries()]


def test_operator_acknowledges_then_closes_an_alert(client: TestClient, runtime: Runtime, login_as: Login) -> None:
    assert runtime.rules is not None
    runtime.rules.decisions.save(Decision(alerts=(alert("a1"), alert("a2", "uninsured"))), NOW)
    operator = login_as(Role.OPERATOR, "op.janssens")
    listed = client.get("/api/v1/alerts", headers=operator, params={"state": "new"}).json()
    assert {a["alert"]["alertId"] for a in listed} == {"a1", "a2"}
    only = client.get("/api/v1/alerts", headers=operator, params={"category": "uninsured"}).json()
    assert [a["alert"]["alertId"] for a in only] == ["a2"]
    acked = client.post("/api/v1/alerts/a1/acknowledge", headers=operator, json={"note": "patrol 12 sent"})
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "op.janssens"
    closed = client.post("/api/v1/alerts/a1/close", headers=operator, json={"outcome": "confirmed"})
    assert closed.json()["alert"]["state"] == "closed" and closed.json()["outcome"] == "confirmed"
    again = client.post("/api/v1/alerts/a1/close", headers=operator, json={"outcome": "confirmed"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "alert_closed"
    missing = client.post("/api/v1/alerts/a1/close", headers=operator, json={})
    assert missing.status_code == 422
    assert client.get("/api/v1/alerts/nope", headers=operator).status_code == 404
    assert audit_actions(runtime).count(("op.janssens", "alerts.change")) == 2  # refusals change nothing


def test_alerts_are_not_for_every_role(client: TestClient, login_as: Login) -> None:
    assert client.get("/api/v1/alerts").status_code == 401
    for role in (Role.TRAFFIC_ANALYST, Role.DPO, Role.BIN_MEMBER, Role.GAS_OFFICER):
        answer = client.get("/api/v1/alerts", headers=login_as(role))
        assert answer.status_code == 403, role


def test_gas_officer_sees_and_reviews_only_gas_cases(client: TestClient, runtime: Runtime, login_as: Login) -> None:
    assert runtime.rules is not None
    runtime.rules.decisions.save(
        Decision(violations=(violation("v-gas", Route.GAS), violation("v-pk", Route.PROSECUTOR))), NOW
    )
    gas = login_as(Role.GAS_OFFICER, "gas.officer")
    assert [v["violation"]["violationId"] for v in client.get("/api/v1/violations", headers=gas).json()] == ["v-gas"]
    assert client.get("/api/v1/violations", headers=gas, params={"route": "prosecutor"}).status_code == 403
    refused = client.post("/api/v1/violations/v-pk/review", headers=gas, json={"approve": True})
    assert refused.status_code == 403
    no_reason = client.post("/api/v1/violations/v-gas/review", headers=gas, json={"approve": False})
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    done = client.post("/api/v1/violations/v-gas/review", headers=gas, json={"approve": True})
    assert done.json()["review_state"] == "approved" and done.json()["reviewed_by"] == "gas.officer"
    investigator = login_as(Role.INVESTIGATOR)
    queue = client.get("/api/v1/violations", headers=investigator).json()
    assert [v["violation"]["violationId"] for v in queue] == ["v-pk"]
    assert ("gas.officer", "violations.review") in audit_actions(runtime)


def test_override_needs_a_broker_and_a_known_controller(client: TestClient, login_as: Login) -> None:
    operator = login_as(Role.OPERATOR)
    body = {"action": "lower", "reason": "ambulance without permit, call 112-4471"}
    assert client.post("/api/v1/bollards/nope/override", headers=operator, json=body).status_code == 404
    answer = client.post("/api/v1/bollards/bollard-school/override", headers=operator, json=body)
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "no_broker"
    short = client.post(
        "/api/v1/bollards/bollard-school/override", headers=operator, json={"action": "lower", "reason": "x"}
    )
    assert short.status_code == 422
    investigator = login_as(Role.INVESTIGATOR)
    assert client.post("/api/v1/bollards/bollard-school/override", headers=investigator, json=body).status_code == 403


def test_override_reaches_the_controller_and_the_audit_trail(settings: Settings, mosquitto: tuple[str, int]) -> None:
    mqtt = MqttSettings(host=mosquitto[0], port=mosquitto[1], client_id="cordon-override-test")
    runtime = build_runtime(settings.model_copy(update={"mqtt": mqtt, "rules": RulesSettings(mqtt_out=True)}))
    runtime.start()
    controller = make_camera(mosquitto)
    controller.client.subscribe("cordon/bollards/+/command", qos=1)
    try:
        from cordon.auth.models import Actor
        from tests.conftest import LOGIN_PASSWORD  # noqa: F401 - the login_as fixture needs the default runtime

        runtime.accounts.users.add("op-duty", Role.OPERATOR, "a long enough passphrase 42", Actor("test-setup"))
        headers = {"Authorization": f"Bearer {runtime.accounts.sessions.issue('op-duty', 'testclient')}"}
        with TestClient(create_app(runtime.settings, runtime)) as client:
            body = {"action": "lower", "reason": "ambulance without permit, call 112-4471", "valid_s": 20}
            answer = client.post("/api/v1/bollards/bollard-school/override", headers=headers, json=body)
            assert answer.status_code == 202
            assert answer.json()["origin"] == "manual" and answer.json()["actor"] == "op-duty"
            [command] = controller.wait_message("cordon/bollards/bollard-school/command")
            assert command["action"] == "lower" and "op-duty" in command["reason"]
            history = client.get("/api/v1/bollards/bollard-school/commands", headers=headers).json()
            assert history[0]["command"]["commandId"] == command["commandId"]
        assert ("op-duty", "bollards.override") in audit_actions(runtime)
    finally:
        controller.close()
        runtime.stop()


def test_gap_rates_per_gate_and_hour(client: TestClient, runtime: Runtime, login_as: Login) -> None:
    assert runtime.rules is not None

    def finding(finding_id: str, kind: str, camera: str, **facts: str | float) -> Finding:
        return Finding(finding_id=finding_id, rule_id="sluitend", rule_type="zone_closure", kind=kind,
                       plate="1ABC234", camera_id=camera, date_observed=NOW, read_ids=(), facts=facts)  # fmt: skip

    runtime.rules.decisions.save(
        Decision(findings=(finding("f1", "stay", "cam-north", entry_camera="cam-north", stay_s=60.0),
                           finding("f2", "unpaired_exit", "cam-north"),
                           finding("f3", "stay", "cam-north", entry_camera="cam-north", stay_s=90.0))),
        NOW,
    )  # fmt: skip
    [gate] = client.get("/api/v1/health/gaps", headers=login_as(Role.ADMIN)).json()
    assert (gate["gate_id"], gate["passages"], gate["gaps"]) == ("north", 5, 1)
    assert gate["rate"] == pytest.approx(0.2)
    assert client.get("/api/v1/health/gaps", headers=login_as(Role.INVESTIGATOR)).status_code == 403


def test_cameras_report_their_clock_and_section_control_uses_it(
    client: TestClient, runtime: Runtime, make_read: Callable[..., PlateRead]
) -> None:
    """Without clock reports a pair gives no speed evidence (a `no_clock_report` finding); once both
    cameras reported in-sync clocks through the API, the same trip is a violation."""
    assert runtime.rules is not None
    rules = runtime.rules
    base = datetime.now(UTC) - timedelta(minutes=20)
    north, school = runtime.keyring.issue("cam-north"), runtime.keyring.issue("cam-school")
    report = {"at": (base - timedelta(minutes=5)).isoformat(), "offsetS": 0.12, "source": "ntp"}
    wrong = client.post("/api/v1/cameras/cam-school/clock", json=report, headers={"X-API-Key": north})
    assert wrong.status_code == 403
    assert client.post("/api/v1/cameras/cam-north/clock", json=report).status_code == 401
    bad = client.post("/api/v1/cameras/cam-north/clock", json={**report, "offsetS": "NaN"},
                      headers={"X-API-Key": north})  # fmt: skip
    assert bad.status_code == 422

    def trip(plate: str, start: datetime) -> None:
        reads = [make_read(plate, "cam-north", start, lane_id="1"),
                 make_read(plate, "cam-school", start + timedelta(seconds=50)),
                 make_read("7KLM456", "cam-north", start + timedelta(minutes=5), lane_id="1")]  # fmt: skip
        runtime.writer.submit(reads).result(5)

    trip("5FAS123", base)
    wait_until(lambda: any(f.kind == "no_clock_report" for f in rules.decisions.findings()), what="the refusal")
    for camera, key in (("cam-north", north), ("cam-school", school)):
        answer = client.post(f"/api/v1/cameras/{camera}/clock", json=report, headers={"X-API-Key": key})
        assert answer.json() == {"stored": True}
    assert client.post("/api/v1/cameras/cam-north/clock", json=report, headers={"X-API-Key": north}).json() == {
        "stored": False
    }
    trip("6GHJ789", base + timedelta(minutes=6))

    def speeding() -> list[str]:
        return [v.violation.plate for v in rules.decisions.violations(review=None)
                if v.violation.rule_type == "section_control"]  # fmt: skip

    wait_until(lambda: speeding() == ["6GHJ789"], what="the speed violation")
