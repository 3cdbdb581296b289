"""Decisions of the rules: stored once, taken through their life cycle, published on a real Mosquitto, and the
behaviour when the broker or the store is away."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cordon.decisions.lifecycle import AlertAction, Outcome, ReviewState, next_alert_state, review_state
from cordon.decisions.pipeline import AlertHub, DecisionPipeline
from cordon.decisions.publisher import MqttPublisher
from cordon.decisions.store import DecisionStore, Delivery, StoredViolation
from cordon.errors import CordonError
from cordon.ingest.mqtt import MqttIngest
from cordon.records import Alert, AlertState, Command, CommandAction, PlateRead, Route, Severity
from cordon.reference import ClockReport, HotlistEntry, Permit, ReferenceData
from cordon.rules.base import Decision
from cordon.runtime import Runtime, build_runtime
from cordon.settings import MqttSettings, RulesSettings, Settings
from cordon.store import open_store
from tests.brokers import Camera, Mosquitto, make_camera, mosquitto, mosquitto_broker, wait_until
from tests.conftest import read_json

__all__ = ["mosquitto", "mosquitto_broker"]  # fixtures, imported for pytest

MakeRead = Callable[..., PlateRead]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def alert(alert_id: str = "a1", category: str = "stolen") -> Alert:
    return Alert(
        alert_id=alert_id,
        rule_id="hotlists",
        rule_type="hotlist",
        category=category,
        severity=Severity.CRITICAL,
        plate="1ABC234",
        camera_id="cam-north",
        date_observed=NOW,
        read_ids=(("cam-north", "ev-1"),),
        message="1-ABC-234 matches stolen entry",
    )


def command(command_id: str = "c1", valid_for: timedelta = timedelta(seconds=30), at: datetime = NOW) -> Command:
    return Command(
        command_id=command_id,
        device_id="bollard-school",
        action=CommandAction.LOWER,
        issued_at=at,
        valid_until=at + valid_for,
        reason="permit p-1",
    )


@pytest.fixture
def decisions(settings: Settings) -> Iterator[DecisionStore]:
    open_store(settings).close()  # creates and migrates the database
    store = DecisionStore(settings.sqlite_path, busy_timeout_s=0.2)
    yield store
    store.close()


# -- pure life cycle -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "action", "outcome", "expected"),
    [
        (AlertState.NEW, AlertAction.ACKNOWLEDGE, None, AlertState.ACKNOWLEDGED),
        (AlertState.NEW, AlertAction.CLOSE, Outcome.MISREAD, AlertState.CLOSED),
        (AlertState.ACKNOWLEDGED, AlertAction.CLOSE, Outcome.CONFIRMED, AlertState.CLOSED),
        (AlertState.ACKNOWLEDGED, AlertAction.ACKNOWLEDGE, None, "alert_acknowledged"),
        (AlertState.CLOSED, AlertAction.ACKNOWLEDGE, None, "alert_closed"),
        (AlertState.CLOSED, AlertAction.CLOSE, Outcome.CONFIRMED, "alert_closed"),
        (AlertState.ACKNOWLEDGED, AlertAction.CLOSE, None, "outcome_required"),
    ],
)
def test_alert_life_cycle(current: AlertState, action: AlertAction, outcome: Outcome | None, expected: Any) -> None:
    if isinstance(expected, AlertState):
        assert next_alert_state(current, action, outcome) is expected
    else:
        with pytest.raises(CordonError) as error:
            next_alert_state(current, action, outcome)
        assert error.value.code == expected


def test_review_needs_a_pending_violation_and_a_reason_to_reject() -> None:
    assert review_state(ReviewState.PENDING, True, "") is ReviewState.APPROVED
    assert review_state(ReviewState.PENDING, False, "misread: 8 for B") is ReviewState.REJECTED
    with pytest.raises(CordonError, match="needs a reason"):
        review_state(ReviewState.PENDING, False, "  ")
    with pytest.raises(CordonError, match="already approved"):
        review_state(ReviewState.APPROVED, False, "second thoughts")


# -- the decision store ---------------------------------------------------------------------------------------


def test_save_keeps_each_decision_once_and_returns_only_the_new(decisions: DecisionStore) -> None:
    first = decisions.save(Decision(alerts=(alert("a1"),), commands=(command("c1"),)), NOW)
    assert [a.alert_id for a in first.alerts] == ["a1"] and len(first.commands) == 1
    again = decisions.save(Decision(alerts=(alert("a1"), alert("a2")), commands=(command("c1"),)), NOW)
    assert [a.alert_id for a in again.alerts] == ["a2"] and again.commands == ()
    assert decisions.counts() == {"alerts": 2, "violations": 0, "findings": 0, "commands": 1}


def test_alert_is_acknowledged_then_closed_by_named_people(decisions: DecisionStore) -> None:
    decisions.save(Decision(alerts=(alert(),)), NOW)
    acked = decisions.act_on_alert("a1", AlertAction.ACKNOWLEDGE, "op.janssens", NOW + timedelta(minutes=1))
    assert acked.alert.state is AlertState.ACKNOWLEDGED and acked.acknowledged_by == "op.janssens"
    closed = decisions.act_on_alert(
        "a1", AlertAction.CLOSE, "op.peeters", NOW + timedelta(minutes=9), Outcome.CONFIRMED, "intercepted N41"
    )
    assert (closed.alert.state, closed.closed_by, closed.outcome) == (
        AlertState.CLOSED,
        "op.peeters",
        Outcome.CONFIRMED,
    )
    assert closed.note == "intercepted N41" and closed.acknowledged_by == "op.janssens"
    with pytest.raises(CordonError) as error:
        decisions.act_on_alert("a1", AlertAction.ACKNOWLEDGE, "op.janssens", NOW)
    assert error.value.status == 409
    assert decisions.alert("a1").alert.state is AlertState.CLOSED  # the refused change changed nothing
    with pytest.raises(CordonError) as missing:
        decisions.alert("nope")
    assert missing.value.status == 404


# -- restart: state rebuilt from the store, nothing raised twice -----------------------------------------------


def hot_reference() -> ReferenceData:
    reference = ReferenceData()
    reference.add_hotlist(
        [
            HotlistEntry(
                list_id="stolen",
                entry_id="e-1",
                plate="1ABC234",
                country="BE",
                category="stolen_vehicle",
                priority=1,
                reason="reported stolen",
                valid_from=NOW - timedelta(days=30),
                valid_until=NOW + timedelta(days=30),
            )
        ]
    )
    reference.add_permits(
        [
            Permit(
                permit_id="p-1",
                permit_type="access",
                plate="2XYZ789",
                area="schoolstraat",
                valid_from=NOW - timedelta(days=30),
                valid_until=NOW + timedelta(days=30),
            )
        ]
    )
    return reference


def test_restart_rebuilds_state_without_a_duplicate_alert(settings: Settings, make_read: MakeRead) -> None:
    """A section entry read before a restart and its exit read after it still make one speed violation; the
    hotlist alerts raised before the restart are not raised again."""
    base = datetime.now(UTC) - timedelta(minutes=30)
    reference = hot_reference()
    reference.add_clock_reports(ClockReport(camera, base - timedelta(minutes=10), 0.0)
                                for camera in ("cam-north", "cam-school"))  # fmt: skip
    first = build_runtime(settings, reference=reference)
    first.start()
    assert first.rules is not None
    raised: list[Alert] = []
    first.rules.hub.subscribe(raised.append)
    before = [
        make_read("1ABC234", "cam-north", base, lane_id="1"),
        make_read("1ABC234", "cam-school", base + timedelta(minutes=3)),
        make_read("5FAS123", "cam-north", base + timedelta(minutes=5), lane_id="1"),
    ]
    first.writer.submit(before).result(5)
    rules = first.rules
    wait_until(lambda: rules.runner.processed == 3, what="the rules")
    assert rules.pipeline.flush()
    counts = rules.decisions.counts()
    first.stop()
    assert len(raised) == 2 and counts["alerts"] == 2  # the stolen car, seen at both cameras

    second = build_runtime(settings, reference=reference)
    assert second.rules is not None
    again: list[Alert] = []
    second.rules.hub.subscribe(again.append)
    second.start()
    try:
        assert second.rules.replayed == 3
        assert again == [] and second.rules.decisions.counts() == counts
        # 800 m in 50 s is 57.6 km/h, corrected 51 in a 30 zone; a later read moves the watermark past the exit
        after = [
            make_read("5FAS123", "cam-school", base + timedelta(minutes=5, seconds=50)),
            make_read("7KLM456", "cam-north", base + timedelta(minutes=12), lane_id="1"),
        ]
        second.writer.submit(after).result(5)
        rules = second.rules

        def speed_violations() -> list[StoredViolation]:
            found = rules.decisions.violations(review=None)
            return [v for v in found if v.violation.rule_type == "section_control"]

        wait_until(lambda: len(speed_violations()) == 1, what="the violation of the trip across the restart")
        [violation] = speed_violations()
        assert violation.violation.plate == "5FAS123" and violation.violation.facts["corrected_kmh"] == 51
        assert again == []
    finally:
        second.stop()


# -- MQTT: end to end on a real broker --------------------------------------------------------------------------


def mqtt_runtime(settings: Settings, address: tuple[str, int]) -> Runtime:
    mqtt = MqttSettings(enabled=True, host=address[0], port=address[1], client_id="cordon-decisions-test")
    configured = settings.model_copy(update={"mqtt": mqtt, "rules": RulesSettings(mqtt_out=True)})
    return build_runtime(configured, reference=hot_reference())


@pytest.fixture
def controller(mosquitto: tuple[str, int]) -> Iterator[Camera]:
    """A bollard controller and an alert console on the broker."""
    client = make_camera(mosquitto)
    client.client.subscribe([("cordon/bollards/+/command", 1), ("cordon/alerts/#", 1)])
    yield client
    client.close()


def test_read_over_mqtt_lowers_the_bollard_over_mqtt(
    settings: Settings, mosquitto: tuple[str, int], controller: Camera
) -> None:
    runtime = mqtt_runtime(settings, mosquitto)
    runtime.start()
    ingest = MqttIngest(runtime.ingest, runtime.settings.mqtt)
    ingest.start()
    try:
        key = runtime.keyring.issue("cam-school")
        controller.publish("cam-school", {"apiKey": key, "read": read_json("2-XYZ-789", laneId="1")})
        [lower] = controller.wait_message("cordon/bollards/bollard-school/command")
        assert lower["action"] == "lower" and lower["deviceId"] == "bollard-school"
        assert "permit p-1" in lower["reason"]
        controller.publish("cam-school", {"apiKey": key, "read": read_json("1-ABC-234", laneId="1")})
        [hit] = controller.wait_message("cordon/alerts/stolen_vehicle")
        assert hit["plate"] == "1ABC234" and hit["state"] == "new"
        rules = runtime.rules
        assert rules is not None
        wait_until(lambda: rules.decisions.commands()[0].delivery is Delivery.PUBLISHED, what="delivery")
        # the stolen car had no permit: the bollard got no second command
        assert len(controller.messages("cordon/bollards/bollard-school/command")) == 1
    finally:
        ingest.stop()
        runtime.stop()


def test_broker_down_commands_expire_and_alerts_wait(settings: Settings, mosquitto_broker: Mosquitto) -> None:
    """Fail-safe: while the broker is away a command waits only while valid, then is recorded expired and
    never sent (the bollard stays up); alerts wait and go out once the broker is back."""
    open_store(settings).close()
    store = DecisionStore(settings.sqlite_path)
    mqtt = MqttSettings(host=mosquitto_broker.host, port=mosquitto_broker.port, client_id="cordon-failsafe")
    publisher = MqttPublisher(mqtt, store.mark_delivery)
    pipeline = DecisionPipeline(store, AlertHub(), publisher)
    assert publisher.start(timeout=5)
    mosquitto_broker.stop()
    wait_until(lambda: not publisher.connected, what="the publisher to see the broker gone")
    now = datetime.now(UTC)
    pipeline(Decision(alerts=(alert("while-down"),), commands=(command("short", timedelta(seconds=1), now),)))
    wait_until(lambda: store.commands()[0].delivery is Delivery.EXPIRED, what="the command to expire")
    mosquitto_broker.start()
    listener = make_camera(mosquitto_broker.address)
    listener.client.subscribe([("cordon/alerts/#", 1), ("cordon/bollards/+/command", 1)])
    try:
        wait_until(lambda: publisher.connected, timeout=15, what="the publisher to reconnect")
        pipeline(Decision(alerts=(alert("after"),)))
        messages = listener.wait_message("cordon/alerts/stolen", 2)
        assert [m["alertId"] for m in messages] == ["while-down", "after"]  # in order, nothing lost
        assert listener.messages("cordon/bollards/bollard-school/command") == []  # the stale command never left
    finally:
        listener.close()
        publisher.stop()
        store.close()


def test_store_down_decisions_go_on_and_are_saved_later(decisions: DecisionStore, settings: Settings) -> None:
    """A locked database (another process holds it) fails the save: the alert still reaches the live
    subscribers, and is stored once the database is free again."""
    seen: list[Alert] = []
    hub = AlertHub()
    hub.subscribe(seen.append)
    pipeline = DecisionPipeline(decisions, hub)
    blocker = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        pipeline(Decision(alerts=(alert("during"),)))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert [a.alert_id for a in seen] == ["during"] and pipeline.unsaved_total == 1
    pipeline(Decision(alerts=(alert("after"),)))
    assert {a.alert.alert_id for a in decisions.alerts()} == {"during", "after"}


def test_replayed_commands_are_never_sent(decisions: DecisionStore) -> None:
    """A command decided again on a restart (its read is old) is recorded expired, not published."""
    pipeline = DecisionPipeline(decisions, AlertHub(), clock=lambda: NOW + timedelta(hours=1))
    pipeline(Decision(commands=(command("old"),)))
    assert decisions.commands()[0].delivery is Delivery.EXPIRED


def test_violation_review_queue(decisions: DecisionStore, tmp_path: Path) -> None:
    from cordon.records import Violation

    violation = Violation(
        violation_id="v1",
        rule_id="trajectcontrole",
        rule_type="section_control",
        plate="1ABC234",
        date_observed=NOW,
        read_ids=(("cam-north", "e1"), ("cam-school", "e2")),
        route=Route.GAS,
        legal_basis="C43 30 km/h",
    )
    decisions.save(Decision(violations=(violation,)), NOW)
    assert [v.violation.violation_id for v in decisions.violations(routes=(Route.GAS,))] == ["v1"]
    assert decisions.violations(routes=(Route.PROSECUTOR,)) == []
    done = decisions.review("v1", False, "gas.officer", "plate misread, photo shows 1ABC284", NOW)
    assert done.review_state is ReviewState.REJECTED and done.reviewed_by == "gas.officer"
    assert decisions.violations() == []  # left the pending queue


def test_store_down_the_bollard_still_opens_for_a_permit_holder_only(
    settings: Settings, mosquitto: tuple[str, int], controller: Camera
) -> None:
    """The store refuses the commit (locked by another process): the camera gets an error and will resend,
    and meanwhile the permit holder's read still lowers the bollard; an unknown plate does not. When the read
    is stored on the resend, the command is not sent twice."""
    locked = settings.model_copy(update={"sqlite_busy_timeout_s": 0.2})
    runtime = mqtt_runtime(locked, mosquitto)
    runtime.start()
    key = runtime.keyring.issue("cam-school")
    permit_holder = read_json("2-XYZ-789", laneId="1", eventId="ev-permit", observedBy="cam-school")
    stranger = read_json("9-ZZZ-999", laneId="1", eventId="ev-stranger", observedBy="cam-school")
    blocker = sqlite3.connect(locked.sqlite_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        for payload in (permit_holder, stranger):
            with pytest.raises(Exception, match="locked"):
                runtime.ingest.commit(runtime.ingest.admit(payload, key)).result(5)
        [lower] = controller.wait_message("cordon/bollards/bollard-school/command")
        assert lower["readId"] == ["cam-school", "ev-permit"]
        blocker.execute("ROLLBACK")
        runtime.ingest.commit(runtime.ingest.admit(permit_holder, key)).result(5)  # the camera resends
        rules = runtime.rules
        assert rules is not None
        wait_until(lambda: rules.runner.processed >= 1, what="the rules")
        wait_until(lambda: len(rules.decisions.commands()) == 1, what="the command saved late")
        assert len(controller.messages("cordon/bollards/bollard-school/command")) == 1
    finally:
        blocker.close()
        runtime.stop()
