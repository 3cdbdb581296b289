"""Alerts, violations, bollards and the cordon's health: the operator's and reviewer's side of the rules.

Every change a person makes (acknowledging or closing an alert, reviewing a violation, overriding a bollard)
is recorded in the audit trail with who, from where and why. A GAS officer sees only the violations routed to
GAS (DESIGN.md §1: "the cases routed to them").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from cordon.api.deps import RuntimeDep
from cordon.api.errors import error_responses
from cordon.api.security import record_action, require
from cordon.audit.events import Action
from cordon.auth.models import Principal
from cordon.auth.roles import Permission, Role
from cordon.decisions.health import GapRate, gap_rates
from cordon.decisions.lifecycle import AlertAction, Outcome, ReviewState
from cordon.decisions.pipeline import AlertHub
from cordon.decisions.service import RuleService
from cordon.decisions.store import DecisionStore, StoredAlert, StoredCommand, StoredViolation
from cordon.errors import CordonError, forbidden
from cordon.records import Alert, AlertState, Command, CommandAction, Route
from cordon.rules.base import stable_id
from cordon.runtime import Runtime
from cordon.timeutil import utcnow

router = APIRouter(prefix="/api/v1", tags=["alerts and decisions"])
Reader = Annotated[Principal, Depends(require(Permission.ALERTS_READ))]
Acker = Annotated[Principal, Depends(require(Permission.ALERTS_ACK))]
Reviewer = Annotated[Principal, Depends(require(Permission.VIOLATIONS_REVIEW))]
Overrider = Annotated[Principal, Depends(require(Permission.BOLLARDS_OVERRIDE))]
Health = Annotated[Principal, Depends(require(Permission.HEALTH_READ))]

_ERRORS = error_responses(
    {
        401: "Not signed in.",
        403: "The role may not do this.",
        404: "No such record.",
        409: "The record's state does not allow it.",
        422: "Invalid input.",
        503: "The rules (or the MQTT broker for commands) are not running in this process.",
    }
)


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="What the operator does about it.")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="How it ended.")
    note: str | None = Field(default=None, max_length=2000, description="Free note for the report.")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool = Field(description="True: the violation stands and goes its route; false: rejected.")
    reason: str = Field(default="", max_length=2000, description="Why; required to reject.")


class OverrideIn(BaseModel):
    """A bollard moved by hand (an ambulance without a permit, a broken controller link, an incident)."""

    model_config = ConfigDict(extra="forbid")

    action: CommandAction = Field(description="`lower`, `raise` or `hold`.")
    reason: str = Field(min_length=5, max_length=2000, description="Why, for the audit trail.")
    valid_s: float = Field(default=30, gt=0, le=600, description="Seconds the command stays valid.")


def _rules(runtime: Runtime) -> RuleService:
    if runtime.rules is None:
        raise CordonError("rules_disabled", "the rules are not running in this process (rules.enabled)", 503)
    return runtime.rules


def _decisions(runtime: Runtime) -> DecisionStore:
    return _rules(runtime).decisions


def visible_routes(role: Role) -> tuple[Route, ...]:
    """Violation routes a role may review: a GAS officer the GAS cases, the police every route."""
    return (Route.GAS,) if role is Role.GAS_OFFICER else tuple(Route)


# -- alerts ----------------------------------------------------------------------------------------------------


@router.get("/alerts", response_model=list[StoredAlert], responses=_ERRORS, summary="Alerts, newest first")
def list_alerts(
    _: Reader,
    runtime: RuntimeDep,
    state: Annotated[AlertState | None, Query(description="Only alerts in this state.")] = None,
    category: Annotated[str | None, Query(max_length=64, description="Only this category.")] = None,
    since: Annotated[datetime | None, Query(description="Only alerts observed since (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[StoredAlert]:
    return _decisions(runtime).alerts(state, category, since, limit)


@router.get("/alerts/stream", responses=_ERRORS, summary="New alerts as they are raised (Server-Sent Events)")
async def stream_alerts(_: Reader, runtime: RuntimeDep, request: Request) -> StreamingResponse:
    hub = _rules(runtime).hub
    return StreamingResponse(_events(hub, request), media_type="text/event-stream")


async def _events(hub: AlertHub, request: Request) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    waiting: asyncio.Queue[Alert] = asyncio.Queue(maxsize=1000)

    def deliver(alert: Alert) -> None:  # on the rules' thread
        loop.call_soon_threadsafe(_offer, waiting, alert)

    unsubscribe = hub.subscribe(deliver)
    try:
        yield b": connected\n\n"
        while not await request.is_disconnected():
            try:
                alert = await asyncio.wait_for(waiting.get(), timeout=15)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield f"event: alert\nid: {alert.alert_id}\ndata: {alert.model_dump_json(by_alias=True)}\n\n".encode()
    finally:
        unsubscribe()


def _offer(waiting: asyncio.Queue[Alert], alert: Alert) -> None:
    if not waiting.full():  # a stalled client loses live alerts, never the store's
        waiting.put_nowait(alert)


@router.get("/alerts/{alert_id}", response_model=StoredAlert, responses=_ERRORS, summary="One alert")
def get_alert(alert_id: str, _: Reader, runtime: RuntimeDep) -> StoredAlert:
    return _decisions(runtime).alert(alert_id)


@router.post(
    "/alerts/{alert_id}/acknowledge", response_model=StoredAlert, responses=_ERRORS, summary="Acknowledge an alert"
)
def acknowledge_alert(alert_id: str, body: AcknowledgeIn, principal: Acker, runtime: RuntimeDep) -> StoredAlert:
    stored = _decisions(runtime).act_on_alert(alert_id, AlertAction.ACKNOWLEDGE, principal.username, utcnow(),
                                              note=body.note)  # fmt: skip
    record_action(runtime.audit, principal, Action.ALERT_CHANGE, {"alert": alert_id, "action": "acknowledge"},
           note=body.note)  # fmt: skip
    return stored


@router.post("/alerts/{alert_id}/close", response_model=StoredAlert, responses=_ERRORS, summary="Close an alert")
def close_alert(alert_id: str, body: CloseIn, principal: Acker, runtime: RuntimeDep) -> StoredAlert:
    stored = _decisions(runtime).act_on_alert(alert_id, AlertAction.CLOSE, principal.username, utcnow(),
                                              body.outcome, body.note)  # fmt: skip
    record_action(runtime.audit, principal, Action.ALERT_CHANGE, {"alert": alert_id, "action": "close"},
           outcome=body.outcome.value, note=body.note)  # fmt: skip
    return stored


# -- violations --------------------------------------------------------------------------------------------------


@router.get("/violations", response_model=list[StoredViolation], responses=_ERRORS, summary="The review queue")
def list_violations(
    principal: Reviewer,
    runtime: RuntimeDep,
    review: Annotated[ReviewState | None, Query(description="Review state (default: pending).")] = ReviewState.PENDING,
    route: Annotated[Route | None, Query(description="Only this route.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[StoredViolation]:
    allowed = visible_routes(principal.role)
    if route is not None and route not in allowed:
        raise forbidden("forbidden_route", f"the role {principal.role.value} reviews only {allowed[0].value} cases")
    return _decisions(runtime).violations(review, (route,) if route else allowed, limit)


@router.post("/violations/{violation_id}/review", response_model=StoredViolation, responses=_ERRORS, summary="Review")
def review_violation(violation_id: str, body: ReviewIn, principal: Reviewer, runtime: RuntimeDep) -> StoredViolation:
    decisions = _decisions(runtime)
    if decisions.violation(violation_id).violation.route not in visible_routes(principal.role):
        raise forbidden("forbidden_route", f"the role {principal.role.value} may not review this case")
    stored = decisions.review(violation_id, body.approve, principal.username, body.reason, utcnow())
    record_action(runtime.audit, principal, Action.VIOLATION_REVIEW, {"violation": violation_id},
           approve=body.approve, reason=body.reason)  # fmt: skip
    return stored


# -- bollards ----------------------------------------------------------------------------------------------------


@router.post(
    "/bollards/{device_id}/override", status_code=202, response_model=StoredCommand, responses=_ERRORS,
    summary="Move a bollard by hand (logged with who and why)",
)  # fmt: skip
def override_bollard(device_id: str, body: OverrideIn, principal: Overrider, runtime: RuntimeDep) -> StoredCommand:
    controllers = {street.controller for street in runtime.zone.bollard_streets}
    if device_id not in controllers:
        raise CordonError("device_not_found", f"no bollard controller {device_id} in the zone", 404)
    rules = _rules(runtime)
    if rules.publisher is None:
        raise CordonError("no_broker", "commands need the MQTT broker: set rules.mqtt_out", 503)
    now = utcnow()
    command = Command(
        command_id=stable_id("manual", device_id, principal.username, now.isoformat()),
        device_id=device_id,
        action=body.action,
        issued_at=now,
        valid_until=now + timedelta(seconds=body.valid_s),
        reason=f"manual override by {principal.username}: {body.reason}",
    )
    rules.decisions.add_manual_command(command, principal.username)
    record_action(runtime.audit, principal, Action.BOLLARD_OVERRIDE, {"device": device_id, "action": body.action.value},
           reason=body.reason, command=command.command_id)  # fmt: skip
    rules.publisher.command(command)
    return rules.decisions.commands(device_id, 1)[0]


@router.get(
    "/bollards/{device_id}/commands", response_model=list[StoredCommand], responses=_ERRORS,
    summary="Commands sent to a bollard, newest first",
)  # fmt: skip
def bollard_commands(
    device_id: str, _: Overrider, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[StoredCommand]:
    return _decisions(runtime).commands(device_id, limit)


# -- health ---------------------------------------------------------------------------------------------------------


@router.get("/health/gaps", response_model=list[GapRate], responses=_ERRORS, summary="Gap rate per gate and hour")
def cordon_gaps(
    _: Health,
    runtime: RuntimeDep,
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="How many hours back from now.")] = 24,
) -> list[GapRate]:
    since = utcnow() - timedelta(hours=hours)
    findings = _decisions(runtime).findings(since=since, limit=1_000_000)
    return gap_rates(findings, runtime.zone)
