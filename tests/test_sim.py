"""The simulated town: deterministic, truthful when noise is off, noisy as configured, events consistent."""

from __future__ import annotations

import doctest
import itertools
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from cordon.commands.sim import sim
from cordon.config import ZoneConfig, load_zone
from cordon.errors import CordonError
from cordon.ingest.formats import ReadIn
from cordon.ingest.validate import Prepared, prepare_read
from cordon.plates import matching_formats, normalize_plate
from cordon.settings import IngestSettings
from cordon.sim import (
    Delivery,
    NoiseSettings,
    PatternSettings,
    SimSettings,
    Simulation,
    corrected_speed,
    default_end,
    delivery_line,
    load_noise,
    read_deliveries,
    read_truth,
    record_from_json,
    section_route,
    truth_line,
)
from cordon.sim.calendar import to_ms
from cordon.sim.plategen import CountryMix
from cordon.sim.truth import (
    BollardAccess,
    BurglaryStay,
    CameraTruth,
    Convoy,
    HotlistEntryTruth,
    HotlistPassage,
    Passage,
    PermitTruth,
    SectionSpeed,
    ShortVisits,
    Summary,
    TruckStay,
    TruthRecord,
    Unpaired,
    VehicleTruth,
)
from tests.conftest import DEMO_ZONE, ROOT, SMALL_ZONE

END = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # local midnight in Brussels (winter time)


@dataclass
class Run:
    simulation: Simulation
    reads: list[Delivery]
    truth: list[TruthRecord]

    def of(self, kind: type[TruthRecord]) -> list[TruthRecord]:
        return [r for r in self.truth if isinstance(r, kind)]

    def passages(self) -> list[Passage]:
        return [r for r in self.truth if isinstance(r, Passage)]


def simulate(zone: ZoneConfig, noise: NoiseSettings, *, days: float = 2, vehicles: int = 2000, seed: int = 1,
             patterns: PatternSettings | None = None) -> Run:  # fmt: skip
    settings = SimSettings(
        seed=seed, days=days, end=END, vehicles_per_day=vehicles, patterns=patterns or PatternSettings()
    )
    simulation = Simulation(zone, settings, noise)
    reads: list[Delivery] = []
    truth: list[TruthRecord] = []
    for chunk in simulation.run():
        reads.extend(chunk.reads)
        truth.extend(chunk.truth)
    return Run(simulation, reads, truth)


@cache
def demo_zone() -> ZoneConfig:
    return load_zone(DEMO_ZONE)


@cache
def demo_run(noise: str, days: float = 2, vehicles: int = 2000) -> Run:
    return simulate(demo_zone(), load_noise(noise), days=days, vehicles=vehicles)


@cache
def week_run() -> Run:
    """A week at a small scale: enough days for the patterns (k = 3 days, convoys on 2 days)."""
    return simulate(demo_zone(), NoiseSettings(), days=7, vehicles=1500)


def as_bytes(run: Run) -> tuple[bytes, bytes]:
    return b"".join(delivery_line(d) for d in run.reads), b"".join(truth_line(r) for r in run.truth)


# -- determinism ------------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    zone = load_zone(SMALL_ZONE)
    first = as_bytes(simulate(zone, NoiseSettings(), vehicles=800))
    again = as_bytes(simulate(zone, NoiseSettings(), vehicles=800))
    other = as_bytes(simulate(zone, NoiseSettings(), vehicles=800, seed=2))
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def _generate(tmp: Path, name: str, hash_seed: str) -> tuple[bytes, bytes]:
    args = ["generate", "--zone", str(DEMO_ZONE), "--days", "1", "--seed", "7", "--vehicles-per-day", "1500"]
    args += ["--end", "2026-11-27T12:00:00Z", "--out", str(tmp / f"{name}.jsonl"), "--truth", str(tmp / f"{name}.t")]
    code = f"from cordon.commands.sim import sim; sim.main({args!r}, prog_name='cordon sim')"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, timeout=120)
    return (tmp / f"{name}.jsonl").read_bytes(), (tmp / f"{name}.t").read_bytes()


def test_the_files_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """String hashing differs between processes: nothing may depend on set or hash order."""
    assert _generate(tmp_path, "a", "1") == _generate(tmp_path, "b", "2")


