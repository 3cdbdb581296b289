"""The traffic mix and the one rule that names a plate's format and country: the decoder, the vote over a video
track and ingest (for a camera that sends no country) all follow it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from cordon.api import create_app
from cordon.config import ConfigError, parse_zone
from cordon.plate_grammar import format_strings
from cordon.plates import FORMATS, normalize_plate
from cordon.recognize.decode import GrammarDecoder
from cordon.recognize.stages import PAD, Box, Candidate, Recognition, SlotProbs
from cordon.recognize.video import Sighting, vote
from cordon.runtime import build_runtime
from cordon.settings import Settings
from cordon.traffic_mix import TrafficMix, check_traffic_mix, parse_traffic_mix
from tests.conftest import SMALL_ZONE, read_json

SHARED_LAYOUTS = ["AB1234", "12AB34", "ABC123", "1ABC234", "12ABC3", "AB123CD", "1234AB56", "XY3456", "BAB1234"]
"""Texts that fit two formats or more, of different countries for most."""


def test_a_traffic_mix_sets_countries_and_formats() -> None:
    entries = parse_traffic_mix(" nl=0.2, BE current=0.5 ,DE=0.05")
    assert entries == {"NL": 0.2, "BE current": 0.5, "DE": 0.05}
    mix = TrafficMix().with_entries(entries)
    assert mix.share("NL sidecode 1", "NL") == pytest.approx(0.2 / 14)
    assert mix.share("BE current", "BE") == 0.5
    assert mix.share("FR SIV", "FR") == TrafficMix().share("FR SIV", "FR")  # unnamed: the default
    assert TrafficMix().share("NL sidecode 1", "NL") == pytest.approx(0.05 / 14)  # the default is untouched


@pytest.mark.parametrize("bad", ["", "NL", "=0.2", "XX=0.1", "NL=0", "NL=1.5", "NL=x", "NL=0.1,NL=0.2", "nl=.1,NL=.2"])
def test_a_bad_traffic_mix_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="traffic mix"):
        parse_traffic_mix(bad)


@pytest.mark.parametrize("bad", [{"XX": 0.1}, {"NL": 0.0}, {"NL": 2.0}, {"NL": True}, {"nl": 0.1, "NL": 0.2}])
def test_bad_traffic_mix_entries_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="traffic mix entry"):
        check_traffic_mix(bad)


def test_the_likeliest_format_is_per_string_under_the_mix() -> None:
    default, dutch = TrafficMix(), TrafficMix().with_entries({"NL": 0.2})
    assert [f.name for f in FORMATS if f.pattern.match("AB1234")][:2] == ["LU", "NL sidecode 1"]
    assert default.likeliest_format("AB1234").name == "LU"  # type: ignore[union-attr]
    assert dutch.likeliest_format("AB1234").name == "NL sidecode 1"  # type: ignore[union-attr]
    # Per string, not per format: the Belgian 1973-2008 series has far fewer strings than German plates.
    assert default.likeliest_format("ABC123").name == "BE 1973-2008"  # type: ignore[union-attr]
    assert format_strings("BE 1973-2008", 6) == 26**3 * 10**3
    assert default.likeliest_format("123456") is None
    assert default.country_of("123456") is None


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("1-ABC-234", "BE"),
        ("2-XYZ-999", "BE"),
        ("ABC-123", "BE"),
        ("123-ABC", "BE"),
        ("Q-ABC-123", "BE"),
        ("CD-AB-123", "BE"),
        ("JOHN", "BE"),
        ("12-ABC-3", "NL"),
        ("XT-347-S", "NL"),
        ("7-JS-502", "NL"),
        ("K-812-FJ", "NL"),
        ("AB-123-CD", "FR"),
        ("1234 AB 56", "FR"),
        ("B AB 1234", "DE"),
        ("TÖL BA 218", "DE"),
        ("XY 3456", "LU"),
        ("12345", "LU"),
        ("1234 BCD", "ES"),
        ("PO 123AC", "PL"),
        ("5T8 1234", "CZ"),
        ("CA 1234 AB", "BG"),
        ("VD 12345", "CH"),
        ("123456", None),
        ("1234567890", None),
    ],
)
def test_the_country_of_a_plate_in_a_belgian_zone(text: str, country: str | None) -> None:
    assert TrafficMix().country_of(text) == country


def _sure(text: str) -> SlotProbs:
    """A reader that is all but certain of `text`."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + PAD
    probs = np.full((10, len(alphabet)), 1e-6, dtype=np.float32)
    for i in range(10):
        probs[i, alphabet.index(text[i] if i < len(text) else PAD)] = 1.0
    return SlotProbs(alphabet, probs / probs.sum(axis=1, keepdims=True))


