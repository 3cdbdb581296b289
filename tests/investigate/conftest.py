"""Fixtures: the simulated demo town stored in a real store (once per session), the door and an audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from cordon.auth.roles import Role
from cordon.evaluate import Evaluation, validated_reads
from cordon.investigate import (
    Consultation,
    ConsultationPurpose,
    Investigation,
    InvestigationDb,
    LocalConsultant,
    build_investigation,
)
from cordon.investigate.index import SearchIndex
from cordon.runtime import Runtime, build_runtime
from cordon.settings import RulesSettings, Settings
from cordon.sim import NoiseSettings
from cordon.sim.output import read_truth
from cordon.sim.truth import TruthRecord
from tests.conftest import DEMO_ZONE
from tests.simtown import simulate_town

T = TypeVar("T", bound=TruthRecord)
INVESTIGATOR = LocalConsultant("inspector.peeters", Role.INVESTIGATOR)
OPERATOR = LocalConsultant("dispatch.janssens", Role.OPERATOR)
JUDICIAL = Consultation(
    purpose=ConsultationPurpose.JUDICIAL, reason="series of burglaries in Zele", offence_type="burglary",
    case_reference="PV DE.20.L1.012345/2026",
)  # fmt: skip


@dataclass
class StoredTown:
    """The demo town's simulated week in a store, with its truth and the door on top."""

    runtime: Runtime
    investigation: Investigation
    truth: list[TruthRecord]
    end: datetime

    def of_kind(self, kind: type[T]) -> list[T]:
        return [record for record in self.truth if isinstance(record, kind)]


def store_town(
    folder: Path, noise: NoiseSettings, days: float = 7, vehicles: int = 2500, index: bool = False
) -> StoredTown:
    """The town in a store; with `index`, brought into the search index (else every search reads its tail)."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    town = simulate_town(folder, noise, end=end, days=days, vehicles=vehicles, seed=11)
    settings = Settings(data_dir=folder / "data", zone_file=DEMO_ZONE, rules=RulesSettings(enabled=False))
    runtime = build_runtime(settings)
    limits = settings.ingest.model_copy(update={"max_age_s": (days + 1) * 86_400})
    batch = []
    for read in validated_reads(town.reads, runtime.zone, limits, Evaluation()):
        batch.append(read)
        if len(batch) >= 10_000:
            runtime.store.append(batch)
            batch = []
    runtime.store.append(batch)
    if index:
        SearchIndex(InvestigationDb.for_settings(settings)).catch_up()
    return StoredTown(runtime, build_investigation(runtime), list(read_truth(town.truth)), end)


@pytest.fixture(scope="session")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoredTown]:
    """A week of the demo town without camera noise: the truth is exact, so the answers are known."""
    stored = store_town(tmp_path_factory.mktemp("town"), NoiseSettings.off())
    yield stored
    stored.investigation.db.close()
    stored.runtime.stop()


@pytest.fixture(scope="session")
def noisy_town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoredTown]:
    """Two days of the town with the cameras' default imperfection (misreads, misses, top-N candidates)."""
    stored = store_town(tmp_path_factory.mktemp("noisy"), NoiseSettings(), days=2, index=True)
    yield stored
    stored.investigation.db.close()
    stored.runtime.stop()


@pytest.fixture
def fresh(settings: Settings) -> Iterator[Callable[..., Investigation]]:
    """A runtime on an empty store (small zone); call it for its `Investigation`."""
    runtime = build_runtime(settings.model_copy(update={"rules": RulesSettings(enabled=False)}))
    built: list[Investigation] = []

    def make(**fields: object) -> Investigation:
        investigation = build_investigation(runtime)
        for name, value in fields.items():
            setattr(investigation, name, value)
        built.append(investigation)
        return investigation

    make.runtime = runtime  # type: ignore[attr-defined]
    yield make
    for investigation in built:
        investigation.db.close()
    runtime.stop()