def test_traffic_is_the_same_whatever_the_noise() -> None:
    def key(run: Run) -> list[tuple[str, str, str, datetime]]:
        return [(p.vehicle, p.camera, p.lane, p.at) for p in run.passages()]

    assert key(demo_run("off")) == key(demo_run("default"))


# -- noise off: the reads are the truth -------------------------------------------------------------------------


def test_with_noise_off_every_passage_has_exactly_its_read_and_back() -> None:
    run = demo_run("off")
    reads = {(d.read["observedBy"], d.read["eventId"]): d for d in run.reads}
    passages = run.passages()
    assert len(passages) > 5000 and len(reads) == len(passages)
    for passage in passages:
        assert passage.event_id is not None
        delivery = reads.pop((passage.camera, passage.event_id))
        read = delivery.read
        assert normalize_plate(read["licensePlate"]) == passage.plate == passage.read_plate
        assert read["laneId"] == passage.lane
        assert datetime.fromisoformat(read["dateObserved"]) == passage.at
        assert delivery.deliver_at == passage.at
        assert "candidates" not in read
    assert not reads
    times = [d.deliver_at_ms for d in run.reads]
    assert times == sorted(times)


# -- noise: measured rates match the settings --------------------------------------------------------------------


def test_measured_noise_matches_the_settings() -> None:
    noise = NoiseSettings(capture_rate=0.9, misread_rate=0.1, foreign_misread_factor=1.0, late_rate=0.1,
                          late_mean_s=600, clock_fault_rate=0.0, truth_in_candidates_rate=0.8)  # fmt: skip
    run = simulate(demo_zone(), noise, days=1, vehicles=2000)
    passages = run.passages()
    read_passages = [p for p in passages if p.event_id is not None]
    assert len(passages) > 4000
    assert abs(len(read_passages) / len(passages) - 0.9) < 0.015
    misread = [p for p in read_passages if p.read_plate != p.plate]
    assert abs(len(misread) / len(read_passages) - 0.1) < 0.015
    reads = {(d.read["observedBy"], d.read["eventId"]): d for d in run.reads}
    clocks = {c.camera: c for c in run.of(CameraTruth) if isinstance(c, CameraTruth)}
    start = run.simulation.settings.start
    late = 0
    with_truth = 0
    confidence = {True: [], False: []}  # type: dict[bool, list[float]]
    for p in read_passages:
        delivery = reads[(p.camera, p.event_id)]
        clock = clocks[p.camera]
        days = (p.at - start) / timedelta(days=1)
        expected = clock.clock_offset_s + clock.clock_drift_s_per_day * days
        offset = (datetime.fromisoformat(delivery.read["dateObserved"]) - p.at).total_seconds()
        assert abs(offset - expected) <= 0.0015
        late += (delivery.deliver_at - p.at) > timedelta(seconds=5)
        wrong = p.read_plate != p.plate
        confidence[wrong].append(delivery.read["confidence"])
        if wrong:
            with_truth += p.plate in [c["plate"] for c in delivery.read["candidates"]]
    # late reads: 10 %, less the few whose extra delay (mean 600 s) stays under 5 s
    assert abs(late / len(read_passages) - 0.1 * 0.992) < 0.015
    # the truth is put among the candidates 80 % of the time; a look-alike variant of the reading finds it too
    assert 0.75 < with_truth / len(misread) < 0.95
    mean = {k: sum(v) / len(v) for k, v in confidence.items()}
    assert mean[True] < 0.7 < 0.9 < mean[False]
    assert any(not c.in_sync for c in clocks.values()) is False  # no faults asked for
    in_order = [d.deliver_at_ms for d in run.reads]
    assert in_order == sorted(in_order)
    event_order = [to_ms(datetime.fromisoformat(d.read["dateObserved"])) for d in run.reads]
    assert event_order != sorted(event_order), "late reads must arrive out of event-time order"


def test_a_camera_override_and_a_faulty_clock() -> None:
    noise = NoiseSettings.model_validate({"cameras": {"cam-markt": {"capture_rate": 0.5, "clock_offset_s": 3.0}}})
    run = simulate(demo_zone(), noise, days=1, vehicles=1500)
    markt = [p for p in run.passages() if p.camera == "cam-markt"]
    assert 0.4 < sum(p.event_id is not None for p in markt) / len(markt) < 0.6
    clock = next(c for c in run.of(CameraTruth) if isinstance(c, CameraTruth) and c.camera == "cam-markt")
    assert clock.clock_offset_s == 3.0 and not clock.in_sync


