"""Decoding with the country grammars as a prior: look-alikes resolved by their position in a format, band
letters dropped, plates that fit no format kept."""

from __future__ import annotations

import numpy as np
import pytest

from cordon.plate_grammar import ALPHABET, shapes
from cordon.plates import FORMATS
from cordon.recognize.decode import GrammarDecoder, character_rows
from cordon.recognize.stages import PAD, SlotProbs
from cordon.traffic_mix import DEFAULT_COUNTRY_SHARES, DEFAULT_SHARES

READER_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" + PAD  # another order than the decoder's, on purpose


def seen(text: str, sure: float = 0.9, slots: int = 10) -> SlotProbs:
    """What a reader that saw `text` reports: `sure` on each character, the rest spread, PAD after."""
    probs = np.full((slots, len(READER_ALPHABET)), (1 - sure) / (len(READER_ALPHABET) - 1), dtype=np.float32)
    for i in range(slots):
        probs[i, READER_ALPHABET.index(text[i] if i < len(text) else PAD)] = sure
    return SlotProbs(READER_ALPHABET, probs)


@pytest.mark.parametrize(
    ("read", "expected", "country"),
    [
        ("IABC234", "1ABC234", "BE"),  # I at the index digit of 1-ABC-234
        ("1A8C234", "1ABC234", "BE"),  # 8 among the letters
        ("1ABC2S4", "1ABC254", "BE"),  # S among the digits
        ("10AA454", "1OAA454", "BE"),  # 0 among the letters becomes O, not D or Q
        ("2ABC23G", "2ABC236", "BE"),  # G among the digits
        ("AB1Z3CD", "AB123CD", "FR"),  # FR SIV: Z among the digits
        ("A8123CD", "AB123CD", "FR"),
        ("B1ABC234", "1ABC234", "BE"),  # the EU band's B read as a character is dropped
        ("XYZ123", "XYZ123", "BE"),  # 1973-2008 series, as read
        ("MYCAR", "MYCAR", "BE"),  # personalised: fits only the broad format, kept
        ("12ABC3", "12ABC3", "NL"),
    ],
)
def test_lookalikes_are_resolved_by_position(read: str, expected: str, country: str) -> None:
    candidates = GrammarDecoder().decode(seen(read), top=5)
    assert candidates[0].plate == expected
    assert candidates[0].country == country


def test_a_country_shares_its_share_among_its_formats() -> None:
    """The fourteen Dutch side codes split the Dutch share; each does not get all of it (it did, and a
    confident last character was dropped to fit a side code: FP055HQ read as NL FP-05-5H)."""
    decoder = GrammarDecoder()
    sidecodes = [f for f in FORMATS if f.country == "NL"]
    assert len(sidecodes) == 14
    expected = np.log(DEFAULT_COUNTRY_SHARES["NL"] / 14 / DEFAULT_SHARES["BE current"])
    assert all(abs(decoder.mix.prior(f.name, "NL") - expected) < 1e-9 for f in sidecodes)
    assert decoder.mix.prior("BE current", "BE") == 0.0
    assert decoder.decode(seen("FP055HQ"), top=1)[0].plate == "FP055HQ"


@pytest.mark.parametrize(
    ("read", "expected", "format_name"),
    [
        ("1022610", "1022610", "BE temporary"),
        (
            "9110BEN",
            "9110BEN",
            "BE personalised 2010-2014",
        ),  # its index 9 is not a screw to drop  # white on red, all digits: not FR FNI 1022 G 10
        ("9148S266", "9148SZ66", "FR FNI"),  # a catch-all (personalised) loses to a format one look-alike away
        ("CJ241TB8", "CJ241TB", "FR SIV"),  # and to a format one trailing character (a band digit) away
        ("OLIFANT", "OLIFANT", "BE personalised"),  # but a confident reading that fits nothing else stays
    ],
)
def test_real_formats_against_the_catch_alls(read: str, expected: str, format_name: str) -> None:
    best = GrammarDecoder().decode(seen(read, slots=12), top=3)[0]
    assert (best.plate, best.format_name) == (expected, format_name)


def test_a_plate_that_fits_no_format_is_kept() -> None:
    """A grammar is a prior, never a filter: a confident reading outside every format survives."""
    candidates = GrammarDecoder().decode(seen("1234567890", sure=0.99), top=3)
    assert candidates[0].plate == "1234567890"
    assert candidates[0].country is None


