"""Verdwijnpalen (access control): exact permits lower the bollard, everything else is logged, C3/F103 GAS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cordon.config import ZoneConfig, load_zone
from cordon.config.rules import AccessControlRule as AccessControlConfig
from cordon.evaluate import Evaluation, run_rules, validated_reads
from cordon.records import CommandAction, PlateCandidate, PlateRead, Route
from cordon.reference import Permit, ReferenceData, TimeWindow
from cordon.rules import Decision, RuleEngine, build_rules
from cordon.rules.access_control import AccessControlRule
from cordon.scoring.access_control import score_access_control, tally_access_control
from cordon.settings import IngestSettings
from cordon.sim import NoiseSettings
from tests.conftest import DEMO_ZONE
from tests.simtown import simulate_town

MakeRead = Callable[..., PlateRead]
CAMERA, STREET, CONTROLLER = "cam-school", "schoolstraat", "bollard-school"
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def permit(pid: str, plate: str, area: str = STREET, kind: str = "access", windows: str = "", **valid: str) -> Permit:
    return Permit(
        permit_id=pid,
        permit_type=kind,  # type: ignore[arg-type]
        plate=plate,
        area=area,
        valid_from=utc(valid["valid_from"]) if "valid_from" in valid else YEAR[0],
        valid_until=utc(valid["valid_until"]) if "valid_until" in valid else YEAR[1],
        windows=tuple(TimeWindow.parse(w) for w in windows.split(";") if w),
    )


PERMITS = [
    permit("pm-school", "1ABC234", windows="12345 07:30-09:00"),  # weekday school run, Brussels time
    permit("pm-any", "2XYZ999", area="*"),
    permit("pm-other", "1OTH111", area="kerkstraat"),
    permit("pm-old", "1OLD111", valid_until="2026-06-01T00:00:00"),
    permit("pm-new", "1NEW111", valid_from="2026-12-01T00:00:00"),
    permit("pm-112", "1EMS112", kind="emergency", area="*"),
    permit("pm-truck", "1TRK111", kind="truck_lock", area="centrum"),
    permit("pm-sunday", "1DST111", windows="7 06:00-11:00"),  # Sunday mornings: the DST switches are Sundays
    permit("pm-both-a", "1TWO222", area="kerkstraat"),
    permit("pm-both-b", "1TWO222", windows="6 10:00-12:00"),  # the closer refusal (outside window) wins
]


def reference() -> ReferenceData:
    data = ReferenceData()
    data.add_permits(PERMITS)
    return data


def zone_with(zone: ZoneConfig, *, sign: str = "C3", enforced: bool = True, ttl: float = 20) -> ZoneConfig:
    street = zone.bollard_streets[0].model_copy(update={"sign": sign, "camera_enforced": enforced})
    rule = AccessControlConfig(id="verdwijnpalen", type="access_control", command_ttl_s=ttl)
    return zone.model_copy(update={"bollard_streets": (street,), "rules": (rule,)})


def rule_for(zone: ZoneConfig, *, sign: str = "C3", enforced: bool = True, ttl: float = 20) -> AccessControlRule:
    rules, missing = build_rules(zone_with(zone, sign=sign, enforced=enforced, ttl=ttl), reference())
    assert missing == []
    (rule,) = rules
    assert isinstance(rule, AccessControlRule)
    return rule


def decide(rule: AccessControlRule, read: PlateRead) -> Decision:
    state, decision = rule.decide(read, None)
    assert state is None  # no per-plate state: nothing depends on delivery order
    return decision


# (plate, event time UTC, granted, reason). Winter: Brussels = UTC+1; summer: UTC+2.
# 2026-11-23 is a Monday, 2026-11-21 a Saturday; 2026-03-29 and 2026-10-25 are the DST Sundays.
CASES = [
    ("1ABC234", "2026-11-23T06:30:00", True, "permit"),  # 07:30 local: the window opens (included)
    ("1ABC234", "2026-11-23T06:29:59.999999", False, "outside_window"),
    ("1ABC234", "2026-11-23T07:59:59.999999", True, "permit"),  # 08:59:59 local
    ("1ABC234", "2026-11-23T08:00:00", False, "outside_window"),  # 09:00 local: the window closes (excluded)
    ("1ABC234", "2026-06-22T05:30:00", True, "permit"),  # summer Monday 07:30 local (UTC+2)
    ("1ABC234", "2026-06-22T07:00:00", False, "outside_window"),  # 09:00 local in summer, 08:00 in UTC+1
    ("1ABC234", "2026-11-21T07:00:00", False, "outside_window"),  # Saturday 08:00 local
    ("1DST111", "2026-03-29T03:59:59", False, "outside_window"),  # spring forward: 05:59:59 CEST
    ("1DST111", "2026-03-29T04:00:00", True, "permit"),  # 06:00 CEST (05:00 if the switch were ignored)
    ("1DST111", "2026-03-29T08:59:59", True, "permit"),  # 10:59:59 CEST
    ("1DST111", "2026-03-29T09:00:00", False, "outside_window"),  # 11:00 CEST
    ("1DST111", "2026-10-25T04:59:59", False, "outside_window"),  # fall back: 05:59:59 CET (06:59 in CEST)
    ("1DST111", "2026-10-25T05:00:00", True, "permit"),  # 06:00 CET
    ("1DST111", "2026-10-25T09:59:59", True, "permit"),  # 10:59:59 CET
    ("1DST111", "2026-10-25T10:00:00", False, "outside_window"),  # 11:00 CET
    ("1OLD111", "2026-05-31T23:59:59.999999", True, "permit"),  # last instant of validity
    ("1OLD111", "2026-06-01T00:00:00", False, "expired"),  # valid_until is excluded
    ("1NEW111", "2026-11-30T23:59:59.999999", False, "not_yet_valid"),
    ("1NEW111", "2026-12-01T00:00:00", True, "permit"),  # valid_from is included
    ("2XYZ999", "2026-11-22T03:00:00", True, "permit"),  # street `*`, no windows: any time
    ("2XYZ999", "2027-01-01T00:00:00", False, "expired"),
    ("1OTH111", "2026-11-23T07:00:00", False, "wrong_street"),
    ("1TWO222", "2026-11-23T07:00:00", False, "outside_window"),  # a permit for this street beats another's
    ("1TWO222", "2026-11-21T09:30:00", True, "permit"),  # Saturday 10:30 local
    ("1EMS112", "2026-11-22T03:00:00", True, "emergency"),  # every street, any time
    ("1TRK111", "2026-11-23T07:00:00", False, "no_permit"),  # a truck-lock permit opens no bollard
    ("1ZZZ999", "2026-11-23T07:00:00", False, "no_permit"),  # unknown plate
    ("1A8C234", "2026-11-23T07:00:00", False, "no_permit"),  # look-alike of pm-school (B/8): never opens
    ("1ABC23", "2026-11-23T07:00:00", False, "no_permit"),  # a character dropped: never opens
]


@pytest.mark.parametrize(("plate", "at", "granted", "reason"), CASES)
def test_decision_table(zone: ZoneConfig, make_read: MakeRead, plate: str, at: str, granted: bool, reason: str) -> None:
    read = make_read(plate, camera=CAMERA, at=utc(at))
    decision = decide(rule_for(zone), read)
    (finding,) = decision.findings
    assert (finding.kind, finding.facts["reason"]) == ("granted" if granted else "refused", reason)
    assert finding.read_ids == ((CAMERA, read.event_id),)
    assert [c.action for c in decision.commands] == ([CommandAction.LOWER] if granted else [])
    assert len(decision.violations) == (0 if granted else 1)  # the small zone's street is an enforced C3


def test_lower_command(zone: ZoneConfig, make_read: MakeRead) -> None:
    read = make_read("1ABC234", camera=CAMERA, at=utc("2026-11-23T07:00:00"))
    rule = rule_for(zone, ttl=20)
    (command,) = decide(rule, read).commands
    assert (command.device_id, command.action, command.read_id) == (CONTROLLER, CommandAction.LOWER, read.key)
    assert command.issued_at == read.date_observed  # event time: the rule has no clock
    assert command.valid_until == read.date_observed + timedelta(seconds=20)
    assert command.reason == "permit pm-school"
    assert decide(rule, read).commands[0].command_id == command.command_id  # stable across restarts


def test_emergency_is_logged_as_such(zone: ZoneConfig, make_read: MakeRead) -> None:
    decision = decide(rule_for(zone), make_read("1EMS112", camera=CAMERA, at=utc("2026-11-22T03:00:00")))
    assert decision.commands[0].reason == "emergency vehicle, permit pm-112"
    facts = decision.findings[0].facts
    assert (facts["reason"], facts["permit"], facts["emergency"]) == ("emergency", "pm-112", True)


def test_candidates_never_open(zone: ZoneConfig, make_read: MakeRead) -> None:
    """Only the read plate counts: a permit holder among the top-N candidates does not lower the bollard."""
    candidates = (PlateCandidate(plate="1ABC284", confidence=0.6), PlateCandidate(plate="1ABC234", confidence=0.5))
    read = make_read("1ABC284", camera=CAMERA, at=utc("2026-11-23T07:00:00"), candidates=candidates)
    decision = decide(rule_for(zone), read)
    assert decision.commands == ()
    assert decision.findings[0].kind == "refused"


@pytest.mark.parametrize(
    ("sign", "enforced", "route"),
    [("C3", True, Route.GAS), ("F103", True, Route.GAS), ("C3", False, None), ("F103", False, None)],
)
def test_refused_entries_of_enforced_streets_are_gas_candidates(
    zone: ZoneConfig, make_read: MakeRead, sign: str, enforced: bool, route: Route | None
) -> None:
    read = make_read("1ZZZ999", camera=CAMERA, at=utc("2026-11-23T07:00:00"))
    decision = decide(rule_for(zone, sign=sign, enforced=enforced), read)
    assert decision.commands == ()
    assert [f.kind for f in decision.findings] == ["refused"]  # always logged
    if route is None:
        assert decision.violations == ()
        return
    (violation,) = decision.violations
    assert (violation.route, violation.legal_basis, violation.plate) == (route, sign, "1ZZZ999")
    assert violation.read_ids == (read.key,)  # the read is the evidence
    assert violation.facts["refusal"] == "no_permit"


@pytest.mark.parametrize(
    ("plate", "candidates", "near"),
    [
        ("1A8C234", (), "pm-school"),  # look-alike substitution (B read as 8)
        ("1ABC23", (), "pm-school"),  # a character dropped
        ("1ABC2345", (), "pm-school"),  # a character added
        ("1XYZ999", ("1XYZ999", "2XYZ999"), "pm-any"),  # the permit holder among the candidates
        ("1ZZZ999", (), None),  # far from every permit holder: GAS
    ],
)
def test_likely_misreads_of_a_permit_holder_go_to_review_not_gas(
    zone: ZoneConfig, make_read: MakeRead, plate: str, candidates: tuple[str, ...], near: str | None
) -> None:
    read = make_read(
        plate,
        camera=CAMERA,
        at=utc("2026-11-23T07:00:00"),
        candidates=tuple(PlateCandidate(plate=c, confidence=0.5) for c in candidates),
    )
    decision = decide(rule_for(zone), read)
    assert decision.commands == ()  # fail-safe: the bollard stays up either way
    (violation,) = decision.violations
    assert violation.route is (Route.REVIEW if near else Route.GAS)
    assert violation.facts["near_permit"] == near


def test_a_near_permit_outside_its_window_is_no_excuse(zone: ZoneConfig, make_read: MakeRead) -> None:
    read = make_read("1A8C234", camera=CAMERA, at=utc("2026-11-23T12:00:00"))  # pm-school ended at 09:00
    (violation,) = decide(rule_for(zone), read).violations
    assert violation.route is Route.GAS


def test_other_cameras_and_uncontrolled_streets_are_ignored(zone: ZoneConfig, make_read: MakeRead) -> None:
    rule = rule_for(zone)
    assert rule.cameras() == frozenset({CAMERA})
    assert decide(rule, make_read("1ABC234", camera="cam-north", at=utc("2026-11-23T07:00:00"))) == Decision()
    config = AccessControlConfig(id="verdwijnpalen", type="access_control", streets=("elsewhere",))
    rules, _ = build_rules(zone.model_copy(update={"rules": (config,)}), reference())
    assert rules[0].cameras() == frozenset()


def test_registered_and_same_conclusions_in_any_order(zone: ZoneConfig, make_read: MakeRead) -> None:
    reads = [make_read(plate, camera=CAMERA, at=utc(at)) for plate, at, _, _ in CASES]
    results = []
    for order in (reads, list(reversed(reads)), reads[1::2] + reads[::2]):
        rules, _ = build_rules(zone_with(zone), reference())
        assert [rule.type for rule in rules] == ["access_control"]  # found through the entry point
        decision = RuleEngine(rules, grace_s=60).process(order)
        results.append(
            (
                sorted(f.finding_id for f in decision.findings),
                sorted(c.command_id for c in decision.commands),
                sorted(v.violation_id for v in decision.violations),
            )
        )
    assert results[0] == results[1] == results[2]
    assert len(results[0][0]) == len(CASES)


# -- on a simulated day --------------------------------------------------------------------------------------

END = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


@pytest.mark.parametrize("noise", [NoiseSettings.off(), NoiseSettings()], ids=["noise-off", "noise-default"])
def test_simulated_day_decides_every_correctly_read_plate_right(tmp_path: Path, noise: NoiseSettings) -> None:
    zone = load_zone(DEMO_ZONE)
    town = simulate_town(tmp_path, noise, end=END, vehicles=2000, seed=11)
    reference, reads_path, truth_path = town.reference, town.reads, town.truth
    only_access = zone.model_copy(update={"rules": tuple(r for r in zone.rules if r.type == "access_control")})
    reads = validated_reads(reads_path, only_access, IngestSettings(), Evaluation())
    decision = run_rules(only_access, reads, reference)

    tally = tally_access_control(only_access, decision, truth_path)
    assert tally.read_right >= 10 and tally.undecided == 0
    assert tally.correct_read == tally.read_right  # 100 % on correctly read plates
    assert (tally.lower.fp, tally.gas.fp) == (0, 0)  # never opened for, never fined, a vehicle wrongly
    if noise == NoiseSettings.off():
        assert (tally.lower.fn, tally.gas.fn, tally.review) == (0, 0, 0)
    score, note = score_access_control(only_access, decision, truth_path)
    assert score == tally.lower
    assert "correct decisions on correctly read plates" in note
