"""The simulated demo town for tests: reads, truth and the reference data its rules decide with, on disk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cordon.config import load_zone
from cordon.reference import ReferenceData, load_fixtures
from cordon.sim import NoiseSettings, SimSettings, Simulation, write_fixtures, write_reads, write_truth
from cordon.sim.output import clock_reports
from tests.conftest import DEMO_ZONE


@dataclass(frozen=True)
class SimulatedTown:
    """A simulated period of the demo town, written to `folder`."""

    reads: Path
    truth: Path
    reference: ReferenceData
    simulation: Simulation


def simulate_town(
    folder: Path, noise: NoiseSettings, *, end: datetime, days: float = 1, vehicles: int = 3000, seed: int = 7
) -> SimulatedTown:
    """Simulate, write reads and truth, and load the fixtures (hotlist, permits, registry, camera clocks) the
    way `cordon eval --fixtures` does; a fixture line that does not load fails the test."""
    settings = SimSettings(seed=seed, days=days, end=end, vehicles_per_day=vehicles)
    simulation = Simulation(load_zone(DEMO_ZONE), settings, noise)
    chunks = list(simulation.run())
    reads, truth = folder / "reads.jsonl", folder / "truth.jsonl"
    with reads.open("wb") as handle:
        write_reads((d for c in chunks for d in c.reads), handle)
    with truth.open("wb") as handle:
        write_truth((t for c in chunks for t in c.truth), handle)
    fixtures = folder / "fixtures"
    write_fixtures(fixtures, simulation.hotlist, simulation.permits, simulation.fleet.vehicles,
                   clock_reports(simulation.cameras))  # fmt: skip
    reference, rejected = load_fixtures(fixtures)
    assert rejected == [], rejected
    return SimulatedTown(reads, truth, reference, simulation)
