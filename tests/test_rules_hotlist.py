"""Hotlists: exact, look-alike and edit-distance matching (of the plate and its candidates), validity windows,
per-list modes, one alert per (entry, read) whatever the delivery order, and the score on a simulated day."""

from __future__ import annotations

import doctest
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import cordon.rules.hotlist
import cordon.rules.hotlist_index
from cordon.config import ZoneConfig, load_zone
from cordon.config.rules import HotlistRule as HotlistConfig
from cordon.evaluate import Score, evaluate
from cordon.plates import LOOKALIKE_CLASSES, edit_distance, lookalike_key
from cordon.records import Alert, PlateCandidate, PlateRead, Severity
from cordon.reference import HotlistEntry, ReferenceData
from cordon.rules import RuleEngine, build_rules
from cordon.rules.hotlist import HotlistRule
from cordon.rules.hotlist_index import HotlistIndex, MatchMode, deletion_variants
from cordon.sim import NoiseSettings
from tests.conftest import DEMO_ZONE
from tests.simtown import simulate_town

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FROM, UNTIL = T0 - timedelta(days=30), T0 + timedelta(days=30)
MakeRead = Callable[..., PlateRead]


def entry(plate: str, list_id: str = "stolen", entry_id: str | None = None, **fields: Any) -> HotlistEntry:
    values: dict[str, Any] = {
        "list_id": list_id,
        "entry_id": entry_id or f"{list_id}-{plate}",
        "plate": plate,
        "country": "BE",
        "category": "stolen_vehicle",
        "priority": 1,
        "reason": "vehicle reported stolen",
        "valid_from": FROM,
        "valid_until": UNTIL,
    }
    return HotlistEntry(**{**values, **fields})


def make_rule(zone: ZoneConfig, entries: list[HotlistEntry], **config: Any) -> HotlistRule:
    reference = ReferenceData()
    reference.add_hotlist(entries)
    return HotlistRule(HotlistConfig(id="hotlists", type="hotlist", **config), zone, reference)


def alerts(rule: HotlistRule, read: PlateRead) -> tuple[Alert, ...]:
    state, decision = rule.decide(read, None)
    assert state is None  # hotlist matching keeps no state
    return decision.alerts


def hits(rule: HotlistRule, read: PlateRead) -> list[tuple[str, object, object]]:
    """(entry, match mode, what matched) of every alert of one read."""
    return [(str(a.details["entry"]), a.details["match"], a.details["matched_on"]) for a in alerts(rule, read)]


def with_candidates(make_read: MakeRead, plate: str, *candidates: str, at: datetime = T0) -> PlateRead:
    ranked = tuple(PlateCandidate(plate=c, confidence=0.5 / (k + 1)) for k, c in enumerate(candidates))
    return make_read(plate, at=at, candidates=ranked)


# -- the modes, one table each ----------------------------------------------------------------------------------

LOOKALIKE_PAIRS = [(a, b) for cls in LOOKALIKE_CLASSES for a in sorted(cls) for b in sorted(cls) if a != b]


def test_the_table_covers_every_lookalike_class() -> None:
    assert {frozenset(pair) for pair in LOOKALIKE_PAIRS} == {
        frozenset(p) for p in ("0O", "0D", "0Q", "OD", "OQ", "DQ", "1I", "1L", "1T", "IL", "IT", "LT")
    } | {frozenset("2Z"), frozenset("5S"), frozenset("6G"), frozenset("8B")}
    assert len(LOOKALIKE_PAIRS) == 32


@pytest.mark.parametrize(("listed", "read"), LOOKALIKE_PAIRS)
def test_lookalike_characters_match_in_lookalike_mode_only(
    zone: ZoneConfig, make_read: MakeRead, listed: str, read: str
) -> None:
    on_list, as_read = f"1KX{listed}734", f"1KX{read}734"
    hotlist = [entry(on_list)]
    assert hits(make_rule(zone, hotlist, match="lookalike"), make_read(as_read, at=T0)) == [
        (f"stolen-{on_list}", "lookalike", "plate")
    ]
    assert hits(make_rule(zone, hotlist, match="exact"), make_read(as_read, at=T0)) == []
    assert hits(make_rule(zone, hotlist, match="exact"), make_read(on_list, at=T0)) == [
        (f"stolen-{on_list}", "exact", "plate")
    ]


