"""`/api/v1/hotlists`, `/api/v1/permits`, `/api/v1/registry`: reference data the rules read, changed while
they run. Hotlists belong to investigators (`hotlists.manage`); permits and the registry extract to the
administration (`config.manage`). Each change is audited; new hotlist entries are matched retroactively
against the last 30 days of reads, and the answer says how many alerts that raised."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cordon.api.deps import RuntimeDep
from cordon.api.errors import error_responses
from cordon.api.security import record_action, require
from cordon.audit.events import Action
from cordon.auth.models import Principal
from cordon.auth.roles import Permission
from cordon.errors import CordonError, ErrorDetail, unprocessable
from cordon.hotlists.service import EntriesAdded, ReferenceService, invalid_lines
from cordon.hotlists.store import HotlistList
from cordon.plates import InvalidPlate, normalize_plate
from cordon.reference import CsvText, HotlistEntry, RejectedLine, load_permits, load_registry
from cordon.runtime import Runtime
from cordon.timeutil import utcnow

router = APIRouter(prefix="/api/v1", tags=["reference data"])
Investigator = Annotated[Principal, Depends(require(Permission.HOTLISTS_MANAGE))]
Admin = Annotated[Principal, Depends(require(Permission.CONFIG_MANAGE))]
CsvBody = Annotated[str, Body(media_type="text/csv", description="CSV with a header line.")]

_ERRORS = error_responses(
    {
        401: "Not signed in.",
        403: "The role may not change this.",
        404: "No such list or entry.",
        422: "Invalid input: every problem is listed, and nothing was stored.",
        503: "The rules are not running in this process.",
    }
)


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=200, description="Service or magistrate answering for it.")
    legal_basis: str = Field(min_length=1, max_length=2000, description="Law or decision allowing the matching.")
    category: str = Field(min_length=1, max_length=64, description="Default category (`stolen_vehicle`, ...).")
    priority: int = Field(default=2, ge=0, le=9, description="Default priority, 1 most urgent.")
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_id: str | None = Field(default=None, max_length=128, description="Default: list and plate.")
    plate: str = Field(min_length=1, max_length=32, description="As written; normalised by Cordon.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    category: str | None = Field(default=None, max_length=64, description="Default: the list's.")
    priority: int | None = Field(default=None, ge=0, le=9, description="Default: the list's.")
    reason: str = Field(min_length=1, max_length=2000, description="Why the vehicle is sought.")
    valid_from: AwareDatetime | None = Field(default=None, description="Default: now.")
    valid_until: AwareDatetime | None = Field(default=None, description="Default: the list's end.")


class EntryOut(BaseModel):
    list_id: str
    entry_id: str
    plate: str
    country: str | None
    category: str
    priority: int
    reason: str
    valid_from: datetime
    valid_until: datetime


class ImportOut(BaseModel):
    stored: int = Field(description="Entries written (new or replaced).")
    new: int = Field(description="Of which new.")
    retroactive_alerts: int = Field(description="Alerts raised on reads of the last 30 days.")
    rejected: list[str] = Field(default_factory=list, description="Lines left out, with their line number.")


class CountOut(BaseModel):
    stored: int
    rejected: list[str] = Field(default_factory=list)


def _references(runtime: Runtime) -> ReferenceService:
    if runtime.rules is None:
        raise CordonError("rules_disabled", "the rules are not running in this process (rules.enabled)", 503)
    return runtime.rules.references


def _reject_all(rejected: list[RejectedLine]) -> None:
    if rejected:
        raise invalid_lines(rejected)


@router.get("/hotlists", response_model=list[HotlistList], responses=_ERRORS, summary="Hotlists")
def list_hotlists(_: Investigator, runtime: RuntimeDep) -> list[HotlistList]:
    return _references(runtime).store.lists()


@router.put("/hotlists/{list_id}", response_model=HotlistList, responses=_ERRORS, summary="Create or change a list")
def put_hotlist(list_id: str, body: ListIn, principal: Investigator, runtime: RuntimeDep) -> HotlistList:
    try:
        hotlist = HotlistList(list_id=list_id, **body.model_dump())
    except ValueError as exc:
        raise unprocessable("invalid_hotlist", str(exc)) from None
    _references(runtime).put_list(hotlist, principal.username, utcnow())
    changed = body.model_dump(mode="json")
    record_action(runtime.audit, principal, Action.HOTLIST_CHANGE, {"list": list_id, "action": "put"}, **changed)
    return hotlist


@router.get("/hotlists/{list_id}/entries", response_model=list[EntryOut], responses=_ERRORS, summary="Entries")
def list_entries(list_id: str, _: Investigator, runtime: RuntimeDep) -> list[EntryOut]:
    references = _references(runtime)
    references.store.hotlist(list_id)
    return [EntryOut(**asdict(entry)) for entry in references.store.entries(list_id)]


@router.post("/hotlists/{list_id}/entries", response_model=ImportOut, responses=_ERRORS, summary="Add entries")
def add_entries(list_id: str, body: list[EntryIn], principal: Investigator, runtime: RuntimeDep) -> ImportOut:
    references = _references(runtime)
    hotlist = references.store.hotlist(list_id)
    now = utcnow()
    entries, problems = [], []
    for index, item in enumerate(body):
        try:
            plate = normalize_plate(item.plate)
        except InvalidPlate as exc:
            problems.append(ErrorDetail(f"[{index}].plate", "invalid_plate", str(exc)))
            continue
        entries.append(
            HotlistEntry(list_id, item.entry_id or f"{list_id}:{plate}", plate, item.country,
                         item.category or hotlist.category,
                         hotlist.priority if item.priority is None else item.priority, item.reason,
                         item.valid_from or now, item.valid_until or hotlist.valid_until)
        )  # fmt: skip
    if problems:
        raise unprocessable(
            "invalid_entries", f"{len(problems)} entr(y/ies) refused; nothing was stored", tuple(problems)
        )
    added = references.add_entries(entries, principal.username, now) if entries else EntriesAdded(0, 0, 0)
    return _report(runtime, principal, list_id, added)


@router.post("/hotlists/{list_id}/import", response_model=ImportOut, responses=_ERRORS, summary="Import CSV")
def import_entries(
    list_id: str,
    body: CsvBody,
    principal: Investigator,
    runtime: RuntimeDep,
    all_or_nothing: Annotated[bool, Query(description="Refuse the whole file when a line is bad.")] = False,
) -> ImportOut:
    """Columns: `list,entry,plate,category,valid_from,valid_until` and optional `country,priority,reason`. The
    `list` column may be empty (this list) but must not name another list."""
    added = _references(runtime).import_hotlist(list_id, CsvText(f"{list_id}.csv", body), principal.username,
                                                utcnow(), all_or_nothing)  # fmt: skip
    return _report(runtime, principal, list_id, added)


def _report(runtime: Runtime, principal: Principal, list_id: str, added: EntriesAdded) -> ImportOut:
    out = ImportOut(stored=added.stored, new=added.new, retroactive_alerts=added.retroactive_alerts,
                    rejected=[str(line) for line in added.rejected])  # fmt: skip
    record_action(runtime.audit, principal, Action.HOTLIST_CHANGE, {"list": list_id, "action": "add"},
                  stored=out.stored, new=out.new, rejected=len(out.rejected),
                  retroactive_alerts=out.retroactive_alerts)  # fmt: skip
    return out


@router.delete("/hotlists/{list_id}/entries/{entry_id}", status_code=204, responses=_ERRORS, summary="Remove")
def remove_entry(list_id: str, entry_id: str, principal: Investigator, runtime: RuntimeDep) -> None:
    _references(runtime).remove_entry(list_id, entry_id)
    record_action(
        runtime.audit, principal, Action.HOTLIST_CHANGE, {"list": list_id, "entry": entry_id, "action": "remove"}
    )


@router.post("/permits/import", response_model=CountOut, responses=_ERRORS, summary="Import permits (CSV)")
def import_permits(body: CsvBody, principal: Admin, runtime: RuntimeDep) -> CountOut:
    """Columns: `permit,type,plate,area,valid_from,valid_until` and optional `windows` (`12345 07:00-09:00;...`).
    All or nothing: a bad line refuses the file."""
    rejected: list[RejectedLine] = []
    permits = load_permits(CsvText("permits.csv", body), rejected)
    _reject_all(rejected)
    stored = _references(runtime).add_permits(permits, principal.username, utcnow())
    record_action(runtime.audit, principal, Action.CONFIG_CHANGE, {"permits": "import"}, stored=stored)
    return CountOut(stored=stored)


@router.post("/registry/import", response_model=CountOut, responses=_ERRORS, summary="Import a registry extract")
def import_registry(body: CsvBody, principal: Admin, runtime: RuntimeDep) -> CountOut:
    """Columns: `plate,category,max_mass_kg` and optional `vehicle_type`. All or nothing."""
    rejected: list[RejectedLine] = []
    entries = load_registry(CsvText("vehicle-registry.csv", body), rejected)
    _reject_all(rejected)
    stored = _references(runtime).add_registry(entries, f"api:{principal.username}", utcnow())
    record_action(runtime.audit, principal, Action.CONFIG_CHANGE, {"registry": "import"}, stored=stored)
    return CountOut(stored=stored)
