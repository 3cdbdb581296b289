"""`cordon hotlists`, `cordon permits`, `cordon registry`: the rules' reference data, changed on the server
by its operators. Each change is audited as `cli:<os user>`; a running `cordon serve` picks it up within a few
seconds. New hotlist entries are matched against the last 30 days of reads: the alerts are stored (visible in
the API, flagged retroactive); only an import through the API also pushes them live."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from cordon.audit.events import Action
from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings, cli_actor, record_cli_action
from cordon.errors import CordonError
from cordon.hotlists.service import ReferenceService, invalid_lines
from cordon.hotlists.store import HotlistList
from cordon.reference import RejectedLine, load_permits, load_registry
from cordon.runtime import Runtime, build_runtime
from cordon.settings import RulesSettings
from cordon.timeutil import parse_instant, utcnow

CSV_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@contextmanager
def _runtime(zone_file: Path | None, data_dir: Path | None) -> Iterator[Runtime]:
    """The platform, not started (no ingest, no replay), its rules publishing nothing."""
    settings = build_settings(zone_file=zone_file, data_dir=data_dir)
    settings = settings.model_copy(update={"rules": RulesSettings(enabled=True, mqtt_out=False)})
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.stop()


def _references(runtime: Runtime) -> ReferenceService:
    assert runtime.rules is not None  # _runtime keeps the rules on
    return runtime.rules.references


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _show_rejected(rejected: tuple[RejectedLine, ...] | list[RejectedLine]) -> None:
    for line in rejected:
        click.echo(f"rejected: {line}", err=True)


@click.group()
def hotlists() -> None:
    """Hotlists: lists with owner and legal basis, and their entries (import from CSV)."""


@hotlists.command("list")
@ZONE_OPTION
@DATA_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per list.")
def list_hotlists(zone_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Show the hotlists and how many entries each holds."""
    with _runtime(zone_file, data_dir) as runtime:
        store = _references(runtime).store
        counts: dict[str, int] = {}
        for entry in store.entries():
            counts[entry.list_id] = counts.get(entry.list_id, 0) + 1
        lists = store.lists()
    if as_json:
        for found in lists:
            click.echo(orjson.dumps({**found.model_dump(mode="json"), "entries": counts.get(found.list_id, 0)}))
        return
    table = Table("list", "name", "owner", "category", "priority", "valid until", "entries")
    for found in lists:
        table.add_row(found.list_id, found.name, found.owner, found.category, str(found.priority),
                      f"{found.valid_until:%Y-%m-%d}", str(counts.get(found.list_id, 0)))  # fmt: skip
    Console().print(table)