@pytest.mark.parametrize(
    ("listed", "read"),
    [
        ("1ABC234", "1ABC284"),  # 3 and 8: no look-alikes
        ("1ABC234", "1A6C234"),  # B is 8's class, 6 is G's
        ("1ABC234", "1ABC2344"),  # a character more is not a look-alike
        ("1ABC234", "1ABC23"),  # nor one less
        ("1ABC234", "IABC2B4"),  # I/1 is, but 3/B is not
        ("1KX5734", "1KXZ734"),  # 5/S and 2/Z are different classes
        ("1KX0734", "1KX8734"),  # 0/O/D/Q and 8/B too
    ],
)
def test_other_characters_do_not_match_by_lookalike(
    zone: ZoneConfig, make_read: MakeRead, listed: str, read: str
) -> None:
    assert hits(make_rule(zone, [entry(listed)], match="lookalike"), make_read(read, at=T0)) == []


@pytest.mark.parametrize(
    ("listed", "read", "max_distance", "distance"),
    [
        ("1ABC234", "1ABC284", 1, 1),  # one substitution
        ("1ABC234", "1ABC2345", 1, 1),  # one insertion
        ("1ABC234", "1ABC34", 1, 1),  # one deletion
        ("1ABC234", "ABC234", 1, 1),  # the index digit lost
        ("1ABC234", "1ABC289", 1, None),  # two substitutions: beyond 1 ...
        ("1ABC234", "1ABC289", 2, 2),  # ... within 2
        ("1ABC234", "1ACB234", 1, None),  # a transposition costs 2
        ("1ABC234", "1ACB234", 2, 2),
        ("1ABC234", "1AB234", 2, 1),
        ("1ABC234", "1A234", 2, 2),  # two deletions
        ("1ABC234", "1A34", 2, None),  # three
        ("1ABC234", "1ABC284", 0, None),  # fuzzy within 0 is look-alike matching
        ("1ABC234", "I48C234", 1, 1),  # look-alike substitutions (I/1, B/8) are free, 4/A costs 1
        ("1ABC234", "IA8CZ345", 1, 1),  # free look-alikes and one insertion
        ("1ABC234", "1XYZ234", 2, None),
        ("AB123CD", "AB123C", 1, 1),  # a French plate with its last letter lost
    ],
)
def test_edit_distance_boundaries(
    zone: ZoneConfig, make_read: MakeRead, listed: str, read: str, max_distance: int, distance: int | None
) -> None:
    rule = make_rule(zone, [entry(listed)], match="fuzzy", max_distance=max_distance)
    found = alerts(rule, make_read(read, at=T0))
    if distance is None:
        assert found == ()
        return
    (alert,) = found
    assert (alert.details["match"], alert.details["distance"]) == ("fuzzy", distance)
    assert edit_distance(lookalike_key(listed), lookalike_key(read)) == distance


def test_fuzzy_reports_the_strictest_match(zone: ZoneConfig, make_read: MakeRead) -> None:
    rule = make_rule(zone, [entry("1ABC234")], match="fuzzy", max_distance=2)
    assert hits(rule, make_read("1ABC234", at=T0)) == [("stolen-1ABC234", "exact", "plate")]
    assert hits(rule, make_read("1A8C234", at=T0)) == [("stolen-1ABC234", "lookalike", "plate")]


