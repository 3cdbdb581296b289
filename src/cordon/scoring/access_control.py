"""Score the bollard access-control rule against the simulator's truth (`bollard_access` records).

Decisions join the truth by the read's (camera, event id). Accesses the camera missed (no event id) cannot be
decided and are left out (the note counts them). The score is that of the `lower` commands: a true positive is
a command on a permitted access (a valid permit or an emergency vehicle). The note adds the GAS candidates
against the truth's `gasCase`, the candidates held for human review, and the share of correct decisions
(granted == permitted) on the reads whose plate was read correctly (the target is 100 %) and on all reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cordon.config.zone import ZoneConfig
from cordon.evaluate import Score
from cordon.records import CommandAction, Route
from cordon.rules.base import Decision
from cordon.sim import read_truth
from cordon.sim.truth import BollardAccess

RULE_TYPE = "access_control"
ReadKey = tuple[str, str]


def _key(read_id: tuple[str, str]) -> ReadKey:
    return (read_id[0], read_id[1])


def _share(good: int, total: int) -> str:
    return f"{good}/{total} ({good / total:.2%})" if total else "0/0"


@dataclass(frozen=True, slots=True)
class AccessTally:
    """The rule's decisions against the truth, counted."""

    lower: Score  # lower commands vs permitted accesses
    gas: Score  # GAS-route candidates vs the truth's GAS cases
    review: int  # candidates held for review as likely misreads of a permit holder
    review_gas_cases: int  # ... of which the truth calls a GAS case
    correct_read: int  # correct decisions (granted == permitted) on reads of the right plate
    read_right: int  # decided reads of the right plate
    correct_all: int  # correct decisions on every decided read
    decided: int  # read accesses with a decision
    undecided: int  # read accesses without one (refused by ingest, or a rule fault)
    unread: int  # accesses the camera missed: nothing to decide


def tally_access_control(zone: ZoneConfig, decision: Decision, truth_path: Path) -> AccessTally:
    """Join the rule's commands, findings and violations to the truth's `bollard_access` records."""
    controllers = {street.controller for street in zone.bollard_streets}
    lowered = {
        _key(c.read_id)
        for c in decision.commands
        if c.action is CommandAction.LOWER and c.device_id in controllers and c.read_id is not None
    }
    verdicts: dict[ReadKey, tuple[bool, str]] = {
        _key(f.read_ids[0]): (f.kind == "granted", f.plate)
        for f in decision.findings
        if f.rule_type == RULE_TYPE and f.kind in ("granted", "refused")
    }
    violations = [v for v in decision.violations if v.rule_type == RULE_TYPE]
    gas = {_key(v.read_ids[0]) for v in violations if v.route is Route.GAS}
    review = {_key(v.read_ids[0]) for v in violations if v.route is Route.REVIEW}

    permitted: set[ReadKey] = set()
    gas_cases: set[ReadKey] = set()
    unread = undecided = correct_read = read_right = correct_all = decided = 0
    for record in read_truth(truth_path):
        if not isinstance(record, BollardAccess):
            continue
        if record.event_id is None:
            unread += 1
            continue
        key = (record.camera, record.event_id)
        if record.permitted:
            permitted.add(key)
        if record.gas_case:
            gas_cases.add(key)
        verdict = verdicts.get(key)
        if verdict is None:
            undecided += 1
            continue
        granted, plate = verdict
        right = granted == record.permitted
        decided += 1
        correct_all += right
        if plate == record.plate:
            read_right += 1
            correct_read += right
    return AccessTally(
        lower=Score.of(lowered, permitted),
        gas=Score.of(gas, gas_cases),
        review=len(review),
        review_gas_cases=len(review & gas_cases),
        correct_read=correct_read,
        read_right=read_right,
        correct_all=correct_all,
        decided=decided,
        undecided=undecided,
        unread=unread,
    )


def score_access_control(zone: ZoneConfig, decision: Decision, truth_path: Path) -> tuple[Score, str]:
    """Lower commands vs permitted accesses; GAS candidates and decision correctness in the note."""
    tally = tally_access_control(zone, decision, truth_path)
    gas = tally.gas
    note = (
        f"GAS candidates: precision {gas.precision:.2%}, recall {gas.recall:.2%} "
        f"(tp {gas.tp}, fp {gas.fp}, fn {gas.fn}); "
        f"held for review as likely misreads of a permit holder: {tally.review} "
        f"({tally.review_gas_cases} of them true GAS cases); "
        f"correct decisions on correctly read plates: {_share(tally.correct_read, tally.read_right)}; "
        f"on all reads: {_share(tally.correct_all, tally.decided)}; "
        f"{tally.undecided} read accesses without a decision; "
        f"{tally.unread} accesses not read by the camera (not counted)"
    )
    return tally.lower, note
