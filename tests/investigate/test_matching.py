"""Wildcard and fuzzy matching tables, on a real store (the distinct-plate and candidate indexes of 0004)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from cordon.investigate import Investigation
from cordon.investigate.index import SearchIndex
from cordon.investigate.queries import FuzzySearch, WildcardSearch, wildcard_glob
from cordon.investigate.reads import _TAIL_PLATES
from cordon.records import PlateCandidate, PlateRead
from cordon.runtime import Runtime
from tests.investigate.conftest import INVESTIGATOR, JUDICIAL

NOW = datetime.now(UTC)
PLATES = ("1ABC234", "IABC234", "1A8C234", "1ABC284", "1ABC2345", "1ABD234", "1ABC2", "ABC23", "1XYZ234", "2ABC234",
          "1AB0234", "AB123CD")  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "glob"),
    [("1-AB?-2*", "1AB?2*"), ("1 ab? 2**", "1AB?2*"), ("*c-234", "*C234"), ("??-123-cd", "??123CD"),
     ("1.ABC.234", "1ABC234")],
)  # fmt: skip
def test_wildcards_ignore_separators(typed: str, glob: str) -> None:
    assert wildcard_glob(typed) == glob


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("*", "too broad"), ("1*", "too broad"), ("?-?", "too broad"), ("1-AB€-2*", "no plate carries: '€'"),
     ("1[AB]2", r"no plate carries: '\['"), ("", "empty wildcard")],
)  # fmt: skip
def test_impossible_or_too_broad_wildcards_are_refused(typed: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        WildcardSearch(pattern=typed)


@pytest.fixture(params=["indexed", "not indexed yet"])
def stored(
    request: pytest.FixtureRequest, fresh: Callable[..., Investigation], make_read: Callable[..., PlateRead]
) -> Investigation:
    """The same reads, once brought into the search index and once still past its cursor (just ingested)."""
    investigation = fresh()
    runtime: Runtime = fresh.runtime  # type: ignore[attr-defined]
    reads = [make_read(plate, at=NOW - timedelta(hours=1), lane_id="1") for plate in PLATES]
    candidates = (PlateCandidate(plate="7QQQ999", confidence=0.5), PlateCandidate(plate="1ABC234", confidence=0.3))
    reads.append(make_read("7QQQ999", at=NOW - timedelta(hours=2), lane_id="1", candidates=candidates))
    runtime.store.append(reads)
    if request.param == "indexed":
        assert SearchIndex(investigation.db, batch=5).catch_up().reads == len(reads)
    return investigation


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1-AB?-2*", {"1ABC234", "1ABC284", "1ABC2345", "1ABD234", "1ABC2", "1AB0234"}),
        ("*C234", {"1ABC234", "IABC234", "1A8C234", "2ABC234"}),
        ("?ABC234", {"1ABC234", "IABC234", "2ABC234"}),
        ("AB*", {"ABC23", "AB123CD"}),
        ("1XY?234", {"1XYZ234"}),
        ("9ZZ*", set()),
    ],
)
def test_wildcard_table(stored: Investigation, typed: str, expected: set[str]) -> None:
    result = stored.consult(INVESTIGATOR, JUDICIAL, WildcardSearch(pattern=typed))
    found = {r.read.plate for r in result.reads}
    assert found == expected
    assert found == {p for p in PLATES if fnmatch.fnmatchcase(p, wildcard_glob(typed))}
    assert result.plates_matched == len(expected)


@pytest.mark.parametrize(
    ("distance", "expected"),
    [
        (0, {"1ABC234": "exact", "IABC234": "lookalike", "1A8C234": "lookalike", "7QQQ999": "candidate"}),
        (1, {"1ABC234": "exact", "IABC234": "lookalike", "1A8C234": "lookalike", "1ABC284": "distance",
             "1ABC2345": "distance", "1ABD234": "distance", "2ABC234": "distance", "1AB0234": "distance",
             "7QQQ999": "candidate"}),
        (2, {"1ABC234": "exact", "IABC234": "lookalike", "1A8C234": "lookalike", "1ABC284": "distance",
             "1ABC2345": "distance", "1ABD234": "distance", "2ABC234": "distance", "1AB0234": "distance",
             "1ABC2": "distance", "ABC23": "distance", "7QQQ999": "candidate"}),
    ],
)  # fmt: skip
def test_fuzzy_table(stored: Investigation, distance: int, expected: dict[str, str]) -> None:
    result = stored.consult(INVESTIGATOR, JUDICIAL, FuzzySearch(plate="1-ABC-234", max_distance=distance))
    assert {r.read.plate: r.match for r in result.reads} == expected
    levels = ["exact", "lookalike", "candidate", "distance"]
    assert [levels.index(r.match or "") for r in result.reads] == sorted(levels.index(m) for m in expected.values())


def test_wildcard_and_fuzzy_use_the_plate_indexes(stored: Investigation) -> None:
    connection = stored.db.connection()

    def plan(sql: str, *params: str) -> str:
        return " ".join(str(row) for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", params))

    assert "PRIMARY KEY" in plan("SELECT plate FROM plate_index WHERE plate GLOB ?", "1AB?2*")
    assert "ix_plate_index_lookalike" in plan("SELECT plate FROM plate_index WHERE lookalike GLOB ?", "1A8*")
    assert "ix_plate_index_lookalike_rev" in plan("SELECT plate FROM plate_index WHERE lookalike_rev GLOB ?", "43*")
    assert "PRIMARY KEY" in plan("SELECT read_id FROM read_candidates WHERE lookalike = ?", "1A8C234")
    # the reads past the index's cursor: a rowid range, never a walk of a reads index
    tail = plan("SELECT plate FROM reads NOT INDEXED WHERE id > ? AND plate GLOB ?", "5", "1AB?2*")
    assert "INTEGER PRIMARY KEY (rowid>?)" in tail and "ix_reads" not in tail
    assert "ix_reads" not in plan(_TAIL_PLATES, "5")
