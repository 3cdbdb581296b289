"""The reference tables (migration 0002) and `ReferenceData` built from them.

A list's validity window bounds its entries: an entry matches only while both it and its list are valid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cordon.errors import CordonError
from cordon.reference import ClockReport, HotlistEntry, Permit, ReferenceData, RegistryEntry, TimeWindow
from cordon.store.side import SideConnection
from cordon.timeutil import from_micros, to_micros, utcnow

#: Clock reports loaded when the rules (re)start: enough to judge the section pairs still open.
CLOCK_HISTORY = timedelta(days=2)


class HotlistList(BaseModel):
    """A hotlist: who answers for it, on what legal basis, and how urgent its hits are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    list_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Id, e.g. `stolen`, `sis`, `local`.")
    name: str = Field(min_length=1, max_length=200, description="Human name.")
    owner: str = Field(min_length=1, max_length=200, description="Service or magistrate answering for it.")
    legal_basis: str = Field(min_length=1, max_length=2000, description="Why Cordon may match it (law, decision).")
    category: str = Field(min_length=1, max_length=64, description="Default category of its entries.")
    priority: int = Field(default=2, ge=0, le=9, description="Default priority (1 most urgent).")
    valid_from: AwareDatetime = Field(description="The list applies from.")
    valid_until: AwareDatetime = Field(description="The list applies until (exclusive).")

    @model_validator(mode="after")
    def _window(self) -> HotlistList:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must come after valid_from")
        return self


