"""Score the hotlist rule against the simulator's truth (`hotlist_passage` records).

An alert is right when it cites a read of a true hotlist passage for the very entry it names: the join is on
(entry, camera, event id). Passages the camera missed (no event id) cannot be alerted and are left out of the
misses. The note says how the alerts matched (exact, look-alike, edit distance) and why the false ones fired:
mostly the simulation's innocent look-alike *decoys*, which only a look-alike or fuzzy match can hit.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cordon.config.zone import ZoneConfig
from cordon.evaluate import Score
from cordon.records import Alert
from cordon.rules.base import Decision
from cordon.sim import read_truth
from cordon.sim.truth import HotlistEntryTruth, HotlistPassage, Passage, VehicleTruth

RULE_TYPE = "hotlist"
ReadKey = tuple[str, str]
Hit = tuple[str, ReadKey]  # (entry id, read)


def _hit(alert: Alert) -> Hit:
    camera, event_id = alert.read_ids[0]
    return (str(alert.details.get("entry")), (camera, event_id))


def score_hotlist(zone: ZoneConfig, decision: Decision, truth_path: Path) -> tuple[Score, str]:
    """(entry, read) pairs alerted vs the truth's hotlist passages that a camera read."""
    alerts = {_hit(a): a for a in decision.alerts if a.rule_type == RULE_TYPE}
    alerted_reads = {read for _, read in alerts}
    truth: set[Hit] = set()
    unread = 0
    role: dict[str, str] = {}
    listed_vehicles: dict[str, str] = {}  # entry id -> hotlisted vehicle
    passage_of: dict[ReadKey, Passage] = {}
    for record in read_truth(truth_path):
        if isinstance(record, Passage):
            if record.event_id is not None and (record.camera, record.event_id) in alerted_reads:
                passage_of[(record.camera, record.event_id)] = record
        elif isinstance(record, HotlistPassage):
            if record.event_id is None:
                unread += 1
            else:
                truth.add((record.entry, (record.camera, record.event_id)))
        elif isinstance(record, VehicleTruth):
            role[record.vehicle] = record.role
        elif isinstance(record, HotlistEntryTruth) and record.vehicle is not None:
            listed_vehicles[record.entry] = record.vehicle
    found = set(alerts)
    score = Score.of(found, truth)
    modes = Counter(str(a.details.get("match")) for a in alerts.values())
    false_modes = Counter(str(alerts[hit].details.get("match")) for hit in found - truth)
    causes = Counter(_cause(hit, passage_of.get(hit[1]), role, listed_vehicles) for hit in found - truth)
    note = (
        f"alerts by match: {_counts(modes)}; false by match: {_counts(false_modes)}; "
        f"false by cause: {_counts(causes)}; {unread} hotlist passages not read by any camera (not counted)"
    )
    return score, note


def _cause(hit: Hit, passage: Passage | None, role: dict[str, str], listed: dict[str, str]) -> str:
    if passage is None:
        return "read not in the truth"
    if listed.get(hit[0]) == passage.vehicle:
        return "listed vehicle outside its entry's validity"
    if role.get(passage.vehicle) == "decoy":
        return "decoy"
    if passage.read_plate != passage.plate:
        return "misread of another vehicle"
    return "another vehicle's similar plate"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items())) or "none"
