"""`cordon flows score`: the flows pipeline's figures against the simulator's ground truth.

The reads go through the same checks as live ingest (`cordon.evaluate.validated_reads`), then through the
real flows pipeline (recorder, daily secrets, flow store, day closing, with the delivery time as the clock)
into a temporary flow store; the figures are compared with what really happened:

- **counts**: passages per camera and local day; the figure divided by the camera's capture rate (the
  calibration a planner does with a manual count) against the true passages;
- **OD**: gate trips (entry, then the vehicle's next gate passage an exit, the same local day) per gate pair;
  a trip is seen only when both reads link (read right, or misread only by look-alike characters), so the
  figure is divided by the two gates' measured rates of linking reads (true passages read so ÷ true passages
  at the gate's cameras: what a planner's manual count at the gate measures; it differs from the camera's
  nominal rate where foreign plates, misread more often, are common);
- **through share** per gate pair: trips in and out within N minutes among the pair's trips, in points,
  against the truth over the days the figure publishes (a day whose through or other trips of the pair are
  fewer than k is hidden, and the share is over the other days) and, for information, over every day: the
  difference is what hiding small day cells costs;
- **heavy share** per camera, and **section travel times** (median), for information.

Cells under `min_truth` true events are left out of the error figures (their sampling noise alone exceeds
the targets); the counts of cells compared are printed with the figures.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from cordon.config.zone import Purpose, ZoneConfig
from cordon.errors import CordonError
from cordon.evaluate import Evaluation, validated_reads
from cordon.flows.pipeline import FlowPipeline, ReplayClock, build_pipeline
from cordon.flows.records import HEAVY_CLASSES, local_day
from cordon.flows.service import FlowsService
from cordon.flows.suppress import split_publishable
from cordon.plates import lookalike_key
from cordon.records import PlateRead
from cordon.settings import FlowsSettings, IngestSettings, Settings
from cordon.sim import read_truth
from cordon.sim.truth import CameraTruth, Passage, VehicleTruth


def replay(pipeline: FlowPipeline, clock: ReplayClock, reads: Iterable[PlateRead], chunk: int = 5000) -> int:
    """Feed reads (delivery order) through the pipeline as the sink would, with their delivery time as the
    clock (`clock` must be the pipeline's); returns how many flow records were written."""
    written = 0
    batch: list[PlateRead] = []
    for read in reads:
        batch.append(read)
        if len(batch) >= chunk:
            written += _replay_batch(pipeline, clock, batch)
            batch = []
    if batch:
        written += _replay_batch(pipeline, clock, batch)
    return written


def _replay_batch(pipeline: FlowPipeline, clock: ReplayClock, batch: list[PlateRead]) -> int:
    clock.advance(batch[0].date_received)
    written = pipeline.record(batch)
    pipeline.close_due_days(clock.advance(batch[-1].date_received))
    return written


@dataclass
class Errors:
    """Relative (or, for shares, absolute) errors of the compared cells, with each cell's size (true events)."""

    values: list[float] = field(default_factory=list)  # |error|
    signed: list[float] = field(default_factory=list)  # ours - truth (relative, or in share points)
    sizes: list[int] = field(default_factory=list)

    def add(self, error: float, size: int) -> None:
        self.values.append(abs(error))
        self.signed.append(error)
        self.sizes.append(size)

    def to_json(self) -> dict[str, float | int | None]:
        if not self.values:
            return {"cells": 0, "max": None, "mean": None}
        return {"cells": len(self.values), "max": round(max(self.values), 5),
                "mean": round(sum(self.values) / len(self.values), 5)}  # fmt: skip


@dataclass
class FlowScore:
    """How the figures compare with the truth."""

    reads: int = 0
    records: int = 0
    counts: Errors = field(default_factory=Errors)  # counts / capture rate vs every true passage
    counts_read: Errors = field(default_factory=Errors)  # counts vs the true passages the cameras read
    od: Errors = field(default_factory=Errors)  # trips / (the gates' measured rates of linking reads) vs true trips
    od_seen: Errors = field(default_factory=Errors)  # trips vs true trips read at both ends by linking reads
    through: Errors = field(default_factory=Errors)  # absolute, in share points (0-1), over the published days
    through_all_days: Errors = field(default_factory=Errors)  # the same against every day's trips
    heavy: Errors = field(default_factory=Errors)  # absolute
    section_median: Errors = field(default_factory=Errors)  # relative
    overall_through: tuple[float | None, float | None] = (None, None)  # (ours, truth)

    def to_json(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "records": self.records,
            "counts_vs_read_passages": self.counts_read.to_json(),
            "counts_expanded_vs_all_passages": self.counts.to_json(),
            "od_vs_trips_read_at_both_ends": self.od_seen.to_json(),
            "od_expanded_vs_all_trips": self.od.to_json(),
            "through_share_error_points": self.through.to_json(),
            "through_share_error_points_all_days": self.through_all_days.to_json(),
            "through_share_overall": {"ours": self.overall_through[0], "truth": self.overall_through[1]},
            "heavy_share_error_points": self.heavy.to_json(),
            "section_median_relative_error": self.section_median.to_json(),
        }


@dataclass
class _Truth:
    passages: Counter[tuple[str, str]] = field(default_factory=Counter)  # (camera, day)
    read: Counter[tuple[str, str]] = field(default_factory=Counter)  # (camera, day): passages the camera read
    seen_trips: Counter[tuple[str, str]] = field(default_factory=Counter)  # both ends read by linking reads
    heavy: Counter[str] = field(default_factory=Counter)
    known: Counter[str] = field(default_factory=Counter)
    trips: Counter[tuple[str, str]] = field(default_factory=Counter)
    fast: Counter[tuple[str, str]] = field(default_factory=Counter)
    day_trips: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (origin, destination, day)
    day_fast: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    gate_passages: Counter[str] = field(default_factory=Counter)  # gate -> true passages at its cameras
    gate_read_right: Counter[str] = field(default_factory=Counter)  # gate -> those read by a linking read
    sections: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    capture: dict[str, float] = field(default_factory=dict)
    misread: dict[str, float] = field(default_factory=dict)


def _truth(zone: ZoneConfig, records: Iterator[Any], cameras: set[str], through_s: float) -> _Truth:
    truth = _Truth()
    tz = zone.zone.timezone
    gate_of = {c: gate.id for gate in zone.gates for c in gate.cameras}
    entry_of = {s.entry_camera: s.id for s in zone.sections}
    exit_of = {s.exit_camera: s.id for s in zone.sections}
    heavy_vehicles: set[str] = set()
    last_gate: dict[str, Passage] = {}
    section_start: dict[tuple[str, str], Passage] = {}
    for record in records:
        if isinstance(record, CameraTruth):
            truth.capture[record.camera] = record.capture_rate
            truth.misread[record.camera] = record.misread_rate
        elif isinstance(record, VehicleTruth) and record.vehicle_type in HEAVY_CLASSES:
            heavy_vehicles.add(record.vehicle)
        if not isinstance(record, Passage) or record.camera not in cameras:
            continue
        day = local_day(record.at, tz)
        truth.passages[(record.camera, day)] += 1
        truth.read[(record.camera, day)] += record.event_id is not None
        truth.known[record.camera] += 1
        truth.heavy[record.camera] += record.vehicle in heavy_vehicles
        if record.camera in gate_of and record.movement in ("entry", "exit"):
            truth.gate_passages[gate_of[record.camera]] += 1
            truth.gate_read_right[gate_of[record.camera]] += _read_right(record)
            before = last_gate.get(record.vehicle)
            last_gate[record.vehicle] = record
            paired = before is not None and before.movement == "entry" and record.movement == "exit"
            if paired and before is not None and local_day(before.at, tz) == day:
                pair = (gate_of[before.camera], gate_of[record.camera])
                fast = (record.at - before.at).total_seconds() <= through_s
                truth.trips[pair] += 1
                truth.seen_trips[pair] += _read_right(before) and _read_right(record)
                truth.fast[pair] += fast
                truth.day_trips[(*pair, day)] += 1
                truth.day_fast[(*pair, day)] += fast
        if record.camera in exit_of:
            start = section_start.pop((record.vehicle, exit_of[record.camera]), None)
            if start is not None and local_day(start.at, tz) == day:
                seconds = (record.at - start.at).total_seconds()
                if 0 < seconds <= 7200:
                    truth.sections[exit_of[record.camera]].append(seconds)
        if record.camera in entry_of:
            section_start[(record.vehicle, entry_of[record.camera])] = record
    return truth


def score_flows(
    zone: ZoneConfig,
    reads_path: Path,
    truth_path: Path,
    *,
    flows: FlowsSettings | None = None,
    min_truth: int = 200,
) -> FlowScore:
    """Run the reads through the flows pipeline and compare the figures with the truth."""
    if not reads_path.is_file() or not truth_path.is_file():
        missing = reads_path if not reads_path.is_file() else truth_path
        raise CordonError("file_not_found", f"{missing}: no such file")
    flows = flows or FlowsSettings(persist_secret=False)
    score = FlowScore()
    with tempfile.TemporaryDirectory(prefix="cordon-flows-score-") as tmp:
        settings = Settings(data_dir=Path(tmp), flows=flows)
        clock = ReplayClock(datetime(1970, 1, 1, tzinfo=UTC))
        pipeline = build_pipeline(settings, zone, clock)
        counts = Evaluation()
        score.records = replay(pipeline, clock, validated_reads(reads_path, zone, IngestSettings(), counts))
        score.reads = counts.reads
        pipeline.finish()
        service = FlowsService(pipeline.store, zone, k=flows.k_threshold, through_minutes=flows.through_minutes)
        cameras = set(pipeline.recorder.cameras)
        truth = _truth(zone, read_truth(truth_path), cameras, flows.through_minutes * 60)
        _compare(score, service, truth, min_truth, flows.k_threshold)
        pipeline.store.close()
    return score


def _read_right(passage: Passage) -> bool:
    """Whether the passage's read links to the vehicle's other reads: read right, or misread by look-alikes."""
    return passage.event_id is not None and (
        passage.read_plate == passage.plate
        or (passage.read_plate is not None and lookalike_key(passage.read_plate) == lookalike_key(passage.plate))
    )


def _rate(truth: _Truth, gate: str) -> float:
    """The gate's measured rate of correct reads (the planner's calibration by a manual count)."""
    return truth.gate_read_right[gate] / truth.gate_passages[gate] if truth.gate_passages[gate] else 1.0


def _compare(score: FlowScore, service: FlowsService, truth: _Truth, min_truth: int, k: int) -> None:
    counts = service.counts(None, None, "day", ["camera"])
    ours: Counter[tuple[str, str]] = Counter()
    for row in counts.rows:
        if row.count is not None and row.camera is not None:
            ours[(row.camera, row.start.date().isoformat())] += row.count
    for (camera, day), true in truth.passages.items():
        if true >= min_truth:
            estimate = ours[(camera, day)] / truth.capture.get(camera, 1.0)
            score.counts.add((estimate - true) / true, true)
            read = truth.read[(camera, day)]
            score.counts_read.add((ours[(camera, day)] - read) / read, read)
    od = service.od(None, None)
    for cell in od.cells:
        true = truth.trips[(cell.origin, cell.destination)]
        if cell.trips is not None and true >= min_truth:
            rate = _rate(truth, cell.origin) * _rate(truth, cell.destination)
            score.od.add((cell.trips / rate - true) / true, true)
            seen = truth.seen_trips[(cell.origin, cell.destination)]
            score.od_seen.add((cell.trips - seen) / seen, seen)
    through = service.through(None, None)
    published = _published_share_days(service, through.minutes, k)
    for pair_row in through.rows:
        pair = (pair_row.origin, pair_row.destination)
        if pair_row.share is not None and truth.trips[pair] >= min_truth:
            days = published[pair]
            shown = sum(truth.day_trips[(*pair, day)] for day in days)
            shown_fast = sum(truth.day_fast[(*pair, day)] for day in days)
            if shown:
                score.through.add(pair_row.share - shown_fast / shown, truth.trips[pair])
            score.through_all_days.add(pair_row.share - truth.fast[pair] / truth.trips[pair], truth.trips[pair])
    total = sum(truth.trips.values())
    score.overall_through = (through.share, round(sum(truth.fast.values()) / total, 4) if total else None)
    for heavy_row in service.heavy_share(None, None).rows:
        known = truth.known[heavy_row.camera]
        if heavy_row.share is not None and known >= min_truth:
            score.heavy.add(heavy_row.share - truth.heavy[heavy_row.camera] / known, known)
    for tt in service.travel_times(None, None).rows:
        values = truth.sections.get(tt.origin)
        if tt.kind == "section" and tt.median_s is not None and values and len(values) >= min_truth:
            true_median = median(values)
            score.section_median.add((tt.median_s - true_median) / true_median, len(values))


def _published_share_days(service: FlowsService, minutes: float, k: int) -> dict[tuple[str, str], list[str]]:
    """Per gate pair, the days whose through-share atom the figure publishes (both parts 0 or ≥ k)."""
    days: dict[tuple[str, str], list[str]] = defaultdict(list)
    for atom in service.store.trip_atoms("0000-00-00", "9999-99-99", minutes * 60):
        if split_publishable(atom.through, atom.trips, k):
            days[(atom.origin, atom.destination)].append(atom.day)
    return days


def statistics_cameras(zone: ZoneConfig) -> list[str]:
    """The cameras authorised for traffic statistics."""
    return [c.id for c in zone.cameras if Purpose.TRAFFIC_STATISTICS in c.purposes]
