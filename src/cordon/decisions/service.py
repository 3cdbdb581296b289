"""The rules inside a Cordon process: engine, runner, decision store, publisher and live hub, built together.

Start order matters: `start()` replays the stored reads of the rules' horizon (their state is rebuilt, and
nothing already decided is raised again) before the caller opens ingest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cordon.config import ZoneConfig
from cordon.decisions.pipeline import AlertHub, DecisionPipeline, replay
from cordon.decisions.publisher import MqttPublisher
from cordon.decisions.store import DecisionStore
from cordon.hotlists.service import ReferenceService
from cordon.hotlists.store import ReferenceStore
from cordon.records import PlateRead
from cordon.reference import ReferenceData, load_fixtures
from cordon.rules import RuleEngine, build_rules
from cordon.rules.base import merge
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
    references: ReferenceService
    replayed: int = 0
    started: bool = False
    watch_s: float = 2.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _watch: threading.Thread | None = None

    def start(self, store: Store) -> None:
        if self.started:
            return
        if self.publisher is not None:
            self.publisher.start()
        self.pipeline.start()
        self.replayed = replay(self.engine, store, self.pipeline)
        self.pipeline.flush()
        log.info(
            "rules running: %s; %d stored reads replayed to rebuild their state; MQTT out %s",
            ", ".join(f"{rule.id} ({rule.type})" for rule in self.engine.rules) or "none",
            self.replayed,
            "on" if self.publisher is not None else "off",
        )
        self.runner.start()
        self.started = True
        self._stop.clear()
        self._watch = threading.Thread(target=self._watch_reference, name="cordon-reference-watch", daemon=True)
        self._watch.start()

    def decide_unstored(self, reads: Sequence[PlateRead]) -> None:
        """The store refused these reads (their senders will resend): judge them now with the rules that act
        without the store, so a permit holder still passes the bollard and a wanted vehicle still raises an
        alert. Writer thread: the work is queued on the rules' thread."""
        rules = [rule for rule in self.engine.rules if rule.acts_without_store]
        if not rules:
            return
        log.warning("the store refused %d reads: judging them without it (bollards, hotlists)", len(reads))

        def judge() -> None:
            decisions = []
            for read in reads:
                for rule in rules:
                    cameras = rule.cameras()
                    if cameras is None or read.observed_by in cameras:
                        decisions.append(rule.decide(read, None)[1])
            decision = merge(decisions)
            if decision:
                self.pipeline(decision)

        self.runner.call_soon(judge)

    def _watch_reference(self) -> None:
        """Pick up reference data changed by another process (`cordon hotlists import` beside `serve`)."""
        while not self._stop.wait(self.watch_s):
            try:
                self.references.refresh_if_changed()
            except Exception:
                log.exception("reading the reference tables failed; the rules keep what they have")

    def stop(self) -> None:
        """Finish what is queued, then close."""
        if self.started:
            self._stop.set()
            if self._watch is not None:
                self._watch.join(self.watch_s + 5)
            self.runner.stop()
            self.pipeline.stop()
            if self.publisher is not None:
                self.publisher.stop()
            self.started = False
        self.decisions.close()
        self.references.store.close()


def load_reference(folder: Path | None) -> ReferenceData:
    """The reference data of `folder` (none: empty); rejected lines are logged with their line numbers."""
    if folder is None:
        return ReferenceData()
    reference, rejected = load_fixtures(folder)
    for line in rejected:
        log.warning("reference data: %s", line)
    return reference


def build_rule_service(
    settings: Settings, zone: ZoneConfig, store: Store, database: Path, reference: ReferenceData | None = None
) -> RuleService:
    """The zone's rules, deciding into `database`, over the reference data of the store's tables merged with
    `reference` (default: the CSV files of `settings.rules.reference_dir`)."""
    fixed = reference if reference is not None else load_reference(settings.rules.reference_dir)
    references = ReferenceService(ReferenceStore(database), store, zone, fixed)
    current = references.current()
    rules, missing = build_rules(zone, current)
    for rule_id in missing:
        log.warning("rule %s is not run: no implementation of its type is installed", rule_id)
    engine = RuleEngine(rules, grace_s=settings.rules.grace_s)
    decisions = DecisionStore(database)
    publisher = MqttPublisher(settings.mqtt, decisions.mark_delivery) if settings.rules.mqtt_out else None
    hub = AlertHub()
    pipeline = DecisionPipeline(decisions, hub, publisher, batch_s=settings.rules.save_batch_ms / 1000)
    runner = RuleRunner(engine, [pipeline])
    service = RuleService(engine, runner, decisions, hub, pipeline, publisher, current, references)
    references.attach(service)
    return service
