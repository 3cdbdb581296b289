"""Verdwijnpalen (access control): lower a street's retractable bollard for a vehicle with a valid permit.

A read at a bollard street's camera is judged on its own, at the read's event time (the rule has no clock):

- **granted** when the plate, matched *exactly*, holds an `access` permit for that street (or for `*`) valid at
  that instant and inside one of its time windows (local time of the zone, so daylight saving is honoured), or
  an `emergency` permit (every street). The street's controller gets a `lower` command valid for
  `command_ttl_s` after the read.
- **refused** otherwise, with the reason closest to a grant: `outside_window`, `expired`, `not_yet_valid`,
  `wrong_street` or `no_permit`. Fail-safe: an unknown plate, a look-alike of a permit holder or one of the
  read's top-N candidates never lowers the bollard.

Every decision is a `Finding` (`granted` / `refused`). A refused entry into a camera-enforced street (signs C3
or F103) is a candidate GAS `Violation` with the read as evidence, unless the plate is one look-alike class or
one character away from a plate that *would* have been granted: that is most likely a misread permit holder,
so the candidate goes to human review first instead of GAS.

The rule keeps no per-plate state, so its conclusions cannot depend on the order reads arrive in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from cordon.config.rules import AccessControlRule as AccessControlConfig
from cordon.config.zone import BollardStreet, ZoneConfig
from cordon.plates import lookalike_key
from cordon.records import Command, CommandAction, PlateRead, Route, Violation
from cordon.reference import Permit, ReferenceData
from cordon.rules.base import NOTHING, Decision, Rule, read_key, stable_id

#: Why a read was refused or granted (`Finding.facts["reason"]`).
Reason = Literal["permit", "emergency", "outside_window", "expired", "not_yet_valid", "wrong_street", "no_permit"]

#: Road signs under which an entry seen by the camera may be sanctioned as a municipal GAS fine.
GAS_SIGNS = frozenset({"C3", "F103"})
SIGN_MEANING = {"C3": "C3 (closed to all vehicles)", "F103": "F103 (pedestrian zone)"}

# How close a refused permit came to granting; the closest one names the refusal.
_CLOSENESS: dict[Reason, int] = {"outside_window": 4, "expired": 3, "not_yet_valid": 3, "wrong_street": 1}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one plate at one street and instant, and the permit it rests on (if any)."""

    granted: bool
    reason: Reason
    permit: Permit | None = None


NO_PERMIT = Verdict(False, "no_permit")


def judge(permits: Sequence[Permit], street_id: str, moment: datetime, local: datetime) -> Verdict:
    """Whether `permits` (all of one plate) open `street_id` at `moment` (UTC; `local`: the same instant in the
    zone's time zone, for the windows). Truck-lock permits are ignored; a permit for the street itself is
    preferred over one for `*`, which is preferred over an emergency exemption.

    >>> from datetime import UTC
    >>> noon = datetime(2026, 1, 5, 12, tzinfo=UTC)
    >>> judge([], "schoolstraat", noon, noon)
    Verdict(granted=False, reason='no_permit', permit=None)
    """
    best_grant: tuple[int, Permit] | None = None
    best_refusal: tuple[int, Reason, Permit] | None = None
    for permit in permits:
        if permit.permit_type == "emergency":
            rank = 1
        elif permit.permit_type == "access" and permit.area == street_id:
            rank = 3
        elif permit.permit_type == "access" and permit.area == "*":
            rank = 2
        elif permit.permit_type == "access":
            if best_refusal is None:
                best_refusal = (_CLOSENESS["wrong_street"], "wrong_street", permit)
            continue
        else:
            continue  # a truck-lock permit says nothing about a bollard
        if permit.valid_at(moment, local):
            if best_grant is None or rank > best_grant[0]:
                best_grant = (rank, permit)
            continue
        reason: Reason
        if moment >= permit.valid_until:
            reason = "expired"
        elif moment < permit.valid_from:
            reason = "not_yet_valid"
        else:
            reason = "outside_window"
        if best_refusal is None or _CLOSENESS[reason] > best_refusal[0]:
            best_refusal = (_CLOSENESS[reason], reason, permit)
    if best_grant is not None:
        permit = best_grant[1]
        return Verdict(True, "emergency" if permit.permit_type == "emergency" else "permit", permit)
    if best_refusal is not None:
        return Verdict(False, best_refusal[1], best_refusal[2])
    return NO_PERMIT


def _near_keys(plate: str) -> set[str]:
    """The plate's look-alike key and that key with any one character deleted: two plates sharing one of these
    are at most one edit apart, up to look-alike characters (the symmetric-delete neighbourhood)."""
    key = lookalike_key(plate)
    return {key, *(key[:i] + key[i + 1 :] for i in range(len(key)))}


