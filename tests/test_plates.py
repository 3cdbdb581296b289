"""Tests for cordon.plates: normalisation, look-alikes, edit distance and country grammars."""

from __future__ import annotations

import dataclasses
import doctest
import random
import re

import pytest

import cordon.plates
from cordon.plates import (
    FORMATS,
    LOOKALIKE_CLASSES,
    MAX_PLATE_LENGTH,
    SEPARATORS,
    InvalidPlate,
    PlateFormat,
    display_plate,
    edit_distance,
    is_valid_plate_text,
    lookalike_key,
    lookalikes,
    matching_formats,
    normalize_plate,
)


def test_doctests() -> None:
    result = doctest.testmod(cordon.plates)
    assert result.attempted > 10
    assert result.failed == 0


# ---------------------------------------------------------------------------------------------------
# normalize_plate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Belgium
        ("1-ABC-234", "1ABC234"),
        ("1-abc-234", "1ABC234"),
        ("1 ABC 234", "1ABC234"),
        ("  1abc234  ", "1ABC234"),
        ("2.XYZ.999", "2XYZ999"),
        ("1·ABC·234", "1ABC234"),
        ("1•ABC•234", "1ABC234"),
        ("1/ABC/234", "1ABC234"),
        ("1_ABC_234", "1ABC234"),
        ("1:ABC:234", "1ABC234"),
        ("ABC-123", "ABC123"),
        ("abc 123", "ABC123"),
        ("123-ABC", "123ABC"),
        ("M-ABC-123", "MABC123"),
        ("Q-ABC-123", "QABC123"),
        ("CD-AB-123", "CDAB123"),
        ("john", "JOHN"),
        ("1\tABC\n234", "1ABC234"),
        # Unicode dashes and spaces
        ("1‐ABC‐234", "1ABC234"),  # U+2010 hyphen
        ("1‑ABC‑234", "1ABC234"),  # U+2011 non-breaking hyphen
        ("1–ABC–234", "1ABC234"),  # U+2013 en dash
        ("1—ABC—234", "1ABC234"),  # U+2014 em dash
        ("1−ABC−234", "1ABC234"),  # U+2212 minus sign
        ("1\u00a0ABC\u00a0234", "1ABC234"),  # non-breaking space
        ("1\u202fABC\u2009234", "1ABC234"),  # narrow no-break and thin spaces
        ("1\u3000ABC\u3000234", "1ABC234"),  # ideographic space
        ("1\u200bABC\ufeff234", "1ABC234"),  # zero-width space, BOM
        ("1\u00adABC-234", "1ABC234"),  # soft hyphen
        # Fullwidth and other compatibility forms (NFKC)
        ("１－ＡＢＣ－２３４", "1ABC234"),
        ("ａｂ１２３ｃｄ", "AB123CD"),
        ("Ⅰ-ABC-234", "IABC234"),  # roman numeral one is a letter I, not a digit
        # Cyrillic look-alikes, upper and lower case
        ("1-АВС-234", "1ABC234"),
        ("1-авс-234", "1ABC234"),
        ("ЕКМ-123", "EKM123"),
        ("НОР-123", "HOP123"),
        ("ТХУ-123", "TXY123"),
        ("1-ІЈЅ-234", "1IJS234"),
        ("1-ixs-234", "1IXS234"),
        # Greek look-alikes
        ("ΑΒΕ-123", "ABE123"),
        ("ΖΗΙ-123", "ZHI123"),
        ("ΚΜΝ-123", "KMN123"),
        ("ΟΡΤ-123", "OPT123"),
        ("ΥΧ-12-34", "YX1234"),
        ("κμν-123", "KMN123"),
        # Netherlands
        ("12-ABC-3", "12ABC3"),
        ("xt-347-s", "XT347S"),
        ("9-xx-999", "9XX999"),
        # France
        ("AB-123-CD", "AB123CD"),
        ("1234 AB 56", "1234AB56"),
        ("123 abc 75", "123ABC75"),
        # Germany, umlauts kept (also from lower case and from decomposed forms)
        ("B AB 1234", "BAB1234"),
        ("B-AB 1234", "BAB1234"),
        ("TÖL-BA 218", "TÖLBA218"),
        ("tül ab 1", "TÜLAB1"),
        ("MA\u0308 AB 12", "MÄAB12"),  # A + combining diaeresis
        # Luxembourg
        ("AB 1234", "AB1234"),
        ("12345", "12345"),
        # Longest accepted
        ("A" * MAX_PLATE_LENGTH, "A" * MAX_PLATE_LENGTH),
        ("12-34-56-78-90", "1234567890"),
    ],
)
def test_normalize_plate(text: str, expected: str) -> None:
    assert normalize_plate(text) == expected