@pytest.mark.parametrize(
    ("read", "country"),
    [
        ("1234BCD", "ES"),  # was 234BCD: its first digit dropped to make a Belgian 2008-2010 plate
        ("0012FGH", "ES"),
        ("WX12345", "PL"),  # was WXI2345: bent into a German plate by a 1/I swap
        ("KR1234A", "PL"),  # was KR1234: its last letter dropped to make a Luxembourg plate
        ("PO123AC", "PL"),  # was PD123AC: French SIV never uses O
        ("DW1AC23", "PL"),
        ("SZY1A23", "PL"),
        ("A1234BC", "BG"),  # was AL234BC (FR SIV)
        ("CA1234AB", "BG"),
        ("1A23456", "CZ"),
        ("ZH123456", "CH"),
        ("AB12CDE", "BE"),  # British and Romanian county layouts are the Belgian two-letter index's
        ("AB123CD", "FR"),  # Italian and Slovak plates are French SIV's layout
    ],
)
def test_a_well_read_plate_of_a_country_further_away_is_kept(read: str, country: str) -> None:
    """Plates from across the EU (lorries at a truck lock above all) come out as read when the reader is sure,
    not bent into the nearest Belgian or neighbouring format."""
    best = GrammarDecoder().decode(seen(read), top=3)[0]
    assert (best.plate, best.country) == (read, country)


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("B1ABC234", "1ABC234"),  # BE, band B
        ("FAB123CD", "AB123CD"),  # FR, band F: FAB is not a Polish district with a 123CD number
        ("FAB123CE", "AB123CE"),
    ],
)
def test_the_eu_band_letter_is_still_dropped_with_the_further_formats(read: str, expected: str) -> None:
    assert GrammarDecoder().decode(seen(read, slots=12), top=3)[0].plate == expected


def test_a_confident_reader_beats_the_prior() -> None:
    """An O read with near certainty at a BE index position is a strong signal: with a confident reader and a
    valid alternative format, the reading stands."""
    candidates = GrammarDecoder().decode(seen("OAB123", sure=0.999), top=3)
    assert candidates[0].plate in {"OAB123", "0AB123"}


def test_candidates_are_ranked_with_confidences_that_sum_to_at_most_one() -> None:
    candidates = GrammarDecoder().decode(seen("1ABC234", sure=0.7), top=5)
    assert 1 < len(candidates) <= 5
    confidences = [c.confidence for c in candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < sum(confidences) <= 1.0001
    assert len({c.plate for c in candidates}) == len(candidates)


def test_nothing_read_gives_no_candidate() -> None:
    assert GrammarDecoder().decode(seen(""), top=5) == ()


def test_character_rows_follow_the_reader_alphabet_and_skip_pad() -> None:
    rows = character_rows(seen("1AB"))
    assert rows.shape == (3, len(ALPHABET))
    assert "".join(ALPHABET[i] for i in rows.argmax(axis=1)) == "1AB"
    assert np.allclose(rows.sum(axis=1), 1)


def test_every_format_expands_into_shapes() -> None:
    names = {shape.fmt.name for shape in shapes()}
    assert {"BE current", "FR SIV", "NL sidecode 7", "DE", "LU", "BE personalised"} <= names
    current = next(s for s in shapes() if s.fmt.name == "BE current")
    assert [len(p) for p in current.allowed] == [2, 26, 26, 26, 10, 10, 10]


def test_a_string_of_an_exact_shape_always_matches_its_format() -> None:
    """The decoder skips the regular expression for shapes without a look-around; that is only right if every
    string the shape allows is one the format accepts."""
    rng = np.random.default_rng(5)
    checked = {shape.fmt.name for shape in shapes() if not shape.exact}
    assert checked == {"BE personalised"}  # its look-ahead: at least one letter
    for shape in shapes():
        if not shape.exact:
            continue
        for _ in range(20):
            text = "".join(str(rng.choice(sorted(allowed))) for allowed in shape.allowed)
            assert shape.fmt.pattern.match(text), (shape.fmt.name, text)


def test_the_decoder_names_the_format_its_traffic_mix_makes_likeliest() -> None:
    default, dutch = GrammarDecoder(), GrammarDecoder().with_mix({"NL": 0.2})
    assert dutch.mix.share("NL sidecode 1", "NL") == pytest.approx(0.2 / 14)
    assert default.mix.share("NL sidecode 1", "NL") == pytest.approx(0.05 / 14)  # the default is untouched
    assert (default.decode(seen("AB1234"), top=1)[0].country, dutch.decode(seen("AB1234"), top=1)[0].country) == (
        "LU",
        "NL",
    )
