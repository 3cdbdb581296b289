"""Rule entries of the zone file, chosen by their `type`.

Each rule type has its own settings model; the zone file's `rules:` list is a union discriminated by
`type`. The rule runtime looks a rule's implementation up by the same `type`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

RuleId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]


class BaseRule(BaseModel):
    """What every rule entry has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId = Field(description="Id of this rule entry, unique in the zone.")
    enabled: bool = Field(default=True, description="A disabled rule is loaded but never run.")
    description: str = Field(default="", description="What this rule is for, in a sentence.")

    def references(self) -> dict[str, tuple[str, ...]]:
        """Ids of other zone objects this rule names, by zone-file list name."""
        return {}


class HotlistRule(BaseRule):
    """Alert on reads of plates on the hotlists (stolen, wanted, SIS, uninsured, local lists)."""

    type: Literal["hotlist"] = Field(description="Rule type.")
    match: Literal["exact", "lookalike", "fuzzy"] = Field(
        default="lookalike", description="Default matching mode of lists that do not set their own."
    )
    max_distance: int = Field(default=1, ge=0, le=3, description="Edit distance for the `fuzzy` mode.")
    use_candidates: bool = Field(default=True, description="Also match the read's top-N candidates.")


class SectionControlRule(BaseRule):
    """Trajectcontrole: average speed between two cameras, Belgian margin 6 km/h or 6 %."""

    type: Literal["section_control"] = Field(description="Rule type.")
    sections: tuple[str, ...] = Field(default=(), description="Sections to control; empty means all.")
    max_pair_hours: float = Field(default=2.0, gt=0, description="Longest entry-to-exit time paired.")

    def references(self) -> dict[str, tuple[str, ...]]:
        return {"sections": self.sections}


class TruckLockRuleConfig(BaseRule):
    """Vrachtwagensluis: heavy vehicles driving through a C23 zone."""

    type: Literal["truck_lock"] = Field(description="Rule type.")
    zones: tuple[str, ...] = Field(default=(), description="Truck-lock zones to watch; empty means all.")

    def references(self) -> dict[str, tuple[str, ...]]:
        return {"truck_lock_zones": self.zones}


class AccessControlRule(BaseRule):
    """Verdwijnpalen: lower the bollard for valid permits, log the rest."""

    type: Literal["access_control"] = Field(description="Rule type.")
    streets: tuple[str, ...] = Field(default=(), description="Bollard streets to control; empty means all.")
    command_ttl_s: float = Field(default=30, gt=0, le=600, description="Seconds a lower command stays valid.")

    def references(self) -> dict[str, tuple[str, ...]]:
        return {"bollard_streets": self.streets}


class ZoneClosureRule(BaseRule):
    """Sluitend: pair every entry with the next exit; open stays and unpaired exits are gaps."""

    type: Literal["zone_closure"] = Field(description="Rule type.")
    max_stay_hours: float = Field(default=72, gt=0, description="A stay longer than this is left open.")


RuleConfig = Annotated[
    HotlistRule | SectionControlRule | TruckLockRuleConfig | AccessControlRule | ZoneClosureRule,
    Field(discriminator="type"),
]