@pytest.mark.parametrize(
    "plate",
    ["1ABC234", "ABC123", "AB123CD", "TÖLBA218", "Z", "A" * MAX_PLATE_LENGTH, "12ABC3"],
)
def test_normalize_plate_is_idempotent(plate: str) -> None:
    assert normalize_plate(plate) == plate
    assert normalize_plate(normalize_plate(plate)) == plate


@pytest.mark.parametrize("separator", sorted(SEPARATORS))
def test_every_separator_is_dropped(separator: str) -> None:
    assert normalize_plate(f"1{separator}ABC{separator}234") == "1ABC234"


def test_separators_include_the_documented_ones() -> None:
    assert set(" -‐‑–—.·•/_:\u00a0\u2009\u3000") <= SEPARATORS
    assert all(ch in SEPARATORS for ch in map(chr, range(0x3001)) if ch.isspace())
    assert not any(ch.isalnum() for ch in SEPARATORS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "only separators"),
        ("-", "only separators"),
        (" - . / ", "only separators"),
        ("\u00a0\u2013\u00a0", "only separators"),
        ("1-AB€-234", "impossible character '€'"),
        ("1-ABC-23🚗", "impossible character '🚗'"),
        ("1-AB*-234", "impossible character '*'"),
        ("AB?123", "impossible character '?'"),
        ("1ABC+234", "impossible character '+'"),
        ("ABC,123", "impossible character ','"),
        ("ABC#123", "impossible character '#'"),
        ("ÉCOLE1", "impossible character 'É'"),
        ("1-ÅBC-234", "impossible character 'Å'"),
        ("STRAßE", "impossible character 'ß'"),
        ("1-AБC-234", "impossible character 'Б'"),  # Cyrillic Be looks like no Latin capital
        ("1-AΣC-234", "impossible character 'Σ'"),
        ("ABC\x00123", "impossible character '\\x00'"),
        ("½ABC", "impossible character"),
        ("A" * (MAX_PLATE_LENGTH + 1), "too long"),
        ("1-ABC-234-567-89", "too long"),
        ("X" * 1000, "too long"),
    ],
)
def test_normalize_plate_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidPlate, match=re.escape(message)):
        normalize_plate(text)
    assert not is_valid_plate_text(text)


def test_invalid_plate_message_names_plate_and_character() -> None:
    with pytest.raises(InvalidPlate) as caught:
        normalize_plate("1-AB€-234")
    assert str(caught.value).startswith("plate '1-AB€-234' has an impossible character '€'")
    assert isinstance(caught.value, ValueError)


def test_invalid_plate_message_truncates_huge_text() -> None:
    with pytest.raises(InvalidPlate) as caught:
        normalize_plate("A" * 1000)
    assert len(str(caught.value)) < 150
    assert "1000 characters" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "valid"),
    [("1-ABC-234", True), ("ab 123 cd", True), ("", False), ("--", False), ("1€", False)],
)
def test_is_valid_plate_text(text: str, valid: bool) -> None:
    assert is_valid_plate_text(text) is valid


def test_normalize_never_swaps_digits_and_letters() -> None:
    assert normalize_plate("1-ABC-2O4") == "1ABC2O4"
    assert normalize_plate("I-ABC-234") == "IABC234"


# ---------------------------------------------------------------------------------------------------
# Look-alikes


def test_lookalike_classes_are_the_documented_ones() -> None:
    expected = {"0ODQ", "1ILT", "2Z", "5S", "6G", "8B"}
    assert {"".join(sorted(c)) for c in LOOKALIKE_CLASSES} == {"".join(sorted(e)) for e in expected}
    seen: set[str] = set()
    for cls in LOOKALIKE_CLASSES:
        assert not cls & seen, "classes must be disjoint"
        seen |= cls
        assert sum(ch.isdigit() for ch in cls) == 1, "one digit represents each class"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1ABC234", "IABC234"),
        ("1ABC234", "LABC234"),
        ("1ABC234", "TABC234"),
        ("1ABC234", "1A8C234"),
        ("1ABC234", "1ABCZ34"),
        ("AB123CD", "A8I23C0"),
        ("AB123CD", "ABLZ3CQ"),
        ("0O0", "DQO"),
        ("5S", "S5"),
        ("6G", "G6"),
        ("8B", "B8"),
        ("2Z", "Z2"),
        ("TÖLBA218", "TÖL8AZIB"),
        ("", ""),
    ],
)
def test_lookalike_key_equal(a: str, b: str) -> None:
    assert lookalike_key(a) == lookalike_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1ABC234", "1ABC235"),
        ("1ABC234", "2ABC234"),
        ("1ABC234", "1ABC23"),
        ("1ABC234", "1ACB234"),
        ("AB123CD", "AB123CE"),
        ("O", "C"),
        ("S", "8"),
        ("TÖLBA218", "TOLBA218"),
    ],
)
def test_lookalike_key_differs(a: str, b: str) -> None:
    assert lookalike_key(a) != lookalike_key(b)


