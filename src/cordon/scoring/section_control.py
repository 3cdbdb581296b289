"""Score the section-control rule against the simulator's truth (`section_speed` records with `violation`).

A violation is right when it pairs the very entry and exit reads of a true violation (joined by camera and event
id). The expected set holds the true violations whose two passages were both read and whose two cameras' clocks
were within tolerance at those passages (the truth's `camera` records give each clock's offset and drift; a
violation timed by a clock out of sync must not be fined, so it is left out of the expected set, and fining it
counts as a false positive). Chain violations (first entry to last exit of chained sections) have no truth
record and are counted in the note only. The note also says why the misses were missed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cordon.config.zone import ZoneConfig
from cordon.evaluate import Score
from cordon.rules.base import Decision
from cordon.sim import read_truth
from cordon.sim.truth import CameraTruth, Passage, RunInfo, SectionSpeed

RULE_TYPE = "section_control"
ReadKey = tuple[str, str]
Pair = tuple[ReadKey, ReadKey]


def clock_in_sync(camera: CameraTruth, start: datetime, moment: datetime) -> bool:
    """Whether the camera's true clock offset at `moment` was within its tolerance."""
    days = (moment - start).total_seconds() / 86_400
    return abs(camera.clock_offset_s + camera.clock_drift_s_per_day * days) <= camera.clock_tolerance_s


@dataclass(frozen=True, slots=True)
class SectionTally:
    """The rule's violations against the truth, counted."""

    score: Score
    true_violations: int  # every true violation in the truth
    unread: int  # ... left out: a passage the camera missed
    out_of_sync: int  # ... left out: a camera clock out of tolerance at the passage
    flagged: int  # ... on cameras the truth flags inSync false (over the whole period)
    misread_misses: int  # expected but missed, with a misread plate at one end (only exact plates pair)
    routes_agree: int  # true positives routed as the truth routes them
    refused: dict[str, int]  # fast pairs refused, by the finding's kind
    chains: int  # chain violations (no truth record, not scored)


def tally_section_control(zone: ZoneConfig, decision: Decision, truth_path: Path) -> SectionTally:
    """Join the rule's violations to the truth's violations by their entry and exit reads."""
    section_cameras = {c for s in zone.sections for c in (s.entry_camera, s.exit_camera)}
    start: datetime | None = None
    clocks: dict[str, CameraTruth] = {}
    violations: list[SectionSpeed] = []
    misread: set[ReadKey] = set()
    for record in read_truth(truth_path):
        if isinstance(record, RunInfo):
            start = record.start
        elif isinstance(record, CameraTruth):
            clocks[record.camera] = record
        elif isinstance(record, SectionSpeed) and record.violation:
            violations.append(record)
        elif isinstance(record, Passage) and record.camera in section_cameras and record.read_plate != record.plate:
            misread.add((record.camera, record.event_id or ""))
    if start is None:
        raise ValueError(f"{truth_path}: no `run` record")

    expected: dict[Pair, SectionSpeed] = {}
    unread = out_of_sync = flagged = 0
    for v in violations:
        if v.entry_event is None or v.exit_event is None:
            unread += 1
            continue
        entry_clock, exit_clock = clocks[v.entry_camera], clocks[v.exit_camera]
        flagged += not (entry_clock.in_sync and exit_clock.in_sync)
        if clock_in_sync(entry_clock, start, v.entry_at) and clock_in_sync(exit_clock, start, v.exit_at):
            expected[((v.entry_camera, v.entry_event), (v.exit_camera, v.exit_event))] = v
        else:
            out_of_sync += 1

    found: dict[Pair, str] = {}
    chains = 0
    for violation in decision.violations:
        if violation.rule_type != RULE_TYPE:
            continue
        if violation.facts.get("chain"):
            chains += 1
            continue
        (entry_camera, entry_event), (exit_camera, exit_event) = violation.read_ids[0], violation.read_ids[-1]
        found[((entry_camera, entry_event), (exit_camera, exit_event))] = violation.route.value
    hits = found.keys() & expected.keys()
    missed = expected.keys() - found.keys()
    return SectionTally(
        score=Score(tp=len(hits), fp=len(found.keys() - expected.keys()), fn=len(missed)),
        true_violations=len(violations),
        unread=unread,
        out_of_sync=out_of_sync,
        flagged=flagged,
        misread_misses=sum(1 for entry, exit_ in missed if entry in misread or exit_ in misread),
        routes_agree=sum(1 for pair in hits if found[pair] == expected[pair].route),
        refused=dict(sorted(Counter(f.kind for f in decision.findings if f.rule_type == RULE_TYPE).items())),
        chains=chains,
    )


def score_section_control(zone: ZoneConfig, decision: Decision, truth_path: Path) -> tuple[Score, str]:
    """Violations against the truth's violations; the note explains what was left out and what was missed."""
    t = tally_section_control(zone, decision, truth_path)
    refused = ", ".join(f"{kind} {n}" for kind, n in t.refused.items()) or "none"
    note = (
        f"{t.true_violations} true violations; {t.unread} left out with a passage not read, {t.out_of_sync} left "
        f"out with a camera clock out of tolerance at the passage ({t.flagged} on cameras the truth flags inSync "
        f"false); misses: {t.misread_misses} of {t.score.fn} had a misread plate (only exact plates pair); route "
        f"agrees on {t.routes_agree}/{t.score.tp}; refused fast pairs: {refused}"
        + (f"; {t.chains} chain violations not scored" if t.chains else "")
    )
    return t.score, note