# -- candidates -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plate", "candidates", "match", "use_candidates", "expected"),
    [
        # a dropped character read; the camera's second candidate holds the truth
        ("1ABC23", ("1ABC23", "1ABC234"), "exact", True, [("exact", "candidate", 2, "1ABC234")]),
        ("1ABC23", ("1ABC23", "1ABC234"), "exact", False, []),
        ("1ABC23", ("1ABC23", "1A8C234"), "exact", True, []),
        ("1ABC23", ("1ABC23", "1A8C234"), "lookalike", True, [("lookalike", "candidate", 2, "1A8C234")]),
        # the plate itself matched: its candidates add nothing, and there is one alert
        ("1ABC234", ("1ABC234", "1A8C234", "IABC234"), "lookalike", True, [("exact", "plate", None, "1ABC234")]),
        # an exact candidate beats a look-alike plate
        ("1A8C234", ("1A8C234", "1ABC234"), "lookalike", True, [("exact", "candidate", 2, "1ABC234")]),
        # the better-ranked of two candidates
        ("1ABC2", ("1ABC2", "1ABC24", "1ABC234", "1ABC234"), "exact", True, [("exact", "candidate", 3, "1ABC234")]),
        ("1XYZ999", ("1XYZ999", "1XYZ998"), "fuzzy", True, []),
    ],
)
def test_candidates(
    zone: ZoneConfig,
    make_read: MakeRead,
    plate: str,
    candidates: tuple[str, ...],
    match: MatchMode,
    use_candidates: bool,
    expected: list[tuple[str, str, int | None, str]],
) -> None:
    rule = make_rule(zone, [entry("1ABC234")], match=match, use_candidates=use_candidates)
    found = alerts(rule, with_candidates(make_read, plate, *candidates))
    assert [
        (a.details["match"], a.details["matched_on"], a.details["candidate_rank"], a.details["matched_plate"])
        for a in found
    ] == expected


# -- validity, lists, the alert ---------------------------------------------------------------------------------

TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("at", "alerted"),
    [(FROM - TICK, False), (FROM, True), (T0, True), (UNTIL - TICK, True), (UNTIL, False), (UNTIL + TICK, False)],
)
def test_validity_window_edges(zone: ZoneConfig, make_read: MakeRead, at: datetime, alerted: bool) -> None:
    """An entry is valid from `valid_from` (included) until `valid_until` (excluded), by the read's event time."""
    for match in ("exact", "lookalike", "fuzzy"):
        rule = make_rule(zone, [entry("1ABC234")], match=match)
        assert bool(alerts(rule, make_read("1ABC234", at=at))) is alerted
        assert bool(alerts(rule, make_read("1A8C234", at=at))) is (alerted and match != "exact")
        assert bool(alerts(rule, make_read("1ABC284", at=at))) is (alerted and match == "fuzzy")


def test_an_expired_entry_does_not_hide_a_valid_one(zone: ZoneConfig, make_read: MakeRead) -> None:
    old = entry("1ABC234", entry_id="old", valid_until=T0 - timedelta(days=1))
    rule = make_rule(zone, [old, entry("1ABC234", entry_id="new")])
    assert hits(rule, make_read("1ABC234", at=T0)) == [("new", "exact", "plate")]


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("1ABC234", ["local-1", "sis-1", "stolen-1", "uninsured-1"]),  # every list matches exactly
        ("1A8C234", ["local-1", "sis-1", "stolen-1"]),  # uninsured is exact only
        ("1ABC284", ["stolen-1"]),  # only stolen is fuzzy
        ("1ABC289", []),
    ],
)
def test_matching_mode_per_list(zone: ZoneConfig, make_read: MakeRead, read: str, expected: list[str]) -> None:
    hotlist = [entry("1ABC234", list_id=name, entry_id=f"{name}-1") for name in ("stolen", "uninsured", "sis", "local")]
    rule = make_rule(zone, hotlist, match="lookalike", lists={"stolen": "fuzzy", "uninsured": "exact"})
    assert [a.details["entry"] for a in alerts(rule, make_read(read, at=T0))] == expected
    assert [rule.mode_of(name) for name in ("stolen", "uninsured", "sis", "elsewhere")] == [
        "fuzzy", "exact", "lookalike", "lookalike"
    ]  # fmt: skip


def test_a_list_mode_must_be_known() -> None:
    with pytest.raises(ValueError, match="lists"):
        HotlistConfig(id="hotlists", type="hotlist", lists={"stolen": "soundex"})


