"""The simulator's files: reads (JSON Lines, in delivery order), the truth (JSON Lines), and CSV fixtures.

**Reads.** One delivery per line, in the order the reads reach Cordon (ties by true time):

    {"deliverAt":"2026-11-27T08:15:02.431Z","read":{"observedBy":"cam-n445-north","eventId":...}}

`read` is exactly what the camera posts (Cordon JSON, `ReadIn` field names); `deliverAt` is when it arrives,
by the server's (true) clock. A replayer sends line after line and may sleep `(deliverAt - first) / speed`
between them; sorting by `read.dateObserved` instead gives event-time order. With `plain=True` each line is the
bare read (what `cordon ingest` takes), still in delivery order, without the delivery time.

**Truth.** One record per line with a `kind` (see `cordon.sim.truth`): the header (`run`, `camera`,
`hotlist_entry`, `permit`) first, then vehicles, passages and events in time order, then `summary`.

**Fixtures** (`write_fixtures`): `hotlist.csv`, `permits.csv` and `vehicle-registry.csv`, so that the rules can be
configured with the lists and permits the simulation used; and `camera-clock.csv`, each camera's clock offset
sampled hourly over the period (`clock_reports`), as the cameras' NTP status reports would give it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from cordon.plates import normalize_plate
from cordon.reference import ClockReport
from cordon.sim.calendar import HOUR, from_ms, iso_ms, to_ms
from cordon.sim.fleet import Vehicle
from cordon.sim.noise import Cameras, Delivery
from cordon.sim.truth import HotlistEntryTruth, PermitTruth, TruthRecord, iso, record_from_json
from cordon.timeutil import parse_instant


def delivery_line(delivery: Delivery, plain: bool = False) -> bytes:
    """One line of the reads file."""
    if plain:
        return orjson.dumps(delivery.read) + b"\n"
    return orjson.dumps({"deliverAt": iso_ms(delivery.deliver_at_ms), "read": delivery.read}) + b"\n"


def truth_line(record: TruthRecord) -> bytes:
    """One line of the truth file."""
    return orjson.dumps(record.to_json()) + b"\n"


def write_reads(deliveries: Iterable[Delivery], handle: IO[bytes], plain: bool = False) -> int:
    """Write deliveries (already in delivery order); returns how many."""
    lines = [delivery_line(d, plain) for d in deliveries]
    handle.writelines(lines)
    return len(lines)


def write_truth(records: Iterable[TruthRecord], handle: IO[bytes]) -> int:
    """Write truth records; returns how many."""
    lines = [truth_line(r) for r in records]
    handle.writelines(lines)
    return len(lines)


def read_deliveries(path: Path) -> Iterator[Delivery]:
    """The deliveries of a reads file, in file (delivery) order; bare reads are delivered at `dateObserved`."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path}:{number}: a read must be a JSON object")
            if "read" in data and "deliverAt" in data:
                read, deliver = data["read"], parse_instant(data["deliverAt"])
            else:
                read, deliver = data, parse_instant(data["dateObserved"])
            yield Delivery(to_ms(deliver), read, normalize_plate(read["licensePlate"]))


def replay_offsets(deliveries: Iterable[Delivery], speed: float = 1.0) -> Iterator[tuple[float, Delivery]]:
    """Each delivery with the wall-clock second (after the first delivery) an accelerated replay sends it at.

    >>> d = [Delivery(0, {}, "A"), Delivery(60_000, {}, "B")]
    >>> [(s, x.plate) for s, x in replay_offsets(d, speed=60)]
    [(0.0, 'A'), (1.0, 'B')]
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    first: int | None = None
    for delivery in deliveries:
        if first is None:
            first = delivery.deliver_at_ms
        yield (delivery.deliver_at_ms - first) / 1000 / speed, delivery


def read_truth(path: Path) -> Iterator[TruthRecord]:
    """The records of a truth file, typed."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield record_from_json(orjson.loads(line))


def clock_reports(cameras: Cameras, every_ms: int = HOUR) -> list[ClockReport]:
    """Each camera's clock offset sampled every `every_ms` from the start of the period to its end, from the
    noise model's offset and drift: what the cameras' NTP status reports would say."""
    reports = []
    for index, sensor in enumerate(cameras.sensors):
        for at in range(cameras.start_ms, cameras.end_ms + 1, every_ms):
            offset_s = round(cameras.clock_offset_ms(index, at) / 1000, 4)
            reports.append(ClockReport(sensor.camera, from_ms(at), offset_s))
    return reports


def write_fixtures(
    directory: Path,
    hotlist: list[HotlistEntryTruth],
    permits: list[PermitTruth],
    vehicles: list[Vehicle],
    clocks: Iterable[ClockReport] | None = None,
) -> list[Path]:
    """`hotlist.csv`, `permits.csv`, `vehicle-registry.csv` (Belgian plates only, as the DIV would answer), and
    `camera-clock.csv` when `clocks` are given (see `clock_reports`)."""
    directory.mkdir(parents=True, exist_ok=True)
    rows: dict[str, tuple[list[str], list[list[Any]]]] = {
        "hotlist.csv": (
            ["list", "entry", "plate", "country", "category", "priority", "reason", "valid_from", "valid_until"],
            [
                [
                    h.list,
                    h.entry,
                    h.plate,
                    h.country,
                    h.category,
                    h.priority,
                    h.reason,
                    iso(h.valid_from),
                    iso(h.valid_until),
                ]
                for h in hotlist
            ],
        ),
        "permits.csv": (
            ["permit", "type", "plate", "area", "valid_from", "valid_until", "windows"],
            [
                [p.permit, p.permit_type, p.plate, p.area, iso(p.valid_from), iso(p.valid_until), ";".join(p.windows)]
                for p in permits
            ],
        ),
        "vehicle-registry.csv": (
            ["plate", "category", "vehicle_type", "max_mass_kg"],
            [
                [v.plate.plate, v.category, v.vehicle_type, v.max_mass_kg]
                for v in sorted(vehicles, key=lambda v: v.plate.plate)
                if v.plate.country == "BE"
            ],
        ),
    }
    if clocks is not None:
        rows["camera-clock.csv"] = (
            ["camera", "at", "offset_s"],
            [[c.camera_id, iso(c.at), c.offset_s] for c in clocks],
        )
    written = []
    for name, (header, body) in rows.items():
        path = directory / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(body)
        written.append(path)
    return written