@pytest.mark.parametrize(
    ("plate", "key"),
    [("1ABC234", "1A8C234"), ("DOQ0", "0000"), ("ILT1", "1111"), ("SZGB", "5268"), ("XYZ", "XY2")],
)
def test_lookalike_key_values(plate: str, key: str) -> None:
    assert lookalike_key(plate) == key


@pytest.mark.parametrize(
    ("ch", "expected"),
    [
        ("0", "0ODQ"),
        ("O", "0ODQ"),
        ("D", "0ODQ"),
        ("Q", "0ODQ"),
        ("I", "1ILT"),
        ("T", "1ILT"),
        ("Z", "2Z"),
        ("S", "5S"),
        ("G", "6G"),
        ("B", "8B"),
        ("A", "A"),
        ("7", "7"),
        ("Ö", "Ö"),
    ],
)
def test_lookalikes(ch: str, expected: str) -> None:
    assert lookalikes(ch) == frozenset(expected)


@pytest.mark.parametrize("bad", ["", "AB"])
def test_lookalikes_takes_one_character(bad: str) -> None:
    with pytest.raises(ValueError, match="one character"):
        lookalikes(bad)


# ---------------------------------------------------------------------------------------------------
# Edit distance


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", 0),
        ("1ABC234", "1ABC234", 0),
        ("", "ABC", 3),
        ("ABC", "", 3),
        ("1ABC234", "1ABC284", 1),  # substitution
        ("1ABC234", "1ABC2345", 1),  # insertion
        ("1ABC234", "ABC234", 1),  # deletion
        ("1ABC234", "1ACB234", 2),  # transposition costs two in Levenshtein
        ("1ABC234", "ABC23", 2),
        ("KITTEN", "SITTING", 3),
        ("SITTING", "KITTEN", 3),
        ("FLAW", "LAWN", 2),
        ("1ABC234", "XYZ", 7),
        ("AB123CD", "DC321BA", 6),
    ],
)
def test_edit_distance(a: str, b: str, expected: int) -> None:
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected
    assert edit_distance(a, b, max_distance=expected) == expected
    assert edit_distance(a, b, max_distance=expected + 3) == expected


@pytest.mark.parametrize(
    ("a", "b", "max_distance", "expected"),
    [
        ("1ABC234", "XYZ", 2, 3),  # length difference alone exceeds the bound
        ("1ABC234", "9XYZ876", 2, 3),  # same length, exceeds during the rows
        ("1ABC234", "9XYZ876", 0, 1),
        ("1ABC234", "1ABC284", 0, 1),
        ("1ABC234", "1ABC284", 1, 1),
        ("1ABC234", "1ACB234", 1, 2),
        ("KITTEN", "SITTING", 2, 3),
        ("", "ABCDEFGHIJ", 4, 5),
        ("SAME", "SAME", 0, 0),
    ],
)
def test_edit_distance_early_exit(a: str, b: str, max_distance: int, expected: int) -> None:
    assert edit_distance(a, b, max_distance=max_distance) == expected


def _reference_levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        previous, row = row, [i]
        for j, cb in enumerate(b, start=1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb)))
    return row[-1]


def test_edit_distance_matches_reference_on_random_plates() -> None:
    rng = random.Random(20240601)
    for _ in range(3000):
        a = "".join(rng.choice("AB1") for _ in range(rng.randint(0, 8)))
        b = "".join(rng.choice("AB1") for _ in range(rng.randint(0, 8)))
        bound = rng.choice([None, 0, 1, 2, 3])
        exact = _reference_levenshtein(a, b)
        assert edit_distance(a, b, bound) == (exact if bound is None else min(exact, bound + 1))


def test_edit_distance_rejects_negative_bound() -> None:
    with pytest.raises(ValueError, match="max_distance"):
        edit_distance("A", "B", max_distance=-1)