class ReferenceStore:
    """Hotlists, permits and the registry extract in the store's database."""

    def __init__(self, path: Path, busy_timeout_s: float = 5.0) -> None:
        self._db = SideConnection(path, busy_timeout_s)

    def close(self) -> None:
        self._db.close()

    def version(self) -> tuple[int, ...]:
        """Changes whenever any reference table changes (another process, e.g. `cordon hotlists import`)."""
        [row] = self._db.query(
            "SELECT (SELECT count(*) FROM hotlists), (SELECT max(updated_us) FROM hotlists), "
            "(SELECT count(*) FROM hotlist_entries), (SELECT max(added_us) FROM hotlist_entries), "
            "(SELECT count(*) FROM permits), (SELECT max(added_us) FROM permits), "
            "(SELECT count(*) FROM vehicle_registry), (SELECT max(updated_us) FROM vehicle_registry)"
        )
        return tuple(value or 0 for value in row)

    # -- hotlists ----------------------------------------------------------------------------------------------

    def put_list(self, hotlist: HotlistList, actor: str, now: datetime) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO hotlists (list_id, name, owner, legal_basis, category, priority, valid_from_us, "
                "valid_until_us, updated_by, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (list_id) DO UPDATE SET name = excluded.name, owner = excluded.owner, "
                "legal_basis = excluded.legal_basis, category = excluded.category, priority = excluded.priority, "
                "valid_from_us = excluded.valid_from_us, valid_until_us = excluded.valid_until_us, "
                "updated_by = excluded.updated_by, updated_us = excluded.updated_us",
                (hotlist.list_id, hotlist.name, hotlist.owner, hotlist.legal_basis, hotlist.category,
                 hotlist.priority, to_micros(hotlist.valid_from), to_micros(hotlist.valid_until), actor,
                 to_micros(now)),
            )  # fmt: skip

    def lists(self) -> list[HotlistList]:
        rows = self._db.query(
            "SELECT list_id, name, owner, legal_basis, category, priority, valid_from_us, valid_until_us "
            "FROM hotlists ORDER BY list_id"
        )
        return [
            HotlistList(
                list_id=r[0],
                name=r[1],
                owner=r[2],
                legal_basis=r[3],
                category=r[4],
                priority=r[5],
                valid_from=from_micros(r[6]),
                valid_until=from_micros(r[7]),
            )
            for r in rows
        ]

    def hotlist(self, list_id: str) -> HotlistList:
        for found in self.lists():
            if found.list_id == list_id:
                return found
        raise CordonError("hotlist_not_found", f"no hotlist {list_id}: create it first (PUT /api/v1/hotlists/ID)", 404)

    def add_entries(self, entries: Sequence[HotlistEntry], actor: str, now: datetime) -> int:
        """Add or replace entries (by list and entry id), all or none. Returns how many were new."""
        known = {found.list_id for found in self.lists()}
        unknown = sorted({entry.list_id for entry in entries} - known)
        if unknown:
            raise CordonError("hotlist_not_found", f"no hotlist {', '.join(unknown)}: create it first", 404)
        with self._db.transaction() as db:
            before: int = db.execute("SELECT count(*) FROM hotlist_entries").fetchone()[0]
            db.executemany(
                "INSERT INTO hotlist_entries (list_id, entry_id, plate, country, category, priority, reason, "
                "valid_from_us, valid_until_us, added_by, added_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (list_id, entry_id) DO UPDATE SET plate = excluded.plate, country = excluded.country, "
                "category = excluded.category, priority = excluded.priority, reason = excluded.reason, "
                "valid_from_us = excluded.valid_from_us, valid_until_us = excluded.valid_until_us, "
                "added_by = excluded.added_by, added_us = excluded.added_us",
                [(e.list_id, e.entry_id, e.plate, e.country, e.category, e.priority, e.reason,
                  to_micros(e.valid_from), to_micros(e.valid_until), actor, to_micros(now)) for e in entries],
            )  # fmt: skip
            after: int = db.execute("SELECT count(*) FROM hotlist_entries").fetchone()[0]
        return after - before

    def remove_entry(self, list_id: str, entry_id: str) -> None:
        with self._db.transaction() as db:
            cursor = db.execute("DELETE FROM hotlist_entries WHERE list_id = ? AND entry_id = ?", (list_id, entry_id))
            if cursor.rowcount == 0:
                raise CordonError("entry_not_found", f"no entry {entry_id} in hotlist {list_id}", 404)

    def entries(self, list_id: str | None = None) -> list[HotlistEntry]:
        where, params = ("WHERE list_id = ?", (list_id,)) if list_id else ("", ())
        sql = "SELECT list_id, entry_id, plate, country, category, priority, reason, valid_from_us, valid_until_us "
        rows = self._db.query(sql + f"FROM hotlist_entries {where} ORDER BY list_id, entry_id", params)
        return [
            HotlistEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_micros(r[7]), from_micros(r[8])) for r in rows
        ]

    # -- permits and registry -----------------------------------------------------------------------------------

    def add_permits(self, permits: Iterable[Permit], issuer: str, now: datetime) -> int:
        rows = [
            (p.permit_id, p.permit_type, p.plate, p.area, to_micros(p.valid_from), to_micros(p.valid_until),
             json.dumps([_window_text(w) for w in p.windows]), issuer, to_micros(now))
            for p in permits
        ]  # fmt: skip
        with self._db.transaction() as db:
            db.executemany(
                "INSERT INTO permits (permit_id, permit_type, plate, area, valid_from_us, valid_until_us, windows, "
                "issuer, added_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (permit_id) DO UPDATE SET "
                "permit_type = excluded.permit_type, plate = excluded.plate, area = excluded.area, "
                "valid_from_us = excluded.valid_from_us, valid_until_us = excluded.valid_until_us, "
                "windows = excluded.windows, issuer = excluded.issuer, added_us = excluded.added_us",
                rows,
            )
        return len(rows)

    def add_registry(self, entries: Iterable[RegistryEntry], source: str, now: datetime) -> int:
        rows = [(e.plate, e.category, e.vehicle_type, e.max_mass_kg, source, to_micros(now)) for e in entries]
        with self._db.transaction() as db:
            db.executemany(
                "INSERT INTO vehicle_registry (plate, category, vehicle_type, max_mass_kg, source, updated_us) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (plate) DO UPDATE SET category = excluded.category, "
                "vehicle_type = excluded.vehicle_type, max_mass_kg = excluded.max_mass_kg, "
                "source = excluded.source, updated_us = excluded.updated_us",
                rows,
            )
        return len(rows)

    def add_clock_report(self, report: ClockReport, source: str, now: datetime) -> bool:
        """Keep a camera's clock report; False when the camera already reported for that instant."""
        with self._db.transaction() as db:
            cursor = db.execute(
                "INSERT INTO camera_clock (camera_id, at_us, offset_s, source, received_us) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (report.camera_id, to_micros(report.at), report.offset_s, source, to_micros(now)),
            )
        return cursor.rowcount == 1

    def clock_reports(self, since: datetime) -> list[ClockReport]:
        rows = self._db.query(
            "SELECT camera_id, at_us, offset_s FROM camera_clock WHERE at_us >= ? ORDER BY at_us",
            (to_micros(since),),
        )
        return [ClockReport(camera, from_micros(at), offset) for camera, at, offset in rows]

    def load(self) -> ReferenceData:
        """Everything, as the rules read it (entries bounded by their list's window)."""
        data = ReferenceData()
        windows = {found.list_id: (found.valid_from, found.valid_until) for found in self.lists()}
        bounded = []
        for entry in self.entries():
            start, end = windows[entry.list_id]
            bounded.append(
                HotlistEntry(entry.list_id, entry.entry_id, entry.plate, entry.country, entry.category,
                             entry.priority, entry.reason, max(entry.valid_from, start), min(entry.valid_until, end))
            )  # fmt: skip
        data.add_hotlist(bounded)
        permits = self._db.query(
            "SELECT permit_id, permit_type, plate, area, valid_from_us, valid_until_us, windows FROM permits"
        )
        registry = self._db.query("SELECT plate, category, vehicle_type, max_mass_kg FROM vehicle_registry")
        data.add_permits(
            Permit(r[0], r[1], r[2], r[3], from_micros(r[4]), from_micros(r[5]),
                   tuple(TimeWindow.parse(w) for w in json.loads(r[6])))
            for r in permits
        )  # fmt: skip
        data.add_registry(RegistryEntry(r[0], r[1], r[2], r[3]) for r in registry)
        data.add_clock_reports(self.clock_reports(utcnow() - CLOCK_HISTORY))
        return data


def _window_text(window: TimeWindow) -> str:
    days = "".join(str(day) for day in sorted(window.weekdays))
    return f"{days} {window.start:%H:%M}-{window.end:%H:%M}"