class AccessControlRule(Rule[AccessControlConfig, None]):
    """Bollard access: lower for valid permits and emergency vehicles, log the rest, GAS candidates for the
    refused entries of camera-enforced C3/F103 streets."""

    type = "access_control"
    acts_without_store = True

    def __init__(self, config: AccessControlConfig, zone: ZoneConfig, reference: ReferenceData) -> None:
        super().__init__(config, zone, reference)
        wanted = set(config.streets)
        streets: dict[str, list[BollardStreet]] = {}
        for street in zone.bollard_streets:
            if not wanted or street.id in wanted:
                streets.setdefault(street.camera, []).append(street)
        self._streets = {camera: tuple(found) for camera, found in streets.items()}
        self._tz = ZoneInfo(zone.zone.timezone)
        self._ttl = timedelta(seconds=config.command_ttl_s)
        # Plates that hold an access or emergency permit, by their near keys: finds the permit holder a refused
        # read may be a misread of. Built once: the reference data is read-only for a rule.
        self._near: dict[str, set[str]] = {}
        for plate, permits in reference.permits.items():
            if any(p.permit_type in ("access", "emergency") for p in permits):
                for key in _near_keys(plate):
                    self._near.setdefault(key, set()).add(plate)

    def cameras(self) -> frozenset[str] | None:
        return frozenset(self._streets)

    def decide(self, read: PlateRead, state: None) -> tuple[None, Decision]:
        streets = self._streets.get(read.observed_by)
        if not streets:
            return None, NOTHING
        moment = read.date_observed
        permits = self.reference.permits.get(read.plate, ())
        local = moment.astimezone(self._tz)
        decision = NOTHING
        for street in streets:
            verdict = judge(permits, street.id, moment, local) if permits else NO_PERMIT
            decision = decision + self._conclude(read, street, verdict, local)
        return None, decision

    def _conclude(self, read: PlateRead, street: BollardStreet, verdict: Verdict, local: datetime) -> Decision:
        key = read_key(read)
        permit = verdict.permit
        facts: dict[str, str | int | float | bool | None] = {
            "street": street.id,
            "controller": street.controller,
            "reason": verdict.reason,
            "permit": permit.permit_id if permit is not None else None,
            "emergency": verdict.reason == "emergency",
        }
        kind = "granted" if verdict.granted else "refused"
        finding = self.finding(
            kind,
            plate=read.plate,
            camera_id=read.observed_by,
            at=read.date_observed,
            read_ids=(key,),
            facts=facts,
            id_parts=(street.id, key),
        )
        if verdict.granted and permit is not None:
            emergency = verdict.reason == "emergency"
            command = Command(
                command_id=stable_id(self.id, "lower", street.id, key),
                device_id=street.controller,
                action=CommandAction.LOWER,
                issued_at=read.date_observed,
                valid_until=read.date_observed + self._ttl,
                reason=f"emergency vehicle, permit {permit.permit_id}" if emergency else f"permit {permit.permit_id}",
                read_id=key,
            )
            return Decision(commands=(command,), findings=(finding,))
        if not (street.camera_enforced and street.sign in GAS_SIGNS):
            return Decision(findings=(finding,))
        near = self._near_permit(read, street, local)
        violation = Violation(
            violation_id=stable_id(self.id, "gas", street.id, key),
            rule_id=self.id,
            rule_type=self.type,
            plate=read.plate,
            date_observed=read.date_observed,
            read_ids=(key,),
            route=Route.REVIEW if near is not None else Route.GAS,
            legal_basis=street.sign,
            facts={
                "street": street.id,
                "street_kind": street.kind,
                "sign": SIGN_MEANING.get(street.sign, street.sign),
                "refusal": verdict.reason,
                "refused_permit": permit.permit_id if permit is not None else None,
                "plate_as_read": read.plate_as_read,
                "confidence": read.confidence,
                "near_permit": near.permit_id if near is not None else None,
            },
        )
        return Decision(violations=(violation,), findings=(finding,))

    def _near_permit(self, read: PlateRead, street: BollardStreet, local: datetime) -> Permit | None:
        """A permit that would have opened the street for one of the read's candidates or for a plate one
        look-alike or one character away: the refused read is then likely a misread of its holder."""
        others = {c.plate for c in read.candidates}
        for near_key in _near_keys(read.plate):
            others |= self._near.get(near_key, set())
        others.discard(read.plate)
        for plate in sorted(others):
            permits = self.reference.permits.get(plate)
            if permits:
                verdict = judge(permits, street.id, read.date_observed, local)
                if verdict.granted:
                    return verdict.permit
        return None
