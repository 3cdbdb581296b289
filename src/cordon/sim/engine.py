"""The simulation loop: day by day, traffic makes passages, cameras make reads, the analyser finds the truth.

Deterministic: two seeded `random.Random` streams (traffic, camera noise), no global state, no wall clock. The
traffic stream never depends on the noise settings, so a run with noise off has exactly the same vehicles and
passages as the same run with noise on: only the reads differ.

>>> from cordon.config import load_zone
>>> from cordon.demo import demo_zone_path
>>> from datetime import datetime, UTC
>>> settings = SimSettings(days=1, end=datetime(2026, 11, 27, tzinfo=UTC), vehicles_per_day=500)
>>> sim = Simulation(load_zone(demo_zone_path()), settings)
>>> chunks = list(sim.run())
>>> sum(len(c.reads) for c in chunks) > 500
True
"""

from __future__ import annotations

import bisect
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cordon.config.zone import ZoneConfig
from cordon.sim.actors import Actors
from cordon.sim.calendar import HOUR, Calendar, from_ms, to_ms
from cordon.sim.demand import Demand
from cordon.sim.events import TruthAnalyser
from cordon.sim.fleet import Fleet
from cordon.sim.noise import Cameras, Delivery
from cordon.sim.roads import RoadModel
from cordon.sim.settings import NoiseSettings, SimSettings
from cordon.sim.trips import MobileSchedule, PassageTuple, Traffic
from cordon.sim.truth import (
    TRUTH_FORMAT_VERSION,
    HotlistEntryTruth,
    Passage,
    PermitTruth,
    RunInfo,
    Summary,
    TruthRecord,
)

#: Progress callback: (simulated time done, total), both in ms since the start of the period.
Progress = Callable[[int, int], None]

_LATE_MS = 5_000  # a read delivered this long after the passage counts as late in the summary


@dataclass(slots=True)
class Chunk:
    """What one step of the simulation produced: reads in delivery order, truth records in time order."""

    reads: list[Delivery] = field(default_factory=list)
    truth: list[TruthRecord] = field(default_factory=list)


