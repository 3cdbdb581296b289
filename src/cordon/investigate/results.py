"""What a consultation answers: one typed result, the door's decision beside it (what was reachable)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cordon.investigate.door import Allowed
from cordon.investigate.patterns import Companion, Present, ShortVisitLead, Stay
from cordon.records import Movement, PlateRead


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class WindowOut(_Out):
    """What the door let the query read at one camera."""

    camera_id: str
    since: datetime
    until: datetime


class DoorOut(_Out):
    """The door's answer, as the result and the evidence report carry it."""

    decision_reference: str | None = Field(default=None, description="Prosecutor decision relied on, if any.")
    windows: list[WindowOut] = Field(description="Per camera, the event-time window reached.")
    excluded: list[str] = Field(default_factory=list, description="Cameras left out, and why.")

    @classmethod
    def of(cls, allowed: Allowed) -> DoorOut:
        return cls(
            decision_reference=allowed.decision_reference,
            windows=[WindowOut(camera_id=w.camera_id, since=w.since, until=w.until) for w in allowed.windows],
            excluded=list(allowed.excluded),
        )


class ReadOut(_Out):
    """A read found, with its id in the store, its movement, and how it matched (fuzzy search)."""

    read_id: int = Field(description="Id of the read in the store (legal holds and exports name it).")
    movement: Movement | None = Field(default=None, description="entry, exit or internal, from the lane.")
    match: str | None = Field(default=None, description="exact, lookalike, candidate or distance (fuzzy).")
    distance: int | None = Field(default=None, description="Edits besides look-alikes (fuzzy).")
    read: PlateRead


class ConsultationResult(_Out):
    """The answer to one consultation; `count` is what the audit trail records."""

    type: str = Field(description="The query's type.")
    count: int = Field(description="Results returned (reads, vehicles, companions or leads).")
    truncated: bool = Field(default=False, description="More results exist than the limit let through.")
    plates_matched: int | None = Field(default=None, description="Distinct plates a wildcard/fuzzy search hit.")
    door: DoorOut
    reads: list[ReadOut] = Field(default_factory=list)
    stays: list[Stay] = Field(default_factory=list, description="Timeline: entries paired with exits.")
    present: list[Present] = Field(default_factory=list, description="Presence: vehicles inside all along.")
    companions: list[Companion] = Field(default_factory=list, description="Convoy: ranked companions.")
    leads: list[ShortVisitLead] = Field(default_factory=list, description="Short visits: leads.")

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
