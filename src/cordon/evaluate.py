"""`cordon eval`: run a zone's rules over simulated reads exactly as the server would, and score every rule
against the simulator's ground truth (precision, recall, true and false positives, misses).

Each rule type that can be scored has a scorer here; a rule type without an implementation installed is
reported as such, never silently skipped. Scorers join decisions to the truth by the reads' (camera, event id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cordon.config.zone import ZoneConfig
from cordon.errors import CordonError
from cordon.ingest.validate import Prepared, prepare_read
from cordon.records import Finding, PlateRead
from cordon.reference import ReferenceData
from cordon.rules import Decision, RuleEngine, build_rules, merge
from cordon.settings import IngestSettings
from cordon.sim import read_deliveries, read_truth
from cordon.sim.truth import Passage, TruthRecord
from cordon.sim.truth import Unpaired as TruthUnpaired

ReadKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Score:
    """How a rule's conclusions compare with the truth."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @classmethod
    def of(cls, found: set[Any], truth: set[Any]) -> Score:
        """Conclusions compared with the truth, both as sets of the same keys."""
        return cls(tp=len(found & truth), fp=len(found - truth), fn=len(truth - found))

    def to_json(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Evaluation:
    """The outcome of a run: scores by rule type, plus what could not be scored and why."""

    reads: int = 0
    refused: int = 0
    scores: dict[str, Score] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, dict[str, float | int]]:
        return {rule_type: score.to_json() for rule_type, score in sorted(self.scores.items())}


def validated_reads(path: Path, zone: ZoneConfig, limits: IngestSettings, counts: Evaluation) -> Iterator[PlateRead]:
    """The reads of a simulator file, in delivery order, through the same checks as live ingest (the time of
    receipt is the delivery time); refused reads are counted and left out, as the server would."""
    for index, delivery in enumerate(read_deliveries(path)):
        camera = str(delivery.read.get("observedBy", ""))
        try:
            raw = delivery.to_read_in()
        except ValueError:
            counts.refused += 1
            continue
        outcome = prepare_read(
            raw, key_camera=camera, zone=zone, received=delivery.deliver_at, limits=limits, loc=f"line {index + 1}"
        )
        if isinstance(outcome, Prepared):
            counts.reads += 1
            yield outcome.read
        else:
            counts.refused += 1


def run_rules(
    zone: ZoneConfig,
    reads: Iterator[PlateRead],
    reference: ReferenceData | None = None,
    grace_s: float = 120.0,
    chunk: int = 2000,
) -> Decision:
    """The decisions of the zone's rules over `reads`, fed in chunks as the server's runner feeds them."""
    rules, _ = build_rules(zone, reference)
    engine = RuleEngine(rules, grace_s=grace_s)
    decisions: list[Decision] = []
    batch: list[PlateRead] = []
    for read in reads:
        batch.append(read)
        if len(batch) >= chunk:
            decisions.append(engine.process(batch))
            batch = []
    decisions.append(engine.process(batch))
    decisions.append(engine.flush())
    return merge(decisions)


# -- scorers -------------------------------------------------------------------------------------------------
# A scorer compares one rule type's decisions with the truth file; it is registered in the `cordon.scorers`
# entry points under the rule type, like the rules themselves.

Scorer = Callable[[ZoneConfig, Decision, Path], tuple[Score, str]]
SCORER_ENTRY_POINTS = "cordon.scorers"


def scorers() -> dict[str, Scorer]:
    """Scorers by rule type, from the `cordon.scorers` entry points."""
    return {entry.name: entry.load() for entry in entry_points(group=SCORER_ENTRY_POINTS)}


def _true_stays(zone: ZoneConfig, truth: Iterator[TruthRecord]) -> tuple[set[tuple[ReadKey, ReadKey]], int]:
    """Each vehicle's entry followed by its next exit at a gate, both read; and the truth's unpaired count."""
    gate_cameras = {camera for gate in zone.gates for camera in gate.cameras}
    last: dict[str, Passage] = {}
    stays: set[tuple[ReadKey, ReadKey]] = set()
    unpaired = 0
    for record in truth:
        if isinstance(record, TruthUnpaired):
            unpaired += 1
        if not isinstance(record, Passage) or record.camera not in gate_cameras:
            continue
        if record.movement not in ("entry", "exit"):
            continue
        previous = last.get(record.vehicle)
        last[record.vehicle] = record
        if previous is None or previous.movement != "entry" or record.movement != "exit":
            continue
        if previous.event_id is not None and record.event_id is not None:
            stays.add(((previous.camera, previous.event_id), (record.camera, record.event_id)))
    return stays, unpaired


def score_zone_closure(zone: ZoneConfig, decision: Decision, truth_path: Path) -> tuple[Score, str]:
    """Stays: a rule's `stay` is right when it pairs the very entry and exit reads of one vehicle's stay."""
    truth_stays, truth_unpaired = _true_stays(zone, read_truth(truth_path))
    found = {_pair(f) for f in decision.findings if f.rule_type == "zone_closure" and f.kind == "stay"}
    gaps = sum(1 for f in decision.findings if f.rule_type == "zone_closure" and f.kind.startswith("unpaired"))
    score = Score.of(found, truth_stays)
    note = f"{gaps} gaps reported (the truth has {truth_unpaired} vehicles inside at the start or the end)"
    return score, note


def _pair(finding: Finding) -> tuple[ReadKey, ReadKey]:
    first, second = finding.read_ids[0], finding.read_ids[-1]
    return (first[0], first[1]), (second[0], second[1])


def evaluate(
    zone: ZoneConfig,
    reads_path: Path,
    truth_path: Path,
    reference: ReferenceData | None = None,
    limits: IngestSettings | None = None,
) -> Evaluation:
    """Run the zone's rules over the reads and score each rule type that has a scorer. `reference` holds the
    hotlists, permits and registry the rules decide with (`cordon sim generate --fixtures`)."""
    if not reads_path.is_file() or not truth_path.is_file():
        missing = reads_path if not reads_path.is_file() else truth_path
        raise CordonError("file_not_found", f"{missing}: no such file")
    evaluation = Evaluation()
    limits = limits or IngestSettings()
    decision = run_rules(zone, validated_reads(reads_path, zone, limits, evaluation), reference)
    implemented = {rule.type for rule in build_rules(zone, reference)[0]}
    registered = scorers()
    for config in zone.rules:
        if not config.enabled or config.type in evaluation.scores or config.type in evaluation.notes:
            continue
        scorer = registered.get(config.type)
        if config.type not in implemented:
            evaluation.notes[config.type] = "no implementation installed yet"
        elif scorer is None:
            evaluation.notes[config.type] = "no scorer yet"
        else:
            evaluation.scores[config.type], evaluation.notes[config.type] = scorer(zone, decision, truth_path)
    return evaluation


def as_table_rows(evaluation: Evaluation) -> list[tuple[Any, ...]]:
    """(rule type, precision, recall, tp, fp, fn, note) per rule type of the zone."""
    rows: list[tuple[Any, ...]] = []
    for rule_type in sorted(evaluation.notes):
        score = evaluation.scores.get(rule_type)
        if score is None:
            rows.append((rule_type, "-", "-", "-", "-", "-", evaluation.notes[rule_type]))
        else:
            rows.append((rule_type, f"{score.precision:.2%}", f"{score.recall:.2%}", score.tp, score.fp, score.fn,
                         evaluation.notes[rule_type]))  # fmt: skip
    return rows