# ---------------------------------------------------------------------------------------------------
# Country grammars

# (plate as written, format name, display) for an example of every format.
FORMAT_EXAMPLES = [
    ("1-ABC-234", "BE current", "1-ABC-234"),
    ("2-XYZ-999", "BE current", "2-XYZ-999"),
    ("CD-AB-123", "BE diplomatic", "CD-AB-123"),
    ("CD-1234", "BE diplomatic", "CD-1234"),
    ("ABC-123", "BE 1973-2008", "ABC-123"),
    ("123-ABC", "BE 2008-2010", "123-ABC"),
    ("M-ABC-123", "BE motorcycle", "M-ABC-123"),
    ("Q-ABC-123", "BE trailer", "Q-ABC-123"),
    ("O-ABC-123", "BE category index", "O-ABC-123"),
    ("WX-16-ABC", "BE two-letter index", "WX-16-ABC"),
    ("8-ABC-123", "BE current (index 3-9)", "8-ABC-123"),
    ("9-110-BEN", "BE personalised 2010-2014", "9-110-BEN"),
    ("1-022610", "BE temporary", "1-022610"),
    ("AB 1234", "LU", "AB 1234"),
    ("MK 286", "LU old", "MK 286"),
    ("P 1234", "LU old", "P 1234"),
    ("12345", "LU numeric", "12345"),
    ("AO-12-34", "NL sidecode 1", "AO-12-34"),  # LU never uses O, so this one is NL
    ("12-34-AB", "NL sidecode 2", "12-34-AB"),
    ("12-AB-34", "NL sidecode 3", "12-AB-34"),
    ("AB-12-CD", "NL sidecode 4", "AB-12-CD"),
    ("AB-CD-12", "NL sidecode 5", "AB-CD-12"),
    ("12-AB-CD", "NL sidecode 6", "12-AB-CD"),
    ("12-ABC-3", "NL sidecode 7", "12-ABC-3"),
    ("1-ABC-23", "NL sidecode 8", "1-ABC-23"),
    ("AB-123-C", "NL sidecode 9", "AB-123-C"),
    ("A-123-BC", "NL sidecode 10", "A-123-BC"),
    ("ABC-12-D", "NL sidecode 11", "ABC-12-D"),
    ("A-12-BCD", "NL sidecode 12", "A-12-BCD"),
    ("1-AB-234", "NL sidecode 13", "1-AB-234"),
    ("123-AB-4", "NL sidecode 14", "123-AB-4"),
    ("AB-123-CD", "FR SIV", "AB-123-CD"),
    ("1234 AB 56", "FR FNI", "1234 AB 56"),
    ("123 ABC 75", "FR FNI", "123 ABC 75"),
    ("45 AB 2A", "FR FNI", "45 AB 2A"),
    ("12 AB 974", "FR FNI", "12 AB 974"),
    ("B A 1", "DE", "B A 1"),
    ("ABC DE 12", "DE", "ABC DE 12"),
    ("B AB 1234", "DE", "BAB 1234"),  # the district/letters split is ambiguous once normalised
    ("TÖL BA 218", "DE", "TÖL BA 218"),  # five letters: split is certain
    ("M AB 123E", "DE", "MAB 123E"),
    ("1234 BCD", "ES", "1234 BCD"),
    ("WX 12345", "PL", "WX 12345"),
    ("KR 1234A", "PL", "KR 1234A"),
    ("WA 1A234", "PL", "WA 1A234"),
    ("KRA 12AC", "PL 3-letter district", "KRA 12AC"),
    ("SZY 1A23", "PL 3-letter district", "SZY 1A23"),
    ("1A2 3456", "CZ", "1A2 3456"),
    ("CA 1234 AB", "BG", "CA 1234 AB"),
    ("A 1234 BC", "BG", "A 1234 BC"),
    ("ZH 123456", "CH", "ZH 123456"),
    ("JOHN", "BE personalised", "JOHN"),
    ("JAMES007", "BE personalised", "JAMES007"),
]


@pytest.mark.parametrize(("text", "name", "display"), FORMAT_EXAMPLES)
def test_format_examples(text: str, name: str, display: str) -> None:
    found = matching_formats(text)
    assert found, text
    assert found[0].name == name
    assert display_plate(text) == display
    assert normalize_plate(display) == normalize_plate(text)


def test_every_format_has_an_example() -> None:
    assert {f.name for f in FORMATS} == {name for _, name, _ in FORMAT_EXAMPLES}