def test_the_alert_says_what_matched_and_why(zone: ZoneConfig, make_read: MakeRead) -> None:
    listed = entry("1ABC234", list_id="sis", entry_id="hl-7", category="sis_alert", priority=2, reason="SIS alert")
    rule = make_rule(zone, [listed])
    read = with_candidates(make_read, "1A8C23", "1A8C23", "1A8C234")
    (alert,) = alerts(rule, read)
    assert (alert.rule_id, alert.rule_type, alert.category, alert.severity) == (
        "hotlists", "hotlist", "sis_alert", Severity.WARNING
    )  # fmt: skip
    assert (alert.plate, alert.camera_id, alert.date_observed) == ("1A8C23", read.observed_by, T0)
    assert alert.read_ids == ((read.observed_by, read.event_id),)
    assert alert.details == {
        "list": "sis", "entry": "hl-7", "entry_plate": "1ABC234", "entry_country": "BE", "category": "sis_alert",
        "priority": 2, "reason": "SIS alert", "valid_until": "2026-12-20T08:00:00Z", "list_mode": "lookalike",
        "match": "lookalike", "matched_on": "candidate", "candidate_rank": 2, "matched_plate": "1A8C234",
        "distance": 0, "read_country": None,
    }  # fmt: skip
    assert "1-ABC-234" in alert.message and "look-alike on candidate 2 1A8C234" in alert.message
    assert alerts(rule, read)[0].alert_id == alert.alert_id  # re-deciding after a restart: the same id


@pytest.mark.parametrize(("priority", "severity"), [(0, "critical"), (1, "critical"), (2, "warning"), (3, "info")])
def test_priority_gives_the_severity(zone: ZoneConfig, make_read: MakeRead, priority: int, severity: str) -> None:
    (alert,) = alerts(make_rule(zone, [entry("1ABC234", priority=priority)]), make_read("1ABC234", at=T0))
    assert alert.severity.value == severity


def test_one_alert_per_entry_and_read(zone: ZoneConfig, make_read: MakeRead) -> None:
    both = [entry("1ABC234", list_id="stolen", entry_id="a"), entry("1ABC234", list_id="wanted", entry_id="b")]
    rule = make_rule(zone, both, match="fuzzy")
    first = make_read("1ABC234", at=T0, candidates=(PlateCandidate(plate="1ABC23", confidence=0.4),))
    second = make_read("1ABC234", at=T0 + timedelta(minutes=3))
    ids = [a.alert_id for read in (first, second) for a in alerts(rule, read)]
    assert len(ids) == len(set(ids)) == 4
    assert hits(rule, first) == [("a", "exact", "plate"), ("b", "exact", "plate")]


def test_an_empty_hotlist_never_alerts(zone: ZoneConfig, make_read: MakeRead) -> None:
    assert alerts(make_rule(zone, [], match="fuzzy"), make_read("1ABC234", at=T0)) == ()


# -- through the engine: registered, order-independent ----------------------------------------------------------


def engine_for(zone: ZoneConfig, entries: list[HotlistEntry], grace_s: float = 60) -> RuleEngine:
    reference = ReferenceData()
    reference.add_hotlist(entries)
    config = HotlistConfig(id="hotlists", type="hotlist", match="lookalike")
    rules, missing = build_rules(zone.model_copy(update={"rules": (config,)}), reference)
    assert ([rule.type for rule in rules], missing) == (["hotlist"], [])  # found through the entry points
    return RuleEngine(rules, grace_s=grace_s)


def test_same_alerts_in_any_delivery_order_even_late(zone: ZoneConfig, make_read: MakeRead) -> None:
    hotlist = [entry("1ABC234"), entry("2XYZ999", list_id="wanted", valid_from=T0 + timedelta(minutes=30))]
    plates = ["1ABC234", "1A8C234", "2XYZ999", "2XYZ998", "1QQQ111"]
    reads = [make_read(plates[i % 5], at=T0 + timedelta(minutes=i)) for i in range(60)]
    shuffled = reads[:]
    random.Random(4).shuffle(shuffled)
    results = []
    for order in (reads, list(reversed(reads)), shuffled, reads[1::2] + reads[::2]):
        engine = engine_for(zone, hotlist)  # a 60 s grace: most of these arrive far too late for it
        decision = engine.process(order) + engine.flush()
        results.append(sorted(a.alert_id for a in decision.alerts))
        assert engine.state_size() == 0
    assert results[0] == results[1] == results[2] == results[3]
    assert len(results[0]) == 12 + 12 + 6  # 1ABC234 and its look-alike always; 2XYZ999 from minute 30 only


