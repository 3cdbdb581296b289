"""Aggregating a month of flows: 30 days of an 80,000-vehicles-a-day zone (the demo zone), target ≤ 30 s.

The data are built once and kept (`--cache`, default under /tmp): flow records written straight into a flow
store, shaped like the simulated town (entries and exits at the 12 gates, a third of the vehicles through
traffic, section and market-square cameras on the way, weekday and weekend profiles, the class and country
mix), about 3.4 records per vehicle, some 8 million records in all. Generating them through the simulator would
take 8 minutes; the figures only ever see flow records, so this is the same work for them.

Then, timed:
1. **closing the days**: linking each day's records into gate and section trips, once per day (what the live
   pipeline does a quarter of an hour after each local midnight; the build does it for all 30 days here);
2. **the month's figures**: counts per hour (by camera, lane, direction, class) and per day, the daily and weekly
   profiles, the gate OD matrix, travel times with their trend, through traffic and the heavy-vehicle share,
   over the 30 days, with suppression: what an analyst asks for (target ≤ 30 s in all);
3. for information, the OD matrix between four chosen cameras over the month, which walks every raw record.

Run: .venv/bin/python bench/flows_aggregate.py            (first run builds the data: about two minutes)
     .venv/bin/python bench/flows_aggregate.py --quick    (3 days of 20,000 vehicles)
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, OtherLoad, human, print_machine
from cordon.config import ZoneConfig, load_zone
from cordon.flows.records import FlowRecord, day_bounds
from cordon.flows.service import FlowsService
from cordon.flows.store import FlowStore
from cordon.flows.trips import ZoneLayout, day_trips
from cordon.sim.calendar import WEEKDAY, WEEKEND

TARGET_S = 30.0
TZ = "Europe/Brussels"
CLASSES = (("car", 0.85), ("van", 0.10), ("lorry", 0.03), ("motorcycle", 0.015), ("bus", 0.005))
COUNTRIES = (("BE", 0.85), ("NL", 0.06), ("FR", 0.04), ("DE", 0.04), ("LU", 0.01))


def _picker(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> Callable[[], str]:
    values = [v for v, _ in weighted]
    cumulative, total = [], 0.0
    for _, w in weighted:
        total += w
        cumulative.append(total / sum(w for _, w in weighted))
    return lambda: values[min(bisect.bisect_left(cumulative, rng.random()), len(values) - 1)]


def day_records(zone: ZoneConfig, day: str, vehicles: int, rng: random.Random) -> list[FlowRecord]:
    """One local day of flow records of the demo zone."""
    start, _ = day_bounds(day, TZ)
    base = int(start.timestamp())
    weekday = date.fromisoformat(day).isoweekday()
    profile = WEEKEND if weekday >= 6 else WEEKDAY
    hours = [h for h, w in enumerate(profile) for _ in range(round(w * 10))]
    count = int(vehicles * {6: 0.8, 7: 0.6}.get(weekday, 1.0))
    gates = [gate.cameras[0] for gate in zone.gates]
    weights = [3 if any(tag in gate.name for tag in ("N4", "E17")) else 1 for gate in zone.gates]
    vehicle_class, country = _picker(rng, CLASSES), _picker(rng, COUNTRIES)
    out: list[FlowRecord] = []
    for _ in range(count):
        token = rng.randbytes(16)
        cls, ctry = vehicle_class(), country()
        gate_in = rng.choices(gates, weights)[0]
        through = rng.random() < 0.42
        gate_out = rng.choice(gates) if through or rng.random() < 0.2 else gate_in
        at = base + rng.choice(hours) * 3600 + rng.randrange(3600)
        stay = int(60 * (8 * math.exp(rng.gauss(0, 0.3)) if through else 60 * math.exp(rng.gauss(0, 0.8))))
        out.append(FlowRecord(day, at, gate_in, "1", "towards", "entry", cls, ctry, token))
        t = at + 60
        for entry, exit_, chance in (("cam-sec50-a", "cam-sec50-b", 0.35), ("cam-sec90-a", "cam-sec90-b", 0.2)):
            if rng.random() < chance:
                out.append(FlowRecord(day, t, entry, "1", "towards", "internal", cls, ctry, token))
                t += int(rng.gauss(95, 10))
                out.append(FlowRecord(day, t, exit_, "1", "towards", "internal", cls, ctry, token))
        if rng.random() < 0.3:
            out.append(FlowRecord(day, t + 30, "cam-markt", "1", "towards", "internal", cls, ctry, token))
        out.append(FlowRecord(day, max(at + stay, t + 60), gate_out, "2", "away", "exit", cls, ctry, token))
    out.sort(key=lambda r: r.at)  # the sink appends in (about) time order
    return out


def build(path: Path, zone: ZoneConfig, days: list[str], vehicles: int, seed: int) -> None:
    store = FlowStore(path, zone_id=zone.zone.id, timezone=zone.zone.timezone)
    rng = random.Random(seed)
    started, total = time.perf_counter(), 0
    for day in days:
        records = day_records(zone, day, vehicles, rng)
        for offset in range(0, len(records), 50_000):
            store.append(records[offset : offset + 50_000])
        total += len(records)
        print(f"  built {day}: {human(len(records))} records", file=sys.stderr)
    store.close()
    print(f"# built {human(total)} flow records in {time.perf_counter() - started:.0f} s: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--vehicles-per-day", type=int, default=80_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None, help="Folder for the built data (kept between runs).")
    parser.add_argument("--rebuild", action="store_true", help="Build the data again.")
    parser.add_argument("--quick", action="store_true", help="3 days of 20,000 vehicles.")
    args = parser.parse_args()
    if args.quick:
        args.days, args.vehicles_per_day = 3, 20_000
    print_machine()
    zone = load_zone(DEMO_ZONE)
    first = date(2026, 10, 26)
    days = [(first + timedelta(days=n)).isoformat() for n in range(args.days)]
    folder = args.cache or Path(tempfile.gettempdir()) / f"cordon-bench-flows-{args.days}d-{args.vehicles_per_day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "flows.sqlite3"
    if args.rebuild or not path.exists():
        for stale in folder.glob("flows.sqlite3*"):
            stale.unlink()
        build(path, zone, days, args.vehicles_per_day, args.seed)
    store = FlowStore(path, zone_id=zone.zone.id, timezone=zone.zone.timezone)
    layout = ZoneLayout.of(zone)
    print(f"# {human(store.record_count())} flow records, {args.days} days, {human(args.vehicles_per_day)} "
          f"vehicles a weekday")  # fmt: skip

    closed = store.closed_days()
    with OtherLoad() as other:
        started = time.perf_counter()
        trips = 0
        for day in days:
            if day not in closed:
                found = day_trips(store.day_records(day), layout)
                store.close_day(day, found, 0)
                trips += len(found)
        closing = time.perf_counter() - started
    if trips:
        per_day = closing / args.days
        print(f"closing the days (linking trips, once a day):  {closing:6.1f} s for {args.days} days "
              f"({per_day:.2f} s a day), {human(trips)} trips   [other load {other.cores:.2f}]")  # fmt: skip

    service = FlowsService(store, zone, k=5, through_minutes=15)
    a, b = days[0], days[-1]
    figures: list[tuple[str, Callable[[], Any]]] = [
        ("counts per hour, by camera/lane/direction/class", lambda: service.counts(a, b, "hour")),
        ("counts per day, by camera", lambda: service.counts(a, b, "day", ["camera"])),
        ("daily profile", lambda: service.profile(a, b)),
        ("weekly profile", lambda: service.profile(a, b, weekly=True)),
        ("OD matrix between gates", lambda: service.od(a, b)),
        ("travel times and trend", lambda: service.travel_times(a, b)),
        ("through traffic share", lambda: service.through(a, b)),
        ("heavy-vehicle share", lambda: service.heavy_share(a, b)),
    ]
    total = 0.0
    with OtherLoad() as other:
        for name, figure in figures:
            started = time.perf_counter()
            result = figure()
            spent = time.perf_counter() - started
            total += spent
            size = len(getattr(result, "rows", None) or getattr(result, "cells", None) or result.points)
            print(f"  {name:48} {spent:6.2f} s   {human(size):>9} rows")
    verdict = "met" if total <= TARGET_S else "MISSED"
    print(
        f"the month's figures: {total:.1f} s   target <= {TARGET_S:.0f} s: {verdict}   [other load {other.cores:.2f}]"
    )
    cameras = ["cam-n445-north", "cam-markt", "cam-sec50-a", "cam-n47-south"]
    with OtherLoad() as other:
        started = time.perf_counter()
        od = service.od(a, b, cameras)
        spent = time.perf_counter() - started
    print(f"(OD between 4 chosen cameras, from the raw records: {spent:.1f} s, {len(od.cells)} cells)"
          f"   [other load {other.cores:.2f}]")  # fmt: skip
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