def _zone_text(mix: str | None) -> str:
    text = SMALL_ZONE.read_text(encoding="utf-8")
    return text if mix is None else text + f"traffic_mix: {mix}\n"


def _stored_country(tmp_path: Path, zone_text: str, plate: str) -> str | None:
    """The country ingest gives a read posted over HTTP without one, in a zone with that zone file."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    zone_file = tmp_path / "zone.yaml"
    zone_file.write_text(zone_text, encoding="utf-8")
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", zone_file=zone_file))
    runtime.start()
    try:
        key = runtime.keyring.issue("cam-north", "test")
        with TestClient(create_app(runtime.settings, runtime)) as client:
            response = client.post("/api/v1/reads", json=read_json(plate), headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 201, response.text
        (read,) = runtime.store.plate_history(normalize_plate(plate))
        return read.country
    finally:
        runtime.stop()


@pytest.mark.parametrize("mix", [None, "{NL: 0.2}", "{FR: 0.3, LU: 0.001}", "{'BE 1973-2008': 0.0001, DE: 0.5}"])
def test_decoder_vote_and_ingest_name_the_same_country(mix: str | None, tmp_path: Path) -> None:
    zone = parse_zone(_zone_text(mix))
    traffic = zone.plate_mix()
    decoder = GrammarDecoder(mix=traffic)
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    crop = np.zeros((25, 100, 3), np.uint8)
    for text in SHARED_LAYOUTS:
        decoded = decoder.decode(_sure(text), top=1)[0]  # a mix that favours a country may bend a look-alike
        frames = [
            Sighting(i, at, Recognition((Candidate(decoded.plate, 0.9),), Box(10 + i, 10, 100, 25)), crop)
            for i in range(3)
        ]
        voted = vote(1, frames, traffic).recognition.best
        assert (decoded.country, decoded.format_name) == (voted.country, voted.format_name), text
        assert decoded.country == traffic.country_of(decoded.plate), text
    # Ingest, through the real HTTP API and store, for the text whose country the mix changes most often.
    assert _stored_country(tmp_path, _zone_text(mix), "AB1234") == traffic.country_of("AB1234")


def test_a_zones_traffic_mix_changes_the_country_ingest_gives(tmp_path: Path) -> None:
    assert _stored_country(tmp_path / "be", _zone_text(None), "AB-12-34") == "LU"
    assert _stored_country(tmp_path / "nl", _zone_text("{NL: 0.2}"), "AB-12-34") == "NL"


@pytest.mark.parametrize(
    ("mix", "message"),
    [("{XX: 0.1}", "'XX' is neither a country"), ("{NL: 0}", "above 0 and at most 1"), ("{NL: lots}", "valid number")],
)
def test_a_zone_file_with_a_bad_traffic_mix_is_refused_at_its_line(mix: str, message: str) -> None:
    text = _zone_text(mix)
    with pytest.raises(ConfigError) as caught:
        parse_zone(text)
    (issue,) = caught.value.issues
    assert issue.path.startswith("traffic_mix")
    assert message in issue.message
    assert issue.line == text.count("\n")