# -- the index ---------------------------------------------------------------------------------------------------


def test_deletion_variants() -> None:
    assert sorted(deletion_variants("ABC", 2)) == ["A", "AB", "ABC", "AC", "B", "BC", "C"]
    assert deletion_variants("AB", 0) == {"AB"}


@pytest.mark.parametrize("max_distance", [1, 2, 3])
def test_symmetric_delete_finds_exactly_what_a_full_scan_finds(max_distance: int) -> None:
    rng = random.Random(max_distance)
    alphabet = "0ODQ1IT2Z5S8BAEKXY"  # few characters, so that near plates are common
    listed = {"".join(rng.choices(alphabet, k=rng.randint(4, 8))) for _ in range(400)}
    index = HotlistIndex([entry(p) for p in listed], lambda _: "fuzzy", max_distance)
    for _ in range(300):
        plate = "".join(rng.choices(alphabet, k=rng.randint(3, 9)))
        found = {(m.entry.plate, m.distance) for m in index.match((plate,), T0) if m.mode != "exact"}
        key = lookalike_key(plate)
        scanned = {
            (p, edit_distance(key, lookalike_key(p)))
            for p in listed
            if p != plate and edit_distance(key, lookalike_key(p), max_distance) <= max_distance
        }
        assert found == scanned


def test_entries_added_later_are_matched(make_read: MakeRead) -> None:
    index = HotlistIndex([], lambda _: "fuzzy", 1)
    assert index.match(("1ABC284",), T0) == []  # remembered as "nothing near" ...
    index.add(entry("1ABC234"))
    assert [m.mode for m in index.match(("1ABC284",), T0)] == ["fuzzy"]  # ... and forgotten on a new entry
    assert index.size == 1


def test_doctests() -> None:
    for module in (cordon.rules.hotlist, cordon.rules.hotlist_index):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


# -- scored on a simulated day ------------------------------------------------------------------------------------

END = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SimulatedDay:
    reads: Path
    truth: Path
    reference: ReferenceData


def simulated_day(folder: Path, noise: NoiseSettings) -> SimulatedDay:
    town = simulate_town(folder, noise, end=END, seed=11)
    return SimulatedDay(town.reads, town.truth, town.reference)


@pytest.fixture(scope="module")
def noisy_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedDay]:
    yield simulated_day(tmp_path_factory.mktemp("noisy"), NoiseSettings())


@pytest.fixture(scope="module")
def exact_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatedDay]:
    yield simulated_day(tmp_path_factory.mktemp("exact"), NoiseSettings.off())


def score(day: SimulatedDay, **config: Any) -> tuple[Score, str]:
    zone = load_zone(DEMO_ZONE)
    only_hotlist = zone.model_copy(update={"rules": (HotlistConfig(id="hotlists", type="hotlist", **config),)})
    evaluation = evaluate(only_hotlist, day.reads, day.truth, day.reference)
    return evaluation.scores["hotlist"], evaluation.notes["hotlist"]


def test_lookalike_matching_reaches_the_recall_target_with_camera_noise(noisy_day: SimulatedDay) -> None:
    found, note = score(noisy_day, match="lookalike")
    assert found.tp > 50
    assert found.recall >= 0.98, note
    assert found.precision >= 0.9, note
    assert "false by cause: decoy" in note or found.fp == 0, note  # the simulation's innocent look-alikes


def test_candidates_recover_what_the_plate_alone_misses(noisy_day: SimulatedDay) -> None:
    with_them, _ = score(noisy_day, match="exact", use_candidates=True)
    without, _ = score(noisy_day, match="exact", use_candidates=False)
    assert with_them.tp > without.tp and with_them.fp == without.fp == 0


def test_without_noise_exact_matching_is_perfect_and_lookalike_adds_only_decoys(exact_day: SimulatedDay) -> None:
    exact, _ = score(exact_day, match="exact")
    assert exact.tp > 50 and (exact.fp, exact.fn) == (0, 0)
    lookalike, note = score(exact_day, match="lookalike")
    assert (lookalike.tp, lookalike.fn) == (exact.tp, 0)
    assert f"false by cause: decoy {lookalike.fp};" in note or lookalike.fp == 0, note
