"""Build the running parts of Cordon from settings and a zone: store, writer, bus, ingest service.

`build_runtime` is the one factory; `cordon serve`, `cordon demo`, the CLI and the tests all use it, and
nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cordon.audit.log import AuditLog, CheckpointTask
from cordon.auth.service import Accounts, build_security
from cordon.bus import ReadBus
from cordon.config import ZoneConfig, load_zone
from cordon.decisions.service import RuleService, build_rule_service
from cordon.errors import CordonError
from cordon.flows.pipeline import FlowSink, build_flow_sink
from cordon.ingest.keys import KeyRing
from cordon.ingest.service import IngestService
from cordon.ingest.writer import GroupCommitWriter
from cordon.reference import ReferenceData
from cordon.settings import Settings
from cordon.store import Store, open_store
from cordon.store.images import ImageStore


@dataclass(slots=True)
class Runtime:
    """Everything a Cordon process runs, wired together. Start it once, stop it once."""

    settings: Settings
    zone: ZoneConfig
    store: Store
    images: ImageStore
    bus: ReadBus
    writer: GroupCommitWriter
    keyring: KeyRing
    ingest: IngestService
    rules: RuleService | None = None
    started: bool = False
    audit: AuditLog = field(kw_only=True)  # the audit trail (cordon.audit)
    accounts: Accounts = field(kw_only=True)  # people's accounts and sessions (cordon.auth)
    flows: FlowSink | None = field(default=None, kw_only=True)  # anonymised traffic flows (cordon.flows)

    def start(self) -> None:
        if not self.started:
            if self.rules is not None:
                self.rules.start(self.store)  # replays the rules' horizon before any new read comes in
            if self.flows is not None:
                self.flows.start()
            self.writer.start()
            self.started = True

    def stop(self) -> None:
        """Commit what is queued, flush counters, close the store."""
        if self.started:
            self.writer.stop()  # runs the idle tasks once more: rejection counters are flushed
            self.started = False
        else:
            self.ingest.flush_rejections()
        if self.rules is not None:
            self.rules.stop()  # decides on what the writer stored last
        if self.flows is not None:
            self.flows.stop()  # records what the writer published last
        self.store.close()
        self.audit.database.close()


def load_zone_for(settings: Settings) -> ZoneConfig:
    """The zone named by the settings (a `ConfigError` explains what is wrong with it)."""
    if settings.zone_file is None:
        raise CordonError("no_zone", "no zone file: pass --zone FILE or set CORDON_ZONE_FILE")
    return load_zone(settings.zone_file)


def build_runtime(
    settings: Settings, zone: ZoneConfig | None = None, reference: ReferenceData | None = None
) -> Runtime:
    """Open the store (migrating it if needed), wire ingest to it and the zone's rules to ingest (over
    `reference`, default: `settings.rules.reference_dir`). Call `start()` before use."""
    zone = zone if zone is not None else load_zone_for(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    images = ImageStore(settings.images_dir, settings.ingest.max_image_bytes)
    bus = ReadBus()
    keyring = KeyRing(store)
    rules: RuleService | None = None
    writer = GroupCommitWriter(
        store,
        max_delay_s=settings.ingest.commit_delay_ms / 1000,
        on_stored=bus.publish,
        on_failed=lambda reads: rules.decide_unstored(reads) if rules is not None else None,
    )
    ingest = IngestService(
        zone=zone, store=store, images=images, limits=settings.ingest, writer=writer, keyring=keyring
    )
    writer.add_idle_task(ingest.flush_rejections)
    if settings.rules.enabled:
        rules = build_rule_service(settings, zone, store, settings.sqlite_path, reference)
        bus.subscribe(rules.runner.submit)
    flows = build_flow_sink(settings, zone) if settings.flows.enabled else None
    if flows is not None:
        bus.subscribe(flows)
    security = build_security(settings)
    if settings.audit.checkpoint_every_s > 0:
        writer.add_idle_task(
            CheckpointTask(security.audit, settings.audit.checkpoint_every_s, settings.audit_checkpoint_dir)
        )
    return Runtime(
        settings,
        zone,
        store,
        images,
        bus,
        writer,
        keyring,
        ingest,
        rules,
        audit=security.audit,
        accounts=security.accounts,
        flows=flows,
    )
