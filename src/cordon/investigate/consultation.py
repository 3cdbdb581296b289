"""What every consultation must say (purpose, reason, offence type, case reference) and what it reaches.

A `Consultation` is the legal half of a request: it travels unchanged from the API or the CLI to the door and
into the audit trail. A `Scope` is what the query behind it would reach (time window, cameras, the plates it
is about); the door decides on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from cordon.config.zone import Purpose

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class ConsultationPurpose(StrEnum):
    """The police purpose of a consultation (Police Function Act): administrative or judicial police."""

    ADMINISTRATIVE = "administrative"
    JUDICIAL = "judicial"

    @property
    def camera_purpose(self) -> Purpose:
        """The purpose a camera must be authorised for to serve this consultation."""
        return Purpose.ADMINISTRATIVE_POLICE if self is ConsultationPurpose.ADMINISTRATIVE else Purpose.JUDICIAL_POLICE


class Consultation(BaseModel):
    """Why someone consults passages. Blank fields are not refused here but by the door, which names every
    missing one at once (the refusal is audited like any consultation)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: ConsultationPurpose | None = Field(default=None, description="`administrative` or `judicial`.")
    reason: Text = Field(default="", description="The operational reason, one sentence.")
    offence_type: Text = Field(default="", description="Offence or incident type, e.g. `burglary`.")
    case_reference: Text = Field(default="", description="Case (PV / notitie) reference.")
    decision_reference: Text | None = Field(
        default=None, description="Reference of the prosecutor decision that covers reads older than a month."
    )


class TimeWindow(BaseModel):
    """An event-time window, `since` inclusive, `until` exclusive; open ends mean 'as far as allowed'."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: AwareDatetime | None = Field(default=None, description="From (inclusive), UTC offset required.")
    until: AwareDatetime | None = Field(default=None, description="Until (exclusive); default: now.")


@dataclass(frozen=True, slots=True)
class Scope:
    """What a query would reach: its time window, the cameras it names (empty: every camera allowed) and the
    plates it is about (None: not one plate's query, e.g. a wildcard or an area)."""

    since: datetime | None
    until: datetime | None
    cameras: tuple[str, ...] = ()
    plates: tuple[str, ...] | None = None
    area: tuple[str, ...] = ()  # cameras found in an area box: those outside the purpose are left out, not refused