@hotlists.command("put")
@click.argument("list_id")
@click.option("--name", required=True, help="Human name.")
@click.option("--owner", required=True, help="Service or magistrate answering for the list.")
@click.option("--legal-basis", required=True, help="Law or decision allowing the matching.")
@click.option("--category", required=True, help="Default category of its entries (stolen_vehicle, ...).")
@click.option("--priority", type=click.IntRange(0, 9), default=2, show_default=True, help="1 is most urgent.")
@click.option("--valid-from", default=None, help="ISO 8601 instant with offset (default: now).")
@click.option("--valid-until", required=True, help="ISO 8601 instant with offset.")
@ZONE_OPTION
@DATA_OPTION
def put_hotlist(
    list_id: str, name: str, owner: str, legal_basis: str, category: str, priority: int, valid_from: str | None,
    valid_until: str, zone_file: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """Create or change a hotlist."""
    now = utcnow()
    try:
        hotlist = HotlistList(list_id=list_id, name=name, owner=owner, legal_basis=legal_basis, category=category,
                              priority=priority, valid_from=_instant(valid_from) if valid_from else now,
                              valid_until=_instant(valid_until))  # fmt: skip
    except ValueError as exc:
        raise CordonError("invalid_hotlist", f"invalid hotlist: {exc}") from None
    with _runtime(zone_file, data_dir) as runtime:
        _references(runtime).put_list(hotlist, cli_actor(), now)
        record_cli_action(
            runtime.audit, Action.HOTLIST_CHANGE, {"list": list_id, "action": "put"}, **hotlist.model_dump(mode="json")
        )
    click.echo(f"hotlist {list_id} saved")


@hotlists.command("import")
@CSV_FILE
@click.option("--list", "list_id", required=True, help="The hotlist the entries go to.")
@click.option("--all-or-nothing", is_flag=True, help="Refuse the whole file when a line is bad.")
@ZONE_OPTION
@DATA_OPTION
def import_hotlist(
    file: Path, list_id: str, all_or_nothing: bool, zone_file: Path | None, data_dir: Path | None
) -> None:
    """Import entries from a CSV file (columns list,entry,plate,category,valid_from,valid_until and optional
    country,priority,reason); plates are normalised, bad lines reported with their line number."""
    with _runtime(zone_file, data_dir) as runtime:
        added = _references(runtime).import_hotlist(list_id, file, cli_actor(), utcnow(), all_or_nothing)
        query = {"list": list_id, "action": "import", "file": str(file)}
        record_cli_action(runtime.audit, Action.HOTLIST_CHANGE, query, stored=added.stored, new=added.new,
                          rejected=len(added.rejected), retroactive_alerts=added.retroactive_alerts)  # fmt: skip
    _show_rejected(added.rejected)
    click.echo(f"{added.stored} entries stored ({added.new} new), {len(added.rejected)} lines rejected, "
               f"{added.retroactive_alerts} retroactive alerts over the last 30 days")  # fmt: skip


@hotlists.command("remove")
@click.argument("list_id")
@click.argument("entry_id")
@ZONE_OPTION
@DATA_OPTION
def remove_entry(list_id: str, entry_id: str, zone_file: Path | None, data_dir: Path | None) -> None:
    """Remove one entry from a hotlist."""
    with _runtime(zone_file, data_dir) as runtime:
        _references(runtime).remove_entry(list_id, entry_id)
        record_cli_action(
            runtime.audit, Action.HOTLIST_CHANGE, {"list": list_id, "entry": entry_id, "action": "remove"}
        )
    click.echo(f"entry {entry_id} removed from {list_id}")


@click.group()
def permits() -> None:
    """Access and truck-lock permits, and emergency vehicles."""


@permits.command("import")
@CSV_FILE
@ZONE_OPTION
@DATA_OPTION
def import_permits(file: Path, zone_file: Path | None, data_dir: Path | None) -> None:
    """Import permits from CSV (permit,type,plate,area,valid_from,valid_until and optional windows such as
    `12345 07:00-09:00;6 08:00-12:00`); type is access, truck_lock or emergency. A bad line refuses the file."""
    rejected: list[RejectedLine] = []
    found = load_permits(file, rejected)
    if rejected:
        _show_rejected(rejected)
        raise invalid_lines(rejected)
    with _runtime(zone_file, data_dir) as runtime:
        stored = _references(runtime).add_permits(found, cli_actor(), utcnow())
        record_cli_action(runtime.audit, Action.CONFIG_CHANGE, {"permits": "import", "file": str(file)}, stored=stored)
    click.echo(f"{stored} permits stored")


@click.group()
def registry() -> None:
    """The vehicle registry extract (plate, EU category, maximum authorised mass) the truck lock reads."""


@registry.command("import")
@CSV_FILE
@ZONE_OPTION
@DATA_OPTION
def import_registry(file: Path, zone_file: Path | None, data_dir: Path | None) -> None:
    """Import a registry extract from CSV (plate,category,max_mass_kg and optional vehicle_type). A bad line
    refuses the file."""
    rejected: list[RejectedLine] = []
    found = load_registry(file, rejected)
    if rejected:
        _show_rejected(rejected)
        raise invalid_lines(rejected)
    with _runtime(zone_file, data_dir) as runtime:
        stored = _references(runtime).add_registry(found, f"file:{file.name}", utcnow())
        record_cli_action(runtime.audit, Action.CONFIG_CHANGE, {"registry": "import", "file": str(file)}, stored=stored)
    click.echo(f"{stored} registry entries stored")
