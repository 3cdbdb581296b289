"""Hotlists: alert on every read of a plate on a list (stolen, wanted, SIS, uninsured, local watch lists).

Each read's plate, and when `use_candidates` is on its top-N candidates, is matched against the entries valid
at the read's event time, by its list's mode (`lists: {list_id: mode}`, else `match`):

- `exact`: the normalised plate;
- `lookalike`: the same look-alike key (0/O/D/Q, 1/I/L/T, 2/Z, 5/S, 6/G, 8/B read as one character);
- `fuzzy`: the look-alike keys within `max_distance` edits.

One alert per (entry, read), with the best match found (the strictest mode, the plate before its candidates):
the alert says which mode matched, on what, and the entry's list, category, priority and reason. A decision
needs no state and depends on the read and the lists alone, so reads may arrive in any order.

Matching new entries against the reads already stored (retroactive hits) needs the store: it is the runner's
job, which can use :class:`~cordon.rules.hotlist_index.HotlistIndex` on the new entries alone.
"""

from __future__ import annotations

from datetime import datetime

from cordon.config.rules import HotlistRule as HotlistConfig
from cordon.config.zone import ZoneConfig
from cordon.plates import display_plate
from cordon.records import Alert, PlateRead, Severity
from cordon.reference import HotlistEntry, ReferenceData
from cordon.rules.base import NOTHING, Decision, Rule, read_key, stable_id
from cordon.rules.hotlist_index import HotlistIndex, Match, MatchMode
from cordon.timeutil import isoformat_z


def severity_of(priority: int) -> Severity:
    """Priority 1 (stolen, wanted) is critical, 2 (SIS) a warning, 3 and above (uninsured, local) information.
    An entry without a priority (0) counts as critical: a hit is never quietened by a missing field.

    >>> [severity_of(p).value for p in (0, 1, 2, 3, 9)]
    ['critical', 'critical', 'warning', 'info', 'info']
    """
    if priority <= 1:
        return Severity.CRITICAL
    return Severity.WARNING if priority == 2 else Severity.INFO


class HotlistRule(Rule[HotlistConfig, None]):
    """Reads matched against the hotlists, exactly, by look-alike class or by edit distance (no state)."""

    type = "hotlist"
    acts_without_store = True

    def __init__(self, config: HotlistConfig, zone: ZoneConfig, reference: ReferenceData) -> None:
        super().__init__(config, zone, reference)
        entries = (entry for plate_entries in reference.hotlist.values() for entry in plate_entries)
        self.index = HotlistIndex(entries, self.mode_of, config.max_distance)

    def mode_of(self, list_id: str) -> MatchMode:
        """The matching mode of a list: its own, or the rule's default."""
        return self.config.lists.get(list_id, self.config.match)

    def decide(self, read: PlateRead, state: None) -> tuple[None, Decision]:
        plates = [read.plate]
        if self.config.use_candidates:
            for candidate in read.candidates:
                # one equal to the plate or to a better candidate adds nothing: blanked, the ranks kept
                plates.append("" if candidate.plate in plates else candidate.plate)
        matches = self.index.match(plates, read.date_observed)
        if not matches:
            return None, NOTHING
        return None, Decision(alerts=tuple(self._alert(read, match) for match in matches))

    def retro_alert(self, read: PlateRead, match: Match, matched_at: datetime) -> Alert:
        """The alert of a stored read matched by an entry added later (retroactive matching): its own id, so
        it never hides or duplicates a live alert, and marked as such for the operator."""
        live = self._alert(read, match)
        entry = match.entry
        return live.model_copy(
            update={
                "alert_id": stable_id(self.id, "retro", entry.list_id, entry.entry_id, *read_key(read)),
                "message": f"retroactive, seen before the entry was added: {live.message}",
                "details": {**live.details, "retroactive": True, "matched_at": isoformat_z(matched_at)},
            }
        )

    def _alert(self, read: PlateRead, match: Match) -> Alert:
        entry = match.entry
        on = "the plate" if match.candidate == 0 else f"candidate {match.candidate} {display_plate(match.plate)}"
        how = {"exact": "exact", "lookalike": "look-alike", "fuzzy": f"edit distance {match.distance}"}[match.mode]
        message = (
            f"{entry.category}: {display_plate(read.plate)} at {read.observed_by} matches {entry.list_id} entry "
            f"{entry.entry_id} ({display_plate(entry.plate)}, {how} on {on}): {entry.reason}"
        )
        return Alert(
            alert_id=stable_id(self.id, self.type, entry.list_id, entry.entry_id, *read_key(read)),
            rule_id=self.id,
            rule_type=self.type,
            category=entry.category,
            severity=severity_of(entry.priority),
            plate=read.plate,
            camera_id=read.observed_by,
            date_observed=read.date_observed,
            read_ids=(read_key(read),),
            message=message,
            details=self._details(read, match, entry),
        )

    def _details(
        self, read: PlateRead, match: Match, entry: HotlistEntry
    ) -> dict[str, str | int | float | bool | None]:
        return {
            "list": entry.list_id,
            "entry": entry.entry_id,
            "entry_plate": entry.plate,
            "entry_country": entry.country,
            "category": entry.category,
            "priority": entry.priority,
            "reason": entry.reason,
            "valid_until": isoformat_z(entry.valid_until),
            "list_mode": self.mode_of(entry.list_id),
            "match": match.mode,
            "matched_on": "plate" if match.candidate == 0 else "candidate",
            "candidate_rank": match.candidate or None,
            "matched_plate": match.plate,
            "distance": match.distance,
            "read_country": read.country,
        }
