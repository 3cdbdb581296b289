"""Changing reference data while the rules run: store it, rebuild the rules over it (plates' state kept),
and, for new hotlist entries, match the last 30 days of reads retroactively.

The rules read a `ReferenceData` built from the store's tables merged with a fixed part (the reference folder
of the settings, or what a caller such as the demo passes). Every change goes through `ReferenceService`, so
the rules never see a half-applied import: an import is one transaction, then one swap on the rules' thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cordon.config import ZoneConfig
from cordon.errors import CordonError, ErrorDetail, unprocessable
from cordon.hotlists.retro import retro_alerts
from cordon.hotlists.store import HotlistList, ReferenceStore
from cordon.reference import (
    ClockReport,
    CsvText,
    HotlistEntry,
    Permit,
    ReferenceData,
    RegistryEntry,
    RejectedLine,
    load_hotlist,
)
from cordon.rules import build_rules
from cordon.rules.base import Decision
from cordon.rules.hotlist import HotlistRule
from cordon.store.base import Store

if TYPE_CHECKING:
    from cordon.decisions.service import RuleService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EntriesAdded:
    """What adding hotlist entries did."""

    stored: int  # entries written (new or replaced)
    new: int  # of which new
    retroactive_alerts: int  # alerts raised on reads of the last 30 days
    rejected: tuple[RejectedLine, ...] = ()  # lines of an import left out


def invalid_lines(rejected: Sequence[RejectedLine]) -> CordonError:
    """The error for an all-or-nothing import with bad lines: each line in the details, nothing stored."""
    details = tuple(ErrorDetail(f"line {r.line}", "invalid_line", r.message) for r in rejected)
    return unprocessable("invalid_csv", f"{len(rejected)} line(s) refused; nothing was stored", details)


class ReferenceService:
    """The one way reference data change while Cordon runs."""

    def __init__(self, store: ReferenceStore, reads: Store, zone: ZoneConfig, fixed: ReferenceData) -> None:
        self.store = store
        self._reads = reads
        self._zone = zone
        self._fixed = fixed
        self._rules: RuleService | None = None
        self._version = store.version()

    def attach(self, rules: RuleService) -> None:
        """The running rules to rebuild after each change."""
        self._rules = rules

    def refresh_if_changed(self) -> bool:
        """Rebuild the rules when another process changed the tables; True if it did."""
        if self.store.version() == self._version:
            return False
        self._reload()
        return True

    def current(self) -> ReferenceData:
        """What the rules should read now: the fixed part and the store's tables."""
        return self._fixed.merged(self.store.load())

    def put_list(self, hotlist: HotlistList, actor: str, now: datetime) -> None:
        self.store.put_list(hotlist, actor, now)
        self._reload()

    def add_entries(self, entries: Sequence[HotlistEntry], actor: str, now: datetime) -> EntriesAdded:
        new = self.store.add_entries(entries, actor, now)
        self._reload()
        alerts = []
        if self._rules is not None:
            for rule in self._rules.engine.rules:
                if isinstance(rule, HotlistRule):
                    alerts.extend(retro_alerts(rule, entries, self._reads, now))
            if alerts:
                self._rules.pipeline(Decision(alerts=tuple(alerts)))
                self._rules.pipeline.flush()  # the answer's count is in the store when the caller looks
        return EntriesAdded(len(entries), new, len(alerts))

    def import_hotlist(
        self, list_id: str, source: Path | CsvText, actor: str, now: datetime, all_or_nothing: bool = False
    ) -> EntriesAdded:
        """Entries of a CSV file into `list_id` (columns `list,entry,plate,category,valid_from,valid_until`,
        optional `country,priority,reason`; an empty or `local` list column means this list, another list
        is refused). Bad lines are left out and reported, or refuse the file with `all_or_nothing`."""
        self.store.hotlist(list_id)
        rejected: list[RejectedLine] = []
        entries = load_hotlist(source, rejected)
        name = source.name
        for entry in entries:
            if entry.list_id not in (list_id, "local"):
                rejected.append(RejectedLine(name, 0, f"entry {entry.entry_id} names another list, {entry.list_id}"))
        if all_or_nothing and rejected:
            raise invalid_lines(rejected)
        kept = [replace(entry, list_id=list_id) for entry in entries if entry.list_id in (list_id, "local")]
        added = self.add_entries(kept, actor, now) if kept else EntriesAdded(0, 0, 0)
        return replace(added, rejected=tuple(rejected))

    def remove_entry(self, list_id: str, entry_id: str) -> None:
        self.store.remove_entry(list_id, entry_id)
        self._reload()

    def add_permits(self, permits: Sequence[Permit], issuer: str, now: datetime) -> int:
        count = self.store.add_permits(permits, issuer, now)
        self._reload()
        return count

    def add_registry(self, entries: Sequence[RegistryEntry], source: str, now: datetime) -> int:
        count = self.store.add_registry(entries, source, now)
        self._reload()
        return count

    def add_clock_report(self, report: ClockReport, source: str, now: datetime) -> bool:
        """A camera's clock status: kept, and handed to the running rules at once (no rebuild)."""
        fresh = self.store.add_clock_report(report, source, now)
        rules = self._rules
        if fresh and rules is not None:

            def add() -> None:
                rules.reference.add_clock_reports([report])

            if rules.started:
                rules.runner.call_soon(add)
            else:
                add()
        return fresh

    def _reload(self) -> None:
        self._version = self.store.version()
        rules = self._rules
        if rules is None:
            return
        reference = self.current()
        rebuilt, _ = build_rules(self._zone, reference)
        engine = rules.engine

        def swap() -> None:
            engine.replace_rules(rebuilt)
            rules.reference = reference

        if rules.started:
            rules.runner.call_soon(swap)
        else:
            swap()
        log.info("rules rebuilt over new reference data")