def test_format_records() -> None:
    names = [f.name for f in FORMATS]
    assert len(names) == len(set(names))
    for fmt in FORMATS:
        assert isinstance(fmt, PlateFormat)
        assert re.fullmatch("[A-Z]{2}", fmt.country)
        assert fmt.name.startswith(fmt.country)
        assert isinstance(fmt.pattern, re.Pattern)
        assert fmt.display
    with pytest.raises(dataclasses.FrozenInstanceError):
        FORMATS[0].name = "changed"  # type: ignore[misc]


def test_patterns_are_anchored() -> None:
    for text, _, _ in FORMAT_EXAMPLES:
        plate = normalize_plate(text)
        for fmt in FORMATS:
            assert fmt.pattern.match(plate + "#") is None
            assert fmt.pattern.search("#" + plate) is None


def test_belgian_specific_formats_come_first_and_fallback_last() -> None:
    countries = [f.country for f in FORMATS]
    first_foreign = next(i for i, c in enumerate(countries) if c != "BE")
    assert set(countries[:first_foreign]) == {"BE"}
    assert "BE" not in countries[first_foreign:-1]
    assert FORMATS[-1].name == "BE personalised"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("1ABC234", ["BE current", "BE personalised"]),
        ("ABC123", ["BE 1973-2008", "DE", "BE personalised"]),
        ("123ABC", ["BE 2008-2010", "BE personalised"]),
        ("CDA123", ["BE diplomatic", "BE 1973-2008", "DE", "BE personalised"]),
        ("AB1234", ["LU", "NL sidecode 1", "DE", "BE personalised"]),
        ("12AB34", ["NL sidecode 3", "FR FNI", "BE personalised"]),
        ("1ABC23", ["NL sidecode 8", "FR FNI", "BE personalised"]),
        ("AB123CD", ["FR SIV", "BE personalised"]),
        ("AB123CO", ["BE personalised"]),  # SIV never uses O: the recogniser may read it as D or Q
        ("1234AB56", ["FR FNI", "BE personalised"]),
        ("5122WO06", ["BE personalised"]),  # FNI never used O or I either
        ("123AIB75", ["BE personalised"]),
        ("123AUB75", ["FR FNI", "BE personalised"]),  # U was used until 1984
        ("BAB1234", ["DE", "BE personalised"]),
        ("TÖLBA218", ["DE"]),
        ("1234BCD", ["ES", "BE personalised"]),
        ("1234ABC", ["BE personalised"]),  # Spanish series never use vowels
        ("WX12345", ["PL", "BE personalised"]),
        ("WX1234B", ["BE personalised"]),  # nor do Polish ones use B after the district
        ("AB123CE", ["FR SIV", "BE personalised"]),
        ("FAB123CE", ["BE personalised"]),  # an EU band F before a French plate is not a Polish district
        ("GE1234", ["LU", "NL sidecode 1", "DE", "CH", "BE personalised"]),
        ("12345", ["LU numeric"]),
        ("123456", []),
        ("ABCDEFGHI", []),
        ("ÄÖÜ", []),
    ],
)
def test_matching_formats(text: str, names: list[str]) -> None:
    assert [f.name for f in matching_formats(text)] == names


def test_matching_formats_normalises_first() -> None:
    assert matching_formats("1-abc-234") == matching_formats("1ABC234")
    with pytest.raises(InvalidPlate):
        matching_formats("1-AB€-234")


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("1ABC234", None, "1-ABC-234"),
        ("1abc234", None, "1-ABC-234"),
        ("AB123CD", None, "AB-123-CD"),
        ("AB123CD", "FR", "AB-123-CD"),
        ("AB1234", None, "AB 1234"),
        ("AB1234", "LU", "AB 1234"),
        ("AB1234", "NL", "AB-12-34"),
        ("AB1234", "nl", "AB-12-34"),
        ("AB1234", "DE", "A B 1234"),
        ("12AB34", "FR", "12 AB 34"),
        ("ABC123", "DE", "ABC 123"),
        ("1ABC234", "FR", "1ABC234"),  # no French format matches: unchanged
        ("1ABC234", "XX", "1ABC234"),
        ("123456", None, "123456"),
        ("ABCDEFGHI", None, "ABCDEFGHI"),
        ("JOHN", None, "JOHN"),
    ],
)
def test_display_plate(text: str, country: str | None, expected: str) -> None:
    assert display_plate(text, country) == expected


def test_display_plate_rejects_impossible_text() -> None:
    with pytest.raises(InvalidPlate):
        display_plate("")