class Simulation:
    """A simulated town over days: build it, then iterate `run()` once."""

    def __init__(self, zone: ZoneConfig, settings: SimSettings, noise: NoiseSettings | None = None) -> None:
        self.zone = zone
        self.settings = settings
        self.noise = noise if noise is not None else NoiseSettings()
        self.start_ms, self.end_ms = to_ms(settings.start), to_ms(settings.end)
        traffic_rng = random.Random(f"cordon-sim:{settings.seed}:traffic")
        noise_rng = random.Random(f"cordon-sim:{settings.seed}:noise")
        self.road = RoadModel(zone)
        self.calendar = Calendar(zone.zone.timezone, self.start_ms, self.end_ms)
        self.fleet = Fleet(traffic_rng, self.road, settings.mix.lead_foot_rate)
        self.traffic = Traffic(self.road, traffic_rng, settings.mix, MobileSchedule())
        self.demand = Demand(settings, self.road, self.fleet, self.traffic)
        self.actors = Actors(self.demand, self.calendar)
        self.cameras = Cameras(self.road, self.noise, noise_rng, self.start_ms, self.end_ms)
        self.analyser = TruthAnalyser(
            self.road, self.calendar, settings.patterns, self.actors.hotlist, self.actors.permits
        )
        self.counts: Counter[str] = Counter()
        self._pending: list[tuple[int, int, Delivery]] = []
        self._unsorted = False
        self._names = [c.id for c in self.road.cameras]
        self._movement = {
            (i, lane.id): lane.movement.value for i, c in enumerate(self.road.cameras) for lane in c.lanes
        }
        self._spots = [self.road.latlon(x, y) for x, y in self.road.spots]
        self._gate_cameras = {self.road.camera_index[c] for gate in zone.gates for c in gate.cameras}
        self._permits_of: dict[str, tuple[str, ...]] = {}
        for permit in self.permits:
            self._permits_of[permit.vehicle] = (*self._permits_of.get(permit.vehicle, ()), permit.permit)
        self._hotlist_of: dict[str, tuple[str, ...]] = {}
        for entry in self.hotlist:
            if entry.vehicle is not None:
                self._hotlist_of[entry.vehicle] = (*self._hotlist_of.get(entry.vehicle, ()), entry.entry)

    @property
    def hotlist(self) -> list[HotlistEntryTruth]:
        """The hotlist entries the simulation placed."""
        return self.actors.hotlist

    @property
    def permits(self) -> list[PermitTruth]:
        """The permits and exemptions the simulation issued."""
        return self.actors.permits

    def run(self, progress: Progress | None = None) -> Iterator[Chunk]:
        """Simulate the period; yields the header, then one chunk per simulated hour, then the end of the period.

        Trips are generated a local day at a time; the passages of the day are then flushed hour by hour (small
        chunks: a live feed starts at once, memory stays flat)."""
        yield self._counted(Chunk(truth=[self._run_info(), *self.cameras.truth(), *self.hotlist, *self.permits]))
        for day in self.calendar.days:
            self.demand.generate(day)
            self.actors.generate(day)
            self._unsorted = True
            boundary = day.start
            while boundary < min(day.end, self.end_ms):
                boundary = min(boundary + HOUR, day.end, self.end_ms)
                if boundary > self.start_ms:
                    yield self._counted(self._flush(boundary, progress))
            if boundary >= self.end_ms:
                break
        last = self._flush(self.end_ms, progress)
        self.analyser.finish(last.truth)
        self._pending.sort()
        last.reads.extend(delivery for _, _, delivery in self._pending)
        self._pending.clear()
        self._counted(last)
        self.counts["sequence_errors"] = self.analyser.sequence_errors
        last.truth.append(Summary(dict(sorted(self.counts.items()))))
        yield last

    def _counted(self, chunk: Chunk) -> Chunk:
        for record in chunk.truth:
            self.counts[record.kind] += 1
        return chunk

    def _run_info(self) -> RunInfo:
        return RunInfo(
            format_version=TRUTH_FORMAT_VERSION,
            zone=self.zone.zone.id,
            seed=self.settings.seed,
            start=from_ms(self.start_ms),
            end=from_ms(self.end_ms),
            vehicles_per_day=self.settings.vehicles_per_day,
            noise=self.noise.model_dump(mode="json"),
            patterns=self.settings.patterns.model_dump(mode="json"),
            reads_order="delivery",
        )

    def _flush(self, boundary: int, progress: Progress | None) -> Chunk:
        """Every passage before `boundary`, in time order, through the cameras and the analyser."""
        buffer = self.traffic.passages
        if self._unsorted:
            buffer.sort()
            self._unsorted = False
        split = bisect.bisect_left(buffer, (boundary,))
        ready: list[PassageTuple] = buffer[:split]
        self.traffic.passages = buffer[split:]
        chunk = Chunk()
        truth, pending = chunk.truth, self._pending
        vehicles, names, movement, counts = self.fleet.vehicles, self._names, self._movement, self.counts
        read, observe, gates = self.cameras.read, self.analyser.observe, self._gate_cameras
        total = self.end_ms - self.start_ms
        if ready:
            self.analyser.start_day(self.calendar.day_of(boundary - 1).date)
        for at, seq, index, camera, lane, spot in ready:
            if at < self.start_ms:
                continue
            vehicle = vehicles[index]
            if not vehicle.seen:
                vehicle.seen = True
                key = vehicle.id
                truth.append(vehicle.truth(self._permits_of.get(key, ()), self._hotlist_of.get(key, ())))
            delivery = read(at, vehicle, camera, lane, spot)
            event_id: str | None = None
            read_plate: str | None = None
            if delivery is not None:
                event_id = delivery.read["eventId"]
                read_plate = delivery.plate
                pending.append((delivery.deliver_at_ms, seq, delivery))
                counts["reads"] += 1
                counts["misreads"] += read_plate != vehicle.plate.plate
                counts["late_reads"] += delivery.deliver_at_ms - at > _LATE_MS
            lat, lon = self._spots[spot] if spot >= 0 else (None, None)
            moves = movement[(camera, lane)]
            truth.append(Passage(vehicle.id, vehicle.plate.plate, names[camera], lane, moves, from_ms(at), event_id,
                                 read_plate, lat, lon))  # fmt: skip
            if moves == "entry" and camera in gates:
                counts["gate_entries"] += 1
            observe(at, vehicle, camera, lane, event_id, truth)
        pending.sort()
        split = bisect.bisect_left(pending, (boundary,))
        chunk.reads = [delivery for _, _, delivery in pending[:split]]
        del pending[:split]
        if progress is not None:
            progress(min(boundary, self.end_ms) - self.start_ms, total)
        return chunk
