"""Retroactive matching: a hotlist entry added now is matched against the reads of the last 30 days.

A car reported stolen this morning may have crossed the cordon last night: where and when is the first lead.
The entry is matched as it stands when it is added (its validity at that moment, not at the read's time), by
its list's mode (exact, look-alike or edit distance), against the normalised plates of the stored reads; each
read found gives a *retroactive* alert (own id, flagged in its details and message). The window is the first
month, the one the police may consult for an operational reason (DESIGN.md §4); older reads stay behind the
consultation door.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cordon.records import Alert
from cordon.reference import HotlistEntry
from cordon.rules.hotlist import HotlistRule
from cordon.rules.hotlist_index import HotlistIndex
from cordon.store.base import Store

RETRO_DAYS = 30
#: Reads per matched plate looked at; a plate read more often than this in a month is a local resident.
MAX_READS_PER_PLATE = 5000


def retro_alerts(
    rule: HotlistRule, entries: Sequence[HotlistEntry], store: Store, now: datetime, days: int = RETRO_DAYS
) -> list[Alert]:
    """Alerts for the reads of the last `days` that the new `entries` match under `rule`'s modes."""
    valid = [entry for entry in entries if entry.valid_at(now)]
    if not valid:
        return []
    index = HotlistIndex(valid, rule.mode_of, rule.config.max_distance)
    since = now - timedelta(days=days)
    if all(rule.mode_of(entry.list_id) == "exact" for entry in valid):
        plates = sorted({entry.plate for entry in valid})
    else:
        plates = store.plates_seen_since(since)
    alerts: list[Alert] = []
    for plate in plates:
        matches = index.match((plate,), now)
        if not matches:
            continue
        for read in store.plate_history(plate, since=since, limit=MAX_READS_PER_PLATE):
            alerts.extend(rule.retro_alert(read, match, now) for match in matches)
    return sorted(alerts, key=lambda alert: alert.date_observed)
