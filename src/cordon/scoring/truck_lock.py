"""Score the truck-lock rule against the simulator's truth (`truck_stay` records with `candidate: true`).

A candidate violation is right when its two evidence reads are the very entry and exit reads, by (camera,
event id), of a stay the truth calls a candidate (a heavy goods vehicle's transit without a valid permit).
Candidates whose entry or exit the camera missed (no event id) cannot be found from the reads and are left out
of the score (the note counts them); those with a misread plate stay in, as misses (the note counts those too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cordon.config.zone import ZoneConfig
from cordon.evaluate import Score
from cordon.rules.base import Decision
from cordon.sim import read_truth
from cordon.sim.truth import Passage, TruckStay

RULE_TYPE = "truck_lock"
ReadKey = tuple[str, str]
StayKey = tuple[ReadKey, ReadKey]


def _stay(read_ids: tuple[tuple[str, str], ...]) -> StayKey:
    (entry_camera, entry_event), (exit_camera, exit_event) = read_ids[0], read_ids[-1]
    return (entry_camera, entry_event), (exit_camera, exit_event)


@dataclass(frozen=True, slots=True)
class TruckLockTruth:
    """What the truth says the rule should find, joined by read keys."""

    candidates: frozenset[StayKey]  # transits without a permit, both passages read
    other_stays: frozenset[StayKey]  # heavy stays that are local traffic or covered by a permit
    misread: frozenset[ReadKey]  # reads whose plate is not the vehicle's
    unread: int  # candidates with a passage no camera read: cannot be found, not scored


def read_truck_truth(truth_path: Path) -> TruckLockTruth:
    """The truck-lock part of a truth file."""
    candidates: set[StayKey] = set()
    other_stays: set[StayKey] = set()
    misread: set[ReadKey] = set()
    unread = 0
    for record in read_truth(truth_path):
        if isinstance(record, Passage):
            if record.event_id is not None and record.read_plate != record.plate:
                misread.add((record.camera, record.event_id))
        elif isinstance(record, TruckStay):
            if record.entry_event is None or record.exit_event is None:
                unread += record.candidate
                continue
            stay = ((record.entry_camera, record.entry_event), (record.exit_camera, record.exit_event))
            (candidates if record.candidate else other_stays).add(stay)
    return TruckLockTruth(frozenset(candidates), frozenset(other_stays), frozenset(misread), unread)


def found_stays(decision: Decision) -> set[StayKey]:
    """The (entry, exit) reads of the rule's candidate violations."""
    return {_stay(v.read_ids) for v in decision.violations if v.rule_type == RULE_TYPE}


def score_truck_lock(zone: ZoneConfig, decision: Decision, truth_path: Path) -> tuple[Score, str]:
    """Candidate violations vs the truth's candidate stays, joined by their entry and exit reads."""
    truth = read_truck_truth(truth_path)
    found = found_stays(decision)
    by_camera = sum(
        1 for v in decision.violations if v.rule_type == RULE_TYPE and v.facts.get("class_source") == "camera"
    )
    missed = truth.candidates - found
    missed_misread = sum(1 for entry, exit_ in missed if entry in truth.misread or exit_ in truth.misread)
    score = Score(tp=len(found & truth.candidates), fp=len(found - truth.candidates), fn=len(missed))
    note = (
        f"{len(found)} candidates, {by_camera} by camera class; false on local or permitted stays: "
        f"{len(found & truth.other_stays)}; misses on a misread plate: {missed_misread}; {truth.unread} true "
        "candidates with an unread passage (not counted)"
    )
    return score, note