# -- every read is a valid camera post ---------------------------------------------------------------------------


def test_every_read_passes_the_real_ingest_checks() -> None:
    run = demo_run("default")
    zone = demo_zone()
    mobile = 0
    for number, delivery in enumerate(run.reads):
        raw = ReadIn.model_validate(delivery.read)
        normalize_plate(raw.license_plate)
        outcome = prepare_read(raw, key_camera=raw.observed_by or "", zone=zone, received=delivery.deliver_at,
                               limits=IngestSettings(), loc=f"reads[{number}]")  # fmt: skip
        assert isinstance(outcome, Prepared), outcome
        assert outcome.read.plate == delivery.plate
        mobile += raw.location is not None
    assert mobile > 0, "the mobile camera made no read"


def test_plates_follow_real_formats() -> None:
    vehicles = [v for v in demo_run("off").truth if isinstance(v, VehicleTruth)]
    countries = defaultdict(int)  # type: defaultdict[str, int]
    current = 0
    for vehicle in vehicles:
        formats = matching_formats(vehicle.display)
        assert normalize_plate(vehicle.display) == vehicle.plate
        assert vehicle.country in {f.country for f in formats}, vehicle
        countries[vehicle.country] += 1
        current += vehicle.country == "BE" and formats[0].name == "BE current"
    assert current / countries["BE"] > 0.8
    assert 0.8 < countries["BE"] / len(vehicles) < 0.99
    assert {"NL", "FR", "DE"} <= set(countries)


def test_foreign_plates_are_more_frequent_near_their_border() -> None:
    def shares(lat: float, lon: float) -> dict[str, float]:
        cumulative = CountryMix(lat, lon).shares()
        steps = [b - a for a, b in zip([0.0, *cumulative], cumulative, strict=False)]
        return dict(zip(CountryMix.COUNTRIES, steps, strict=True))

    zele, kalmthout, arlon = shares(51.07, 4.04), shares(51.39, 4.47), shares(49.68, 5.81)
    assert kalmthout["NL"] > 2 * zele["NL"]
    assert arlon["LU"] > 5 * zele["LU"] and arlon["FR"] > zele["FR"]
    assert zele["BE"] > 0.85


def test_reads_end_before_now_and_fit_the_ingest_window() -> None:
    end = default_end()
    settings = SimSettings(days=1, end=end, vehicles_per_day=300)
    now = datetime.now(UTC)
    for chunk in Simulation(load_zone(SMALL_ZONE), settings).run():
        for delivery in chunk.reads:
            observed = datetime.fromisoformat(delivery.read["dateObserved"])
            assert now - timedelta(days=30) < observed < now + timedelta(seconds=300)
    assert end <= now and end.second == 0


# -- the truth is consistent --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measured", "corrected", "limit", "violation"),
    [(57, 51, 50, True), (56, 50, 50, False), (37, 31, 30, True), (36.99, 30, 30, False), (77, 71, 70, True),
     (100, 94, 90, True), (101, 94, 90, True), (129, 121, 120, True), (128, 120, 120, False)],
)  # fmt: skip
def test_the_belgian_margin(measured: float, corrected: int, limit: int, violation: bool) -> None:
    assert corrected_speed(measured) == corrected
    assert (section_route(corrected, limit, limit <= 50) is not None) == violation


def test_section_speeds_follow_from_their_passages() -> None:
    run = demo_run("default")
    zone = demo_zone()
    at = {(p.vehicle, p.camera, p.at): p for p in run.passages()}
    speeds = [s for s in run.of(SectionSpeed) if isinstance(s, SectionSpeed)]
    assert speeds and any(s.violation for s in speeds) and any(not s.violation for s in speeds)
    assert any(s.route == "gas" for s in speeds) and any(s.route == "prosecutor" for s in speeds)
    for s in speeds:
        section = next(x for x in zone.sections if x.id == s.section)
        entry, exit_ = at[(s.vehicle, s.entry_camera, s.entry_at)], at[(s.vehicle, s.exit_camera, s.exit_at)]
        assert (entry.event_id, exit_.event_id) == (s.entry_event, s.exit_event)
        measured = section.length_m / (s.exit_at - s.entry_at).total_seconds() * 3.6
        assert abs(measured - s.speed_kmh) < 0.001 and measured > s.limit_kmh == section.speed_limit_kmh
        assert s.corrected_kmh == corrected_speed(measured)
        assert s.violation == (s.corrected_kmh > s.limit_kmh)
        if s.violation:
            small = s.corrected_kmh - s.limit_kmh <= 20 and s.limit_kmh <= 50
            assert s.route == ("gas" if small else "prosecutor")


