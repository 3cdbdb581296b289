"""Pure life-cycle decisions: which transitions an alert and a violation may take, and what each needs."""

from __future__ import annotations

from enum import StrEnum

from cordon.errors import CordonError
from cordon.records import AlertState


class AlertAction(StrEnum):
    """What a person does to an alert."""

    ACKNOWLEDGE = "acknowledge"
    CLOSE = "close"


class Outcome(StrEnum):
    """How an alert ended, for the operator's report and the hotlist owner's feedback."""

    CONFIRMED = "confirmed"  # the vehicle was the one sought; action taken
    NOT_FOUND = "not_found"  # the vehicle was sought but not met
    MISREAD = "misread"  # the camera misread the plate: a false alert
    NO_ACTION = "no_action"  # nothing to do (e.g. entry expired, vehicle already known)


class ReviewState(StrEnum):
    """A violation's review: pending until a person approves or rejects it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def conflict(code: str, message: str) -> CordonError:
    """A request that the record's current state does not allow (HTTP 409)."""
    return CordonError(code, message, 409)


def next_alert_state(current: AlertState, action: AlertAction, outcome: Outcome | None) -> AlertState:
    """The state after `action`: new → acknowledged → closed; closing straight from new is allowed (an
    operator may close a misread at once), closing needs an outcome, nothing leaves `closed`."""
    if current is AlertState.CLOSED:
        raise conflict("alert_closed", "the alert is closed; a closed alert does not change any more")
    if action is AlertAction.ACKNOWLEDGE:
        if current is AlertState.ACKNOWLEDGED:
            raise conflict("alert_acknowledged", "the alert is already acknowledged")
        return AlertState.ACKNOWLEDGED
    if outcome is None:
        raise CordonError("outcome_required", "closing an alert needs an outcome: " + ", ".join(Outcome), 422)
    return AlertState.CLOSED


def review_state(current: ReviewState, approve: bool, reason: str) -> ReviewState:
    """The state after a review: only a pending violation is reviewed, and a rejection gives its reason."""
    if current is not ReviewState.PENDING:
        raise conflict("violation_reviewed", f"the violation was already {current.value}")
    if not approve and not reason.strip():
        raise CordonError("reason_required", "rejecting a violation needs a reason", 422)
    return ReviewState.APPROVED if approve else ReviewState.REJECTED
