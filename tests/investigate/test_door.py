"""The door: every refusal says exactly what is missing; what it allows is exactly the lawful window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cordon.auth.roles import Role
from cordon.config.zone import Camera, Lane, LegalRegime, Purpose
from cordon.investigate.consultation import Consultation, ConsultationPurpose, Scope
from cordon.investigate.door import Allowed, Refused, decide
from cordon.investigate.register import LegalHold, ProsecutorDecision
from cordon.records import Movement

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def camera(camera_id: str, purposes: tuple[Purpose, ...], retention: int = 365, open_days: int = 30) -> Camera:
    return Camera(
        id=camera_id, lat=51.0, lon=4.0, lanes=(Lane(id="1", movement=Movement.ENTRY),),
        legal_regime=LegalRegime.POLICE_FUNCTION_ACT, purposes=purposes, council_decision="GR 2026/1",
        retention_days=retention, open_consultation_days=open_days,
    )  # fmt: skip


POLICE = (Purpose.ADMINISTRATIVE_POLICE, Purpose.JUDICIAL_POLICE)
CAMERAS = [
    camera("cam-gate", POLICE),
    camera("cam-section", (Purpose.SECTION_CONTROL, Purpose.JUDICIAL_POLICE), retention=90, open_days=14),
    camera("cam-school", (Purpose.ACCESS_CONTROL,), retention=30),
]
PLATE = frozenset({"1ABC234"})
DECISIONS = {
    d.reference: d
    for d in (
        ProsecutorDecision("PK-2026-0042", "PK Dendermonde", NOW - 20 * DAY, NOW - 2 * DAY, plates=PLATE),
        ProsecutorDecision("PK-2026-0050", "PK Dendermonde", NOW - DAY, NOW + 30 * DAY, plates=PLATE),
        ProsecutorDecision("PK-2026-0051", "PK Dendermonde", NOW - DAY, NOW + 30 * DAY, case_reference="PV 2026/77"),
        ProsecutorDecision("PK-2026-0060", "PK Dendermonde", NOW + DAY, NOW + 30 * DAY, case_reference="PV 2026/77"),
        ProsecutorDecision("PK-2026-0061", "PK Dendermonde", NOW - DAY, NOW + DAY, case_reference="PV 2026/77",
                           revoked_at=NOW - timedelta(hours=1)),
    )
}  # fmt: skip


def ask(
    purpose: ConsultationPurpose | None = ConsultationPurpose.JUDICIAL,
    decision: str | None = None,
    case: str = "PV 2026/77",
    **fields: str,
) -> Consultation:
    values = {"reason": "stolen vehicle seen", "offence_type": "theft", **fields}
    return Consultation(purpose=purpose, case_reference=case, decision_reference=decision, **values)


def scope(
    days_back: float | None, plates: tuple[str, ...] | None = ("1ABC234",), cameras: tuple[str, ...] = ()
) -> Scope:
    return Scope(NOW - days_back * DAY if days_back is not None else None, None, cameras, plates)


REFUSALS = [
    # (consultation, scope, role, code, exact message)
    (ask(purpose=None, reason=""), scope(7), Role.INVESTIGATOR, "consultation_incomplete",
     "a consultation needs: purpose (administrative or judicial), reason"),
    (ask(case="", offence_type=""), scope(7), Role.OPERATOR, "consultation_incomplete",
     "a consultation needs: offence type, case reference"),
    (ask(), scope(7), Role.TRAFFIC_ANALYST, "role_not_allowed", "the role traffic_analyst may not consult passages"),
    (ask(), scope(7), Role.DPO, "role_not_allowed", "the role dpo may not consult passages"),
    (ask(decision="PK-2026-0050"), scope(45), Role.OPERATOR, "beyond_open_period",
     "reads older than 14 or 30 days are for investigators only: the role operator consults the first month"),
    (ask(), scope(45), Role.INVESTIGATOR, "decision_required",
     "reads older than 14 or 30 days need a prosecutor decision covering plate 1ABC234"),
    (ask(purpose=ConsultationPurpose.ADMINISTRATIVE, decision="PK-2026-0050"), scope(45, cameras=("cam-gate",)),
     Role.INVESTIGATOR, "decision_required", "reads older than 30 days need a judicial purpose"),
    (ask(purpose=ConsultationPurpose.ADMINISTRATIVE), scope(45, cameras=("cam-gate",)), Role.INVESTIGATOR,
     "decision_required", "reads older than 30 days need a judicial purpose and a prosecutor decision covering "
     "plate 1ABC234"),
    (ask(decision="PK-2026-0042"), scope(45), Role.INVESTIGATOR, "decision_required",
     "reads older than 14 or 30 days need a prosecutor decision covering plate 1ABC234: decision PK-2026-0042 "
     "expired on 2026-11-26T12:00:00Z"),
    (ask(decision="PK-2026-0060"), scope(45), Role.INVESTIGATOR, "decision_required",
     "reads older than 14 or 30 days need a prosecutor decision covering plate 1ABC234: decision PK-2026-0060 is "
     "valid only from 2026-11-29T12:00:00Z"),
    (ask(decision="PK-2026-0061"), scope(45), Role.INVESTIGATOR, "decision_required",
     "reads older than 14 or 30 days need a prosecutor decision covering plate 1ABC234: decision PK-2026-0061 was "
     "revoked on 2026-11-28T11:00:00Z"),
    (ask(decision="PK-2026-9999"), scope(45), Role.INVESTIGATOR, "decision_required",
     "reads older than 14 or 30 days need a prosecutor decision covering plate 1ABC234: decision PK-2026-9999 is "
     "not registered"),
    # out of scope: a decision for plate 1ABC234 does not cover another plate, nor a wildcard's plates
    (ask(decision="PK-2026-0050", case="PV 2026/99"), scope(45, plates=("2XYZ999",)), Role.INVESTIGATOR,
     "decision_required", "reads older than 14 or 30 days need a prosecutor decision covering plate 2XYZ999: "
     "decision PK-2026-0050 covers plate 1ABC234"),
    (ask(decision="PK-2026-0050", case="PV 2026/99"), scope(45, plates=None), Role.INVESTIGATOR,
     "decision_required", "reads older than 14 or 30 days need a prosecutor decision covering case PV 2026/99: "
     "decision PK-2026-0050 covers plate 1ABC234 (a query that is not about given plates needs a decision for "
     "its case)"),
    # cameras: named but not authorised for the purpose, or unknown
    (ask(), scope(7, cameras=("cam-school",)), Role.INVESTIGATOR, "camera_not_allowed",
     "camera cam-school is authorised for access_control only, not for judicial police"),
    (ask(purpose=ConsultationPurpose.ADMINISTRATIVE), scope(7, cameras=("cam-section",)), Role.OPERATOR,
     "camera_not_allowed", "camera cam-section is authorised for section_control, judicial_police only, not for "
     "administrative police"),
    (ask(), scope(7, cameras=("cam-nowhere",)), Role.INVESTIGATOR, "camera_not_allowed",
     "camera cam-nowhere is not a camera of this zone"),
    (ask(), Scope(NOW - DAY, NOW - 2 * DAY), Role.INVESTIGATOR, "invalid_window",
     "the window starts (2026-11-27T12:00:00Z) after it ends"),
]  # fmt: skip


@pytest.mark.parametrize(("consultation", "asked", "role", "code", "message"), REFUSALS)
def test_every_refusal_says_exactly_what_is_missing(
    consultation: Consultation, asked: Scope, role: Role, code: str, message: str
) -> None:
    verdict = decide(consultation, asked, role, CAMERAS, DECISIONS, NOW)
    assert isinstance(verdict, Refused)
    assert (verdict.code, verdict.message) == (code, message)


def windows(verdict: Allowed) -> dict[str, tuple[float, float]]:
    return {w.camera_id: ((NOW - w.since) / DAY, (NOW - w.until) / DAY) for w in verdict.windows}


def test_first_month_needs_no_decision_and_is_clamped_per_camera() -> None:
    verdict = decide(ask(), scope(None), Role.OPERATOR, CAMERAS, DECISIONS, NOW)
    assert isinstance(verdict, Allowed)
    assert windows(verdict) == {"cam-gate": (30, 0), "cam-section": (14, 0)}  # each camera's own open period
    assert verdict.decision_reference is None
    assert verdict.excluded == ("camera cam-school is authorised for access_control only, not for judicial police",)


def test_administrative_purpose_reaches_only_cameras_authorised_for_it() -> None:
    verdict = decide(ask(purpose=ConsultationPurpose.ADMINISTRATIVE), scope(7), Role.OPERATOR, CAMERAS, {}, NOW)
    assert isinstance(verdict, Allowed)
    assert windows(verdict) == {"cam-gate": (7, 0)}


def test_a_valid_decision_opens_months_two_to_twelve_up_to_each_retention() -> None:
    verdict = decide(ask(decision="PK-2026-0050"), scope(400), Role.INVESTIGATOR, CAMERAS, DECISIONS, NOW)
    assert isinstance(verdict, Allowed)
    assert verdict.decision_reference == "PK-2026-0050"
    assert windows(verdict) == {"cam-gate": (365, 0), "cam-section": (90, 0)}


def test_a_case_decision_covers_queries_that_are_not_about_one_plate() -> None:
    verdict = decide(ask(decision="PK-2026-0051"), scope(None, plates=None), Role.INVESTIGATOR, CAMERAS, DECISIONS, NOW)
    assert isinstance(verdict, Allowed)
    assert windows(verdict) == {"cam-gate": (365, 0), "cam-section": (90, 0)}  # open end: back to retention


def test_the_window_never_reaches_the_future_and_the_until_is_kept() -> None:
    asked = Scope(NOW - 3 * DAY, NOW + 3 * DAY, ("cam-gate",), ("1ABC234",))
    verdict = decide(ask(), asked, Role.OPERATOR, CAMERAS, DECISIONS, NOW)
    assert isinstance(verdict, Allowed)
    assert windows(verdict) == {"cam-gate": (3, 0)}
    earlier = decide(ask(), Scope(NOW - 3 * DAY, NOW - DAY), Role.OPERATOR, CAMERAS, DECISIONS, NOW)
    assert isinstance(earlier, Allowed)
    assert windows(earlier)["cam-gate"] == (3, 1)


def test_the_decision_is_pure() -> None:
    first = decide(ask(decision="PK-2026-0050"), scope(60), Role.INVESTIGATOR, CAMERAS, DECISIONS, NOW)
    assert first == decide(ask(decision="PK-2026-0050"), scope(60), Role.INVESTIGATOR, CAMERAS, DECISIONS, NOW)


@pytest.mark.parametrize(
    ("decision", "problem"),
    [
        (ProsecutorDecision("", "PK", NOW, NOW + DAY, case_reference="c"), "a reference"),
        (ProsecutorDecision("PK-1", " ", NOW, NOW + DAY, case_reference="c"), "the issuing magistrate or office"),
        (ProsecutorDecision("PK-1", "PK", NOW, NOW + DAY), "a scope: a case reference or at least one plate"),
        (ProsecutorDecision("PK-1", "PK", NOW, NOW, case_reference="c"), "a validity window that ends after it starts"),
        (ProsecutorDecision("PK-1", "PK", NOW, NOW + DAY, case_reference="c", document_sha256="abc"),
         "a document hash as 64 lower-case hex digits (SHA-256)"),
    ],
)  # fmt: skip
def test_a_decision_without_what_it_needs_is_not_registrable(decision: ProsecutorDecision, problem: str) -> None:
    assert decision.problems() == [problem]


def test_only_the_cases_own_holds_reach_beyond_retention() -> None:
    holds = [
        LegalHold("PV 2026/77", "trial", plates=frozenset({"1ABC234", "2XYZ999"}), read_ids=frozenset({7})),
        LegalHold("PV 2026/12", "other case", plates=frozenset({"1ABC234"}), read_ids=frozenset({8})),
        LegalHold("PV 2026/77", "released", read_ids=frozenset({9}), released_at=NOW - DAY),
    ]
    verdict = decide(ask(decision="PK-2026-0051"), scope(400), Role.INVESTIGATOR, CAMERAS, DECISIONS, NOW, holds)
    assert isinstance(verdict, Allowed) and verdict.held is not None
    assert (verdict.held.plates, verdict.held.read_ids) == (frozenset({"1ABC234"}), frozenset({7}))
    assert verdict.held.camera_ids == ("cam-gate", "cam-section")
    without = decide(ask(), scope(7), Role.INVESTIGATOR, CAMERAS, DECISIONS, NOW, holds)
    assert isinstance(without, Allowed) and without.held is None  # no decision: no reach beyond retention