def test_the_dealer_has_short_visits_on_enough_distinct_days() -> None:
    run = week_run()
    k = run.simulation.settings.patterns.short_visit_min_days
    dealers = [s for s in run.of(ShortVisits) if isinstance(s, ShortVisits) and s.role == "dealer"]
    assert len(dealers) == 1 and len(dealers[0].days) >= k and dealers[0].visits >= k
    gates = {c for g in demo_zone().gates for c in g.cameras}
    mine = [p for p in run.passages() if p.vehicle == dealers[0].vehicle and p.camera in gates]
    short_days = set()
    for entry, exit_ in itertools.pairwise(mine):
        if entry.movement == "entry" and exit_.movement == "exit" and exit_.at - entry.at <= timedelta(minutes=20):
            short_days.add((entry.at + timedelta(hours=1)).date().isoformat())  # Brussels in winter
    assert set(dealers[0].days) <= short_days


def test_the_convoy_pair_is_seen_together() -> None:
    run = week_run()
    patterns = run.simulation.settings.patterns
    convoys = [c for c in run.of(Convoy) if isinstance(c, Convoy) and c.designed]
    assert len(convoys) == 1
    convoy = convoys[0]
    assert len(convoy.days) >= patterns.convoy_min_days
    seen = defaultdict(list)  # type: defaultdict[str, list[Passage]]
    for p in run.passages():
        if p.vehicle in convoy.vehicles:
            seen[p.vehicle].append(p)
    together = {
        a.camera
        for a in seen[convoy.vehicles[0]]
        for b in seen[convoy.vehicles[1]]
        if a.camera == b.camera and abs(a.at - b.at) <= timedelta(seconds=patterns.convoy_max_gap_s)
    }
    assert len(together) >= patterns.convoy_min_cameras
    assert together <= set(convoy.cameras)


def test_day_night_and_weekend_profiles() -> None:
    gates = {c for g in demo_zone().gates for c in g.cameras}
    by_weekday = defaultdict(int)  # type: defaultdict[int, int]
    night = daytime = 0
    for p in week_run().passages():
        if p.movement == "entry" and p.camera in gates:
            local = p.at + timedelta(hours=1)  # Brussels in winter; the week covers each weekday once
            by_weekday[local.isoweekday()] += 1
            night += local.hour < 5
            daytime += 7 <= local.hour < 19
    assert by_weekday[7] < by_weekday[6] < min(by_weekday[d] for d in range(1, 6))
    assert 20 * night < daytime


def test_truck_bollard_hotlist_burglary_and_closure_truth() -> None:
    run = week_run()
    vehicles = {v.vehicle: v for v in run.truth if isinstance(v, VehicleTruth)}
    stays = [s for s in run.of(TruckStay) if isinstance(s, TruckStay)]
    assert any(s.candidate for s in stays) and any(s.transit and s.permit for s in stays)
    assert any(not s.transit and s.permit is None for s in stays)  # delivery without permit, long stay
    for s in stays:
        assert vehicles[s.vehicle].category in ("N2", "N3") and s.max_mass_kg > 3500
        assert s.transit == (s.stay_minutes < s.min_stay_minutes)
        assert s.candidate == (s.transit and s.permit is None)
    accesses = [b for b in run.of(BollardAccess) if isinstance(b, BollardAccess)]
    assert any(b.gas_case for b in accesses) and any(b.permitted and not b.emergency for b in accesses)
    for b in accesses:
        assert b.permitted == (b.permit is not None) and b.gas_case == (not b.permitted)
    entries = {h.entry: h for h in run.of(HotlistEntryTruth) if isinstance(h, HotlistEntryTruth)}
    hits = [h for h in run.of(HotlistPassage) if isinstance(h, HotlistPassage)]
    assert len({h.entry for h in hits}) >= 10
    for h in hits:
        entry = entries[h.entry]
        assert entry.vehicle == h.vehicle and entry.valid_from <= h.at < entry.valid_until
    assert all(e.vehicle is None or e.plate == vehicles.get(e.vehicle, e).plate for e in entries.values())
    burglaries = [b for b in run.of(BurglaryStay) if isinstance(b, BurglaryStay)]
    assert burglaries
    for b in burglaries:
        assert 0 <= (b.entry_at + timedelta(hours=1)).hour < 5  # local night
        assert timedelta(minutes=40) < b.exit_at - b.entry_at < timedelta(minutes=120)
        assert b.entry_at < b.incident_from < b.incident_until < b.exit_at
    summary = run.truth[-1]
    assert isinstance(summary, Summary) and summary.counts["sequence_errors"] == 0
    unpaired = [u for u in run.of(Unpaired) if isinstance(u, Unpaired)]
    assert {u.reason for u in unpaired} == {"inside_at_start", "inside_at_end"}
    permits = [p for p in run.of(PermitTruth) if isinstance(p, PermitTruth)]
    assert {p.permit_type for p in permits} == {"truck_lock", "access", "emergency"}


