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
    max_distance: int = Field(
        default=1,
        ge=0,
        le=3,
        description="Edit distance for the `fuzzy` mode, counted between look-alike keys (a look-alike "
        "substitution such as 0/O costs nothing; any other insertion, deletion or substitution costs 1).",
    )
    use_candidates: bool = Field(default=True, description="Also match the read's top-N candidates.")
    lists: dict[str, Literal["exact", "lookalike", "fuzzy"]] = Field(
        default_factory=dict,
        description="Matching mode by hotlist id (e.g. `{stolen: fuzzy, uninsured: exact}`), overriding `match`.",
    )


class SectionControlRule(BaseRule):
    """Trajectcontrole: average speed between two cameras, Belgian margin 6 km/h or 6 %."""

    type: Literal["section_control"] = Field(description="Rule type.")
    sections: tuple[str, ...] = Field(default=(), description="Sections to control; empty means all.")
    max_pair_hours: float = Field(default=2.0, gt=0, description="Longest entry-to-exit time paired.")
    clock_report_max_age_minutes: float = Field(
        default=120,
        gt=0,
        le=24 * 60,
        description="A camera's latest clock report (NTP status) older than this at the passage leaves its clock "
        "unknown, and an unknown clock is not in sync: the pair is refused.",
    )
    clock_benefit: bool = Field(
        default=True,
        description="Give the driver the benefit of the clocks: before the margin is applied, lengthen the timed "
        "duration by as much as the two cameras' reported offsets say their clocks shortened it (never shorten "
        "it), plus `clock_residual_s` per camera, so that a clock error within tolerance never raises a speed.",
    )
    clock_residual_s: float = Field(
        default=0.01,
        ge=0,
        le=5,
        description="Uncertainty of a reported clock offset (drift since the report, the report's own error), "
        "seconds, added per camera when `clock_benefit` is on.",
    )

    def references(self) -> dict[str, tuple[str, ...]]:
        return {"sections": self.sections}


class TruckLockRuleConfig(BaseRule):
    """Vrachtwagensluis: heavy vehicles driving through a C23 zone."""

    type: Literal["truck_lock"] = Field(description="Rule type.")
    zones: tuple[str, ...] = Field(default=(), description="Truck-lock zones to watch; empty means all.")
    camera_fallback: bool = Field(
        default=True,
        description="Judge plates the vehicle registry does not know (foreign ones) by the camera's class "
        "`lorry`; such candidates say `class_source: camera` for the reviewer.",
    )
    late_read_minutes: float = Field(
        default=60,
        ge=0,
        le=24 * 60,
        description="How long past the grace period a passage still waiting for its pair is kept, for a read "
        "delivered late (a camera's backlog).",
    )
    fine_eur: int = Field(default=174, gt=0, description="Fine of the offence, euros, quoted to the reviewer.")

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
