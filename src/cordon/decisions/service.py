"""The rules inside a Cordon process: engine, runner, decision store, publisher and live hub, built together.

Start order matters: `start()` replays the stored reads of the rules' horizon (their state is rebuilt, and
nothing already decided is raised again) before the caller opens ingest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cordon.config import ZoneConfig
from cordon.decisions.pipeline import AlertHub, DecisionPipeline, replay
from cordon.decisions.publisher import MqttPublisher
from cordon.decisions.store import DecisionStore
from cordon.reference import ReferenceData, load_fixtures
from cordon.rules import RuleEngine, build_rules
from cordon.rules.runner import RuleRunner
from cordon.settings import Settings
from cordon.store.base import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RuleService:
    """The running rules and where their decisions go."""

    engine: RuleEngine
    runner: RuleRunner
    decisions: DecisionStore
    hub: AlertHub
    pipeline: DecisionPipeline
    publisher: MqttPublisher | None
    reference: ReferenceData
    replayed: int = 0
    started: bool = False

    def start(self, store: Store) -> None:
        if self.started:
            return
        if self.publisher is not None:
            self.publisher.start()
        self.replayed = replay(self.engine, store, self.pipeline)
        self.runner.start()
        self.started = True

    def stop(self) -> None:
        """Finish what is queued, then close."""
        if self.started:
            self.runner.stop()
            if self.publisher is not None:
                self.publisher.stop()
            self.started = False
        self.decisions.close()


def load_reference(folder: Path | None) -> ReferenceData:
    """The reference data of `folder` (none: empty); rejected lines are logged with their line numbers."""
    if folder is None:
        return ReferenceData()
    reference, rejected = load_fixtures(folder)
    for line in rejected:
        log.warning("reference data: %s", line)
    return reference


def build_rule_service(
    settings: Settings, zone: ZoneConfig, database: Path, reference: ReferenceData | None = None
) -> RuleService:
    """The zone's rules over `reference` (default: `settings.rules.reference_dir`), deciding into `database`."""
    reference = reference if reference is not None else load_reference(settings.rules.reference_dir)
    rules, missing = build_rules(zone, reference)
    for rule_id in missing:
        log.warning("rule %s is not run: no implementation of its type is installed", rule_id)
    engine = RuleEngine(rules, grace_s=settings.rules.grace_s)
    decisions = DecisionStore(database)
    publisher = MqttPublisher(settings.mqtt, decisions.mark_delivery) if settings.rules.mqtt_out else None
    hub = AlertHub()
    pipeline = DecisionPipeline(decisions, hub, publisher)
    runner = RuleRunner(engine, [pipeline])
    return RuleService(engine, runner, decisions, hub, pipeline, publisher, reference)