def test_truth_records_survive_json() -> None:
    run = demo_run("default")
    kinds = set()
    for record in run.truth:
        again = record_from_json(orjson.loads(truth_line(record)))
        assert again == record
        kinds.add(record.kind)
    assert {"run", "camera", "vehicle", "passage", "section_speed", "truck_stay", "summary"} <= kinds


# -- settings and the command ------------------------------------------------------------------------------------


def test_noise_settings_are_strict_and_load_from_yaml(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        NoiseSettings.model_validate({"capture": 0.9})
    good = tmp_path / "noise.yaml"
    good.write_text("capture_rate: 0.8\ncameras:\n  cam-markt: {misread_rate: 0.5}\n")
    loaded = load_noise(str(good))
    assert loaded.capture_rate == 0.8 and loaded.cameras["cam-markt"].misread_rate == 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("capture_rate: 2\n")
    with pytest.raises(CordonError, match="capture_rate"):
        load_noise(str(bad))
    assert NoiseSettings.off().is_off and not NoiseSettings().is_off


@pytest.mark.parametrize("zone", [SMALL_ZONE, DEMO_ZONE], ids=["small", "demo"])
def test_the_command_runs_end_to_end(tmp_path: Path, zone: Path) -> None:
    out, truth, fixtures = tmp_path / "reads.jsonl", tmp_path / "truth.jsonl", tmp_path / "fixtures"
    args = ["generate", "--zone", str(zone), "--days", "2", "--vehicles-per-day", "1000", "--seed", "3"]
    args += [
        "--end",
        "2026-11-27T12:00:00+01:00",
        "--out",
        str(out),
        "--truth",
        str(truth),
        "--fixtures",
        str(fixtures),
    ]
    result = CliRunner().invoke(sim, args)
    assert result.exit_code == 0, result.output
    assert "simulated 2 days of zone" in result.output and "reads/s" in result.output
    deliveries = list(read_deliveries(out))
    assert deliveries and all(isinstance(d.to_read_in(), ReadIn) for d in deliveries[:500])
    records = list(read_truth(truth))
    assert records[0].kind == "run" and records[-1].kind == "summary"
    for name, header in (("hotlist.csv", "list,entry,plate"), ("permits.csv", "permit,type,plate"),
                         ("vehicle-registry.csv", "plate,category,vehicle_type,max_mass_kg")):  # fmt: skip
        assert (fixtures / name).read_text().startswith(header)
    plain = tmp_path / "plain.jsonl"
    result = CliRunner().invoke(sim, [*args[:-6], "--out", str(plain), "--plain", "--noise", "off"])
    assert result.exit_code == 0, result.output
    first = orjson.loads(plain.read_bytes().split(b"\n", 1)[0])
    ReadIn.model_validate(first)


def test_the_command_refuses_a_naive_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(sim, ["generate", "--out", str(tmp_path / "r.jsonl"), "--end", "2026-11-27T12:00"])
    assert result.exit_code != 0 and "UTC offset" in result.output


def test_the_benchmark_script_exists() -> None:
    assert (ROOT / "bench" / "sim_generate.py").exists()


def test_doctests() -> None:
    import cordon.sim.calendar
    import cordon.sim.engine
    import cordon.sim.output

    for module in (cordon.sim.calendar, cordon.sim.engine, cordon.sim.output):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
