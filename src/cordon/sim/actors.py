"""The actors the rules and analyses must find, and the lists and permits that make them findable.

Hotlisted vehicles (taken from the everyday traffic, so they behave like everyone else), innocent look-alikes
of hotlisted plates, permit holders and intruders at the bollard streets, truck-lock permits, emergency
vehicles, a home-delivering dealer, a convoy pair, a burglary crew, and the mobile camera's rounds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cordon.sim.calendar import DAY, MINUTE, Calendar, Day, from_ms
from cordon.sim.demand import Demand
from cordon.sim.fleet import Vehicle
from cordon.sim.plategen import Plate
from cordon.sim.truth import HotlistEntryTruth, PermitTruth

_LISTS = (  # list id, category, priority, reason
    ("stolen", "stolen_vehicle", 1, "vehicle reported stolen"),
    ("wanted", "wanted_person", 1, "registered keeper wanted (arrest warrant)"),
    ("sis", "sis_alert", 2, "Schengen Information System alert"),
    ("uninsured", "uninsured", 3, "no valid insurance"),
    ("local", "local_watch", 3, "local watch list (BIN)"),
)
_LOOKALIKE_LETTERS = {"L": "T", "T": "L"}  # look-alike letters that keep a plate in its format
STREET_WINDOWS = {"pedestrian_zone": ("123456 06:00-11:00",), "school_street": ("12345 09:00-15:00",)}


def window_allows(windows: tuple[str, ...], weekday: int, minutes: int) -> bool:
    """Whether permit windows (`"12345 06:00-11:00"`, local time) allow a local weekday and minute."""
    if not windows:
        return True
    for window in windows:
        days, span = window.split(" ")
        start, end = span.split("-")
        lo = int(start[:2]) * 60 + int(start[3:])
        hi = int(end[:2]) * 60 + int(end[3:])
        if str(weekday) in days and lo <= minutes < hi:
            return True
    return False


class Actors:
    """Sets up the special actors and lists, then drives the actors day by day."""

    def __init__(self, demand: Demand, calendar: Calendar) -> None:
        self.demand = demand
        self.calendar = calendar
        self.settings = demand.settings.actors
        self.fleet = demand.fleet
        self.rng = demand.rng
        self.traffic = demand.traffic
        self.road = demand.road
        self.hotlist: list[HotlistEntryTruth] = []
        self.permits: list[PermitTruth] = []
        self.mobile = demand.traffic.mobile
        self._valid_from = from_ms(calendar.start_ms - 90 * DAY)
        self._valid_until = from_ms(calendar.end_ms + 365 * DAY)
        self.period_days = [d for d in calendar.days if d.in_period]
        self.dealers = [
            self.fleet.new("dealer", gate=demand.random_gate(), country="BE") for _ in range(self.settings.dealers)
        ]
        dealer_days = max(demand.settings.patterns.short_visit_min_days + 1, round(0.7 * len(self.period_days)))
        self.dealer_days = {d.index: self._active_days(dealer_days) for d in self.dealers}
        self.convoys = [
            (self.fleet.new("convoy", country="BE"), self.fleet.new("convoy", country=self.rng.choice(("BE", "NL"))))
            for _ in range(self.settings.convoys)
        ]
        self.convoy_days = [self._active_days(max(2, round(0.4 * len(self.period_days)))) for _ in self.convoys]
        self.burglars = [
            self.fleet.new("burglar", country=self.rng.choice(("BE", "FR", "NL")))
            for _ in range(self.settings.burglary_crews)
        ]
        self.burglar_days = [self._active_days(min(2, len(self.period_days))) for _ in self.burglars]
        self._setup_hotlist()
        self._setup_streets()
        self._setup_truck_permits()
        self._setup_mobile()

    def _active_days(self, count: int) -> set[int]:
        days = self.period_days
        return {d.index for d in self.rng.sample(days, min(count, len(days)))}

    # -- lists and permits ----------------------------------------------------------------------------------

    def _setup_hotlist(self) -> None:
        demand, rng = self.demand, self.rng
        sources = [("residents", demand.make_resident, demand.n_residents)]
        sources.append(("commuters", demand.make_commuter, demand.n_commuters))
        sources.append(("through_regular", demand.make_regular, demand.n_regulars))
        sources = [s for s in sources if s[2] > 0]
        chosen: list[Vehicle] = []
        for i in range(self.settings.hotlist_seen if sources else 0):
            name, make, size = sources[i % len(sources)]
            vehicle = self.fleet.from_pool(name, rng.randrange(size), make)
            if vehicle not in chosen:
                chosen.append(vehicle)
        unseen = [
            self.fleet.plates.make(rng.choice(("BE", "BE", "BE", "NL", "FR")))
            for _ in range(self.settings.hotlist_unseen)
        ]
        period = self.calendar.end_ms - self.calendar.start_ms
        items: list[Vehicle | Plate] = [*chosen, *unseen]
        for n, item in enumerate(items):
            plate = item.plate if isinstance(item, Vehicle) else item
            list_id, category, priority, reason = _LISTS[n % len(_LISTS)]
            since = from_ms(self.calendar.start_ms - int(rng.uniform(1, 60) * DAY))
            until = self._valid_until
            if n % 10 == 9:  # an entry that lapses during the period
                until = from_ms(self.calendar.start_ms + int(period * rng.uniform(0.3, 0.7)))
            elif n % 10 == 4:  # a vehicle reported during the period (earlier reads match only retroactively)
                since = from_ms(self.calendar.start_ms + int(period * rng.uniform(0.3, 0.7)))
            self.hotlist.append(
                HotlistEntryTruth(
                    entry=f"hl-{n + 1:04d}",
                    list=list_id,
                    category=category,
                    plate=plate.plate,
                    country=plate.country,
                    reason=reason,
                    priority=priority,
                    valid_from=since,
                    valid_until=until,
                    vehicle=item.id if isinstance(item, Vehicle) else None,
                )
            )
        self._setup_decoys(chosen)

    def _setup_decoys(self, hotlisted: list[Vehicle]) -> None:
        made = 0
        for vehicle in hotlisted:
            if made >= self.settings.hotlist_decoys:
                return
            display = vehicle.plate.display
            for i, ch in enumerate(display):
                if ch in _LOOKALIKE_LETTERS and i > 0:
                    twin = display[:i] + _LOOKALIKE_LETTERS[ch] + display[i + 1 :]
                    plate = self.fleet.plates.claim(twin, vehicle.plate.country)
                    if plate is not None:
                        decoy = self.fleet.new("decoy", plate=plate, gate=self.demand.random_gate(),
                                               home=self.demand.random_district(), inside=True)  # fmt: skip
                        self.demand.extra_residents.append(decoy)
                        made += 1
                    break

    def _permit(self, kind: str, vehicle: Vehicle, area: str, windows: tuple[str, ...] = ()) -> None:
        self.permits.append(
            PermitTruth(
                permit=f"pm-{len(self.permits) + 1:04d}",
                permit_type=kind,
                plate=vehicle.plate.plate,
                area=area,
                valid_from=self._valid_from,
                valid_until=self._valid_until,
                windows=windows,
                vehicle=vehicle.id,
            )
        )

    def _setup_streets(self) -> None:
        demand, rng = self.demand, self.rng
        self.street_vans: list[tuple[int, Vehicle, tuple[str, ...]]] = []
        for place in self.road.street_places:
            street = self.road.zone.bollard_streets[self.road.places[place].street]
            for _ in range(rng.randint(6, 10)):
                resident = self.fleet.new(
                    "street_resident", country="BE", gate=demand.random_gate(), home=place, inside=True
                )
                demand.extra_residents.append(resident)
                self._permit("access", resident, street.id)
            windows = STREET_WINDOWS[street.kind]
            for _ in range(rng.randint(4, 8)):
                van = self.fleet.new("delivery", "N1", gate=demand.random_gate())
                self._permit("access", van, street.id, windows)
                self.street_vans.append((place, van, windows))
        self.emergency: list[Vehicle] = []
        for _ in range(self.settings.emergency_vehicles if self.road.street_places else 0):
            vehicle = self.fleet.new("emergency", "N1", country="BE", gate=demand.random_gate(),
                                     home=demand.districts[0], inside=True)  # fmt: skip
            self.emergency.append(vehicle)
            self._permit("emergency", vehicle, "*")

    def _setup_truck_permits(self) -> None:
        zones = self.road.zone.truck_lock_zones
        if not zones:
            return
        size = self.fleet.pool_size("truck_permit")
        for slot in range(size):
            vehicle = self.fleet.from_pool("truck_permit", slot, lambda: self.demand.make_truck("truck_permit"))
            for zone in zones:
                self._permit("truck_lock", vehicle, zone.id)

    def _setup_mobile(self) -> None:
        spots = len(self.road.spots)
        if not spots:
            return
        for day in self.calendar.days:
            if day.weekday <= 5:
                for start, end in ((7.5, 11.5), (13.0, 17.0)):
                    self.mobile.add(self.rng.randrange(spots), day.at(start), day.at(end))
            elif day.weekday == 6:
                self.mobile.add(self.rng.randrange(spots), day.at(20.0), day.at(23.5))

    # -- one day --------------------------------------------------------------------------------------------

    def generate(self, day: Day) -> None:
        """The actors' trips of one local day."""
        self._streets(day)
        for dealer in self.dealers:
            if day.index in self.dealer_days[dealer.index]:
                self._dealer(dealer, day)
        for (leader, follower), days in zip(self.convoys, self.convoy_days, strict=True):
            if day.index in days:
                self._convoy(leader, follower, day)
        for burglar, days in zip(self.burglars, self.burglar_days, strict=True):
            if day.index in days:
                self._burglary(burglar, day)

    def _streets(self, day: Day) -> None:
        rng, demand, traffic = self.rng, self.demand, self.traffic
        for place, van, windows in self.street_vans:
            if day.weekday <= 6 and rng.random() < 0.6:
                allowed = [h for h in range(24) if window_allows(windows, day.weekday, h * 60)]
                if allowed:
                    at = day.at(rng.choice(allowed) + rng.random() * 0.9)
                    traffic.visit(van, van.gate, place, at, int(rng.uniform(10, 30) * MINUTE), van.gate)
            if rng.random() < 0.08:  # a delivery outside its window: an intrusion
                at = day.at(rng.uniform(15.0, 19.0))
                traffic.visit(van, van.gate, place, at, int(rng.uniform(5, 15) * MINUTE), van.gate)
        if not self.road.street_places:
            return
        for place in self.road.street_places:
            for _ in range(self._poisson(self.settings.bollard_intruders_per_day * demand.day_factor(day))):
                at = day.profile_time(rng)
                for _ in range(10 if demand.n_residents else 0):  # a resident at home and free to drive
                    slot = rng.randrange(demand.n_residents)
                    intruder = self.fleet.from_pool("residents", slot, demand.make_resident)
                    if traffic.errand(intruder, place, at, int(rng.uniform(3, 20) * MINUTE)):
                        break
        for vehicle in self.emergency:
            if rng.random() < 0.3:
                at = day.at(rng.uniform(0, 24))
                traffic.errand(vehicle, rng.choice(self.road.street_places), at, int(rng.uniform(10, 40) * MINUTE))

    def _poisson(self, mean: float) -> int:
        count, total = 0, self.rng.expovariate(1.0) if mean > 0 else 1.0
        while mean > 0 and total < mean:
            count += 1
            total += self.rng.expovariate(1.0)
        return count

    def _dealer(self, dealer: Vehicle, day: Day) -> None:
        rng, demand = self.rng, self.demand
        hour = rng.uniform(10.0, 13.0)
        for _ in range(rng.randint(2, 4)):
            gate = demand.random_gate()
            out = gate if rng.random() < 0.8 else demand.random_gate()
            stay = int(rng.uniform(3, 10) * MINUTE)
            self.traffic.visit(dealer, gate, demand.random_district(), day.at(hour), stay, out)
            hour += rng.uniform(1.0, 3.0)

    def _convoy(self, leader: Vehicle, follower: Vehicle, day: Day) -> None:
        rng, demand, traffic = self.rng, self.demand, self.traffic
        at = day.at(rng.uniform(9.0, 20.0))
        if leader.inside or follower.inside or max(leader.busy_until, follower.busy_until) > at:
            return
        best: tuple[int, int, int, int] | None = None
        for _ in range(20):  # a route past enough distinct cameras to be seen together at >= m of them
            gate_in, place, gate_out = demand.random_gate(), demand.random_district(), demand.random_gate()
            cameras: set[int] = set()
            for route in (self.road.route(gate_in, place), self.road.route(place, gate_out)):
                stops = [route.first] if route.first is not None else []
                stops.extend(leg.stop for leg in route.legs if leg.stop.spot < 0)
                cameras.update(stop.choices[0][0] for stop in stops)
            if best is None or len(cameras) > best[0]:
                best = (len(cameras), gate_in, place, gate_out)
        assert best is not None
        _, gate_in, place, gate_out = best
        first = len(traffic.passages)
        arrive = traffic.drive(leader, gate_in, place, at)
        end = traffic.drive(leader, place, gate_out, arrive + int(rng.uniform(20, 60) * MINUTE))
        last = traffic.passages[-1][0] if len(traffic.passages) > first else end
        follow_end = traffic.follow(follower, first, len(traffic.passages), 1.5, 5.0)
        leader.busy_until = max(end, last) + MINUTE
        follower.busy_until = max(end, follow_end) + MINUTE

    def _burglary(self, burglar: Vehicle, day: Day) -> None:
        rng, demand = self.rng, self.demand
        gate_in = demand.random_gate()
        others = [g for g in demand.gates if g != gate_in] or [gate_in]
        place = rng.choice(demand.districts[1:] or demand.districts)
        stay = int(rng.uniform(45, 75) * MINUTE)
        self.traffic.visit(burglar, gate_in, place, day.at(rng.uniform(1.0, 3.0)), stay, rng.choice(others))


def burglary_incident(entry_at: datetime, exit_at: datetime) -> tuple[datetime, datetime]:
    """The incident window inside a crew's stay: from ten minutes after entry to ten minutes before exit."""
    margin = min((exit_at - entry_at) / 4, timedelta(minutes=10))
    return entry_at + margin, exit_at - margin
