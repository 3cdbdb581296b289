"""Number plates: normalisation, look-alike keys, edit distance and country grammars.

A pure module (no I/O). The stored form of a plate is its *normalised* text: upper case, NFKC-folded,
unicode look-alike letters mapped to ASCII, separators dropped (DESIGN.md section 4). Country grammars
are a *prior* for the recogniser and the UI, never a hard filter: a plate that matches no format is still
a plate.

>>> normalize_plate("1-abc-234")
'1ABC234'
>>> display_plate("1ABC234")
'1-ABC-234'
>>> lookalike_key("1ABC234") == lookalike_key("IA8C234")
True
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

__all__ = [
    "FORMATS",
    "LOOKALIKE_CLASSES",
    "MAX_PLATE_LENGTH",
    "SEPARATORS",
    "InvalidPlate",
    "PlateFormat",
    "display_plate",
    "edit_distance",
    "is_valid_plate_text",
    "lookalike_key",
    "lookalikes",
    "matching_formats",
    "normalize_plate",
]

MAX_PLATE_LENGTH = 10
"""Longest normalised plate: Belgian personalised plates have up to 8 characters, plus a foreign margin."""


class InvalidPlate(ValueError):
    """The text cannot be a number plate (empty, too long, or a character no plate carries)."""


# Every unicode space (str.isspace covers NBSP, thin and ideographic spaces, line separators, ...),
# invisible format characters that copy-paste leaves behind, dashes, dots and other joiners.
_SPACES = frozenset(c for c in map(chr, range(0x3001)) if c.isspace())
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")
_DOTS_AND_OTHERS = frozenset(".\u00b7\u2022\u2027\u2219\u22c5/_:")
SEPARATORS: frozenset[str] = _SPACES | _INVISIBLE | _DASHES | _DOTS_AND_OTHERS
"""Characters that normalisation removes."""

# Cyrillic and Greek capitals drawn like Latin ones (lower case forms reach them through str.upper()).
_HOMOGLYPHS = {
    "АВЕКМНОРСТХУІЈЅӀ": "ABEKMHOPCTXYIJSI",  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ": "ABEZHIKMNOPTYX",  # Greek
}
_FOLD_TABLE: dict[int, int | None] = {ord(c): None for c in SEPARATORS} | {
    ord(s): ord(d) for src, dst in _HOMOGLYPHS.items() for s, d in zip(src, dst, strict=True)
}

_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ÄÖÜ")
_VALID = re.compile(rf"[A-Z0-9ÄÖÜ]{{1,{MAX_PLATE_LENGTH}}}")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _invalid(text: str, problem: str) -> InvalidPlate:
    shown = text if len(text) <= 40 else text[:40] + "…"
    return InvalidPlate(f"plate {shown!r} {problem}")


def normalize_plate(text: str) -> str:
    """Return the normalised form of a plate as read or typed, or raise :class:`InvalidPlate`.

    Upper case, NFKC fold (fullwidth forms, compatibility characters), Cyrillic and Greek look-alike
    letters mapped to ASCII, separators (:data:`SEPARATORS`) dropped. German umlauts are kept. Digits and
    letters are never swapped here: that is the recogniser's call.

    >>> normalize_plate("1-abc-234")
    '1ABC234'
    >>> normalize_plate("ＡＢ－１２３－ＣＤ")
    'AB123CD'
    >>> normalize_plate("1\u00a0АВС\u00a0234")  # Cyrillic А, В, С and non-breaking spaces
    '1ABC234'
    >>> normalize_plate("1-AB€-234")
    Traceback (most recent call last):
    ...
    cordon.plates.InvalidPlate: plate '1-AB€-234' has an impossible character '€' (U+20AC EURO SIGN)
    """
    if text.isascii():
        folded = text.upper().translate(_FOLD_TABLE)
    else:
        nfkc = unicodedata.normalize("NFKC", text)
        upper = nfkc.upper()
        if len(upper) != len(nfkc):  # e.g. 'ß' -> 'SS': refuse rather than invent letters
            bad = next(c for c in nfkc if len(c.upper()) != 1)
            raise _invalid(text, f"has an impossible character {bad!r} ({_describe(bad)})")
        folded = upper.translate(_FOLD_TABLE)
    if _VALID.fullmatch(folded):
        return folded
    for ch in folded:
        if ch not in _ALLOWED:
            raise _invalid(text, f"has an impossible character {ch!r} ({_describe(ch)})")
    if not text:
        raise InvalidPlate("plate text is empty")
    if not folded:
        raise _invalid(text, "has only separators, no letter or digit")
    raise _invalid(text, f"is too long: {len(folded)} characters once normalised, at most {MAX_PLATE_LENGTH}")


def is_valid_plate_text(text: str) -> bool:
    """Whether :func:`normalize_plate` accepts ``text``.

    >>> is_valid_plate_text("ab-123-cd"), is_valid_plate_text("*"), is_valid_plate_text("")
    (True, False, False)
    """
    try:
        normalize_plate(text)
    except InvalidPlate:
        return False
    return True


# ---------------------------------------------------------------------------------------------------
# Look-alikes and edit distance (fuzzy matching of hotlists)

LOOKALIKE_CLASSES: tuple[frozenset[str], ...] = (
    frozenset("0ODQ"),
    frozenset("1ILT"),
    frozenset("2Z"),
    frozenset("5S"),
    frozenset("6G"),
    frozenset("8B"),
)
"""Characters an OCR (or a witness) confuses; each class is represented by its digit."""

_CLASS_OF = {ch: cls for cls in LOOKALIKE_CLASSES for ch in cls}
_KEY_TABLE = {ord(ch): ord(min(cls)) for ch, cls in _CLASS_OF.items()}  # min(): digits sort first


def lookalikes(ch: str) -> frozenset[str]:
    """The look-alike class of one normalised character (itself alone when it has none).

    >>> sorted(lookalikes("O"))
    ['0', 'D', 'O', 'Q']
    >>> lookalikes("A")
    frozenset({'A'})
    """
    if len(ch) != 1:
        raise ValueError(f"lookalikes() takes one character, got {ch!r}")
    return _CLASS_OF.get(ch, frozenset(ch))


def lookalike_key(plate: str) -> str:
    """Map each character of a *normalised* plate to its look-alike class representative.

    Two plates that differ only by look-alikes share a key.

    >>> lookalike_key("1ABC234")
    '1A8C234'
    >>> lookalike_key("IABC234") == lookalike_key("TA8CZ34")
    True
    >>> lookalike_key("1ABC234") == lookalike_key("1ABC235")
    False
    """
    return plate.translate(_KEY_TABLE)


def edit_distance(a: str, b: str, max_distance: int | None = None) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1).

    With ``max_distance``, the computation stops as soon as the distance is known to exceed it and
    returns ``max_distance + 1``.

    >>> edit_distance("1ABC234", "1ABC284")
    1
    >>> edit_distance("1ABC234", "ABC23")
    2
    >>> edit_distance("1ABC234", "XYZ", max_distance=2)
    3
    """
    if max_distance is not None and max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, got {max_distance}")
    if a == b:
        return 0
    # A common prefix and suffix do not change the distance; near-identical plates share most of theirs.
    n = min(len(a), len(b))
    head = next((i for i in range(n) if a[i] != b[i]), n)
    tail = next((i for i in range(n - head) if a[-1 - i] != b[-1 - i]), n - head)
    a, b = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(a) < len(b):
        a, b = b, a
    limit = max_distance if max_distance is not None else len(a)
    if len(a) - len(b) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


# ---------------------------------------------------------------------------------------------------
# Country grammars (a prior, never a filter)


@dataclass(frozen=True, slots=True)
class PlateFormat:
    """One plate layout of one country, matched against the normalised plate.

    ``pattern`` is anchored; its capturing groups (the non-empty ones) are the blocks that
    :func:`display_plate` joins with the separator of ``display``. ``display`` is a template for people:
    ``9`` a digit, ``A`` a letter, ``X`` either, other letters literal, punctuation the separator.
    """

    country: str
    name: str
    pattern: re.Pattern[str]
    display: str


def _f(country: str, name: str, regex: str, display: str) -> PlateFormat:
    return PlateFormat(country, name, re.compile(rf"\A(?:{regex})\Z"), display)


_L, _D = "[A-Z]", "[0-9]"
_FR_SIV_LETTER = "[A-HJ-NP-TV-Z]"  # SIV never uses I, O, U
_NO_I_O_LETTER = "[A-HJ-NP-Z]"  # the current Luxembourg series and French FNI never use I, O (FNI used U until 1984)
_PL_LETTER = "[ACEFGHJ-NP-Y]"  # Polish plates' own part never uses B, D, I, O, Z (look-alikes of digits)
_PL_DISTRICT = "[BCDEFGKLNOPRSTWZ]"  # the voivodeship letters


def _pl(*layouts: str) -> str:
    """Polish layouts after the district, written 9 for a digit and A for a letter, as alternatives."""

    def run(char: str, count: int) -> str:
        return (_D if char == "9" else _PL_LETTER) + (f"{{{count}}}" if count > 1 else "")

    return "|".join("".join(run(c, len(list(group))) for c, group in groupby(layout)) for layout in layouts)


# NL side codes (RDW "zijcodes"), 1 to 14, written L for a letter and 9 for a digit. Per-series letter
# restrictions (no vowels from side code 4 on, banned combinations) are deliberately not encoded.
_NL_SIDECODES = (
    "LL-99-99",  # 1  1951-1965
    "99-99-LL",  # 2  1965-1973
    "99-LL-99",  # 3  1973-1978
    "LL-99-LL",  # 4  1978-1991
    "LL-LL-99",  # 5  1991-1999
    "99-LL-LL",  # 6  1999-2008
    "99-LLL-9",  # 7  2005-      e.g. 12-ABC-3
    "9-LLL-99",  # 8  2006-
    "LL-999-L",  # 9  2008-
    "L-999-LL",  # 10 2013-
    "LLL-99-L",  # 11 2015-
    "L-99-LLL",  # 12 2016-
    "9-LL-999",  # 13 2019-
    "999-LL-9",  # 14
)


def _nl(number: int, layout: str) -> PlateFormat:
    regex = "".join(f"({_L if block[0] == 'L' else _D}{{{len(block)}}})" for block in layout.split("-"))
    return _f("NL", f"NL sidecode {number}", regex, layout.replace("L", "A"))


# Belgium. Well established: since 15 Nov 2010 a plate is an index character, 3 letters, 3 digits
# (1-ABC-234); the index is 1, and 2 since 2021, for cars, lorries and buses; the 1973-2008 (ABC-123) and
# 2008-2010 (123-ABC) series stay valid; personalised plates have 1-8 characters with at least one letter.
# From secondary sources only (wiki and enthusiast pages, not the DIV texts): other index digits (8 special
# or international, 9 personalised until 2014); letter indexes for categories; motorcycles first carried
# M as first letter of the old series (MAB-123), then 1-M..-... (a "BE current" plate), now index M
# (M-ABC-123), W reported too; a two-letter index layout WX-16-ABC; trailers Q (or U) as first letter in
# the old series and Q as index now; diplomatic layouts after CD vary, so that pattern is kept broad.
FORMATS: tuple[PlateFormat, ...] = (
    _f("BE", "BE current", rf"([12])({_L}{{3}})({_D}{{3}})", "9-AAA-999"),
    _f("BE", "BE diplomatic", rf"(CD)({_L}{{0,3}})({_D}{{1,4}})", "CD-AA-999"),
    _f("BE", "BE 1973-2008", rf"({_L}{{3}})({_D}{{3}})", "AAA-999"),
    _f("BE", "BE 2008-2010", rf"({_D}{{3}})({_L}{{3}})", "999-AAA"),
    _f("BE", "BE motorcycle", rf"([MW])({_L}{{3}})({_D}{{3}})", "M-AAA-999"),
    _f("BE", "BE trailer", rf"(Q)({_L}{{3}})({_D}{{3}})", "Q-AAA-999"),
    # G tractor, O oldtimer, S moped, T taxi, U/V/Y/Z temporary, professional, test drive, dealer.
    _f("BE", "BE category index", rf"([GOSTUVYZ])({_L}{{3}})({_D}{{3}})", "A-AAA-999"),
    _f("BE", "BE two-letter index", rf"({_L}{{2}})({_D}{{2}})({_L}{{3}})", "AA-99-AAA"),
    _f("BE", "BE current (index 3-9)", rf"([3-9])({_L}{{3}})({_D}{{3}})", "9-AAA-999"),
    # Personalised 2010-2014: index 9, then three digits and three letters (9-ABC-123 is the index 3-9 shape).
    _f("BE", "BE personalised 2010-2014", rf"(9)({_D}{{3}})({_L}{{3}})", "9-999-AAA"),
    # Temporary plates, white on red, with the validity month and year on stickers at the right.
    _f("BE", "BE temporary", rf"([1-9])({_D}{{6}})", "9-999999"),
    # Luxembourg before the Netherlands: LU AB 1234 is common, NL side code 1 (AB-12-34) is vintage.
    _f("LU", "LU", rf"({_NO_I_O_LETTER}{{2}})({_D}{{4}})", "AA 9999"),
    _f("LU", "LU old", rf"({_L})({_D}{{4}})|({_L}{{2}})({_D}{{3}})", "AA 999"),
    _f("LU", "LU numeric", rf"({_D}{{3,5}})", "99999"),
    *(_nl(n, layout) for n, layout in enumerate(_NL_SIDECODES, start=1)),
    _f("FR", "FR SIV", rf"({_FR_SIV_LETTER}{{2}})({_D}{{3}})({_FR_SIV_LETTER}{{2}})", "AA-999-AA"),
    # FNI (before 2009): number, 1-3 letters, departement (2 digits, 2A/2B Corsica, 971-976 overseas). Like
    # SIV, FNI never used the letters I and O (look-alikes of 1 and 0); U was dropped in 1984, so old plates
    # may still carry it.
    _f("FR", "FR FNI", rf"([1-9]{_D}{{0,3}})({_NO_I_O_LETTER}{{1,3}})(97[1-6]|2[AB]|{_D}{{2}})", "9999 AA 99"),
    # DE: district (1-3 letters, umlauts possible), 1-2 letters, 1-4 digits, E (electric) or H
    # (historic). The normalised form loses the split between district and letters: it is only shown
    # when unambiguous (2 or 5 letters), otherwise the letters stay together (BAB1234 -> 'BAB 1234').
    _f(
        "DE",
        "DE",
        r"(?:([A-ZÄÖÜ])([A-Z])|([A-ZÄÖÜ]{3})([A-Z]{2})|([A-ZÄÖÜ]{2,3}[A-Z]))([1-9][0-9]{0,3}[EH]?)",
        "AAA AA 9999",
    ),
    # Further EU countries whose cars and lorries are common on Belgian roads (transit lorries at a truck lock
    # above all), where the layout differs from every format above: without them the decoder would bend a
    # well-read Polish WX 12345 into a German WX I2345, or drop the first digit of a Spanish 1234 BCD to
    # make it a Belgian 234-BCD. Italian (AB 123 CD), Slovak, Lithuanian, Hungarian, British and Romanian
    # county plates already fit a layout above (the text decodes right; its country is that format's). From
    # secondary sources (wiki pages on each country's plates), not the registration authorities' texts.
    # ES since 2000: four digits, three consonants (no vowels, no Q or Ñ).
    _f("ES", "ES", rf"({_D}{{4}})([BCDFGHJKLMNPRSTVWXYZ]{{3}})", "9999 AAA"),
    # PL since 2000: district (voivodeship letter + 1 or 2 letters), then 4 or 5 characters, in set layouts;
    # the letters of that part never include B, D, I, O or Z. One layout is left out on purpose: a 3-letter
    # district with 123AB, which a French AB-123-CD takes when its EU band's F is read (F is a voivodeship).
    _f("PL", "PL", rf"({_PL_DISTRICT}[A-Z])({_pl('99999', '9999A', '999AA', '9A999', '9AA99')})", "AA 99999"),
    _f(
        "PL",
        "PL 3-letter district",
        rf"({_PL_DISTRICT}[A-Z]{{2}})"
        rf"({_pl('A999', '99AA', '9A99', '99A9', '9AA9', 'AA99', '99999', '9999A', 'A99A', 'A9AA')})",
        "AAA 9999",
    ),
    # CZ since 2001: series digit, region letter, a digit or letter, four digits (1A2 3456).
    _f("CZ", "CZ", rf"({_D}[ABCEHJKLMPSTUZ][0-9A-Z])({_D}{{4}})", "9A9 9999"),
    # BG: region code of 1-2 letters, four digits, two letters, all from the letters Cyrillic shares with Latin.
    _f("BG", "BG", r"([ABEHKMOPCTXY]{1,2})([0-9]{4})([ABEHKMOPCTXY]{2})", "AA 9999 AA"),
    # CH: canton code (AG, AI, AR, BE, BL, BS, FR, GE, GL, GR, JU, LU, NE, NW, OW, SG, SH, SO, SZ, TG, TI, UR, VD,
    # VS, ZG, ZH), then up to six digits.
    _f(
        "CH",
        "CH",
        r"(A[GIR]|B[ELS]|FR|G[ELR]|JU|LU|N[EW]|OW|S[GHOZ]|T[GI]|UR|V[DS]|Z[GH])([1-9][0-9]{0,5})",
        "AA 999999",
    ),
    # Generic fallback, last: Belgian personalised plates (1-8 characters, at least one letter).
    _f("BE", "BE personalised", rf"(?={_D}*{_L})[A-Z0-9]{{1,8}}", "XXXXXXXX"),
)


@lru_cache(maxsize=65536)
def _formats_of(normalised: str) -> tuple[PlateFormat, ...]:
    return tuple(fmt for fmt in FORMATS if fmt.pattern.match(normalised))


def matching_formats(plate: str) -> tuple[PlateFormat, ...]:
    """All formats the plate (normalised first) matches: Belgian, then neighbours, generic fallback last.

    >>> [f.name for f in matching_formats("1-ABC-234")]
    ['BE current', 'BE personalised']
    >>> [f.name for f in matching_formats("12ABC3")]
    ['NL sidecode 7', 'BE personalised']
    """
    return _formats_of(normalize_plate(plate))


def _render(fmt: PlateFormat, plate: str) -> str | None:
    match = fmt.pattern.match(plate)
    if match is None:
        return None
    separator = next((c for c in fmt.display if not c.isalnum()), "")
    blocks = [g for g in match.groups() if g]
    return separator.join(blocks) if blocks else plate


def display_plate(plate: str, country: str | None = None) -> str:
    """Render a plate with the separators of its first matching format (of ``country`` if given).

    The plate is normalised first; it comes back normalised but unchanged when no format matches.

    >>> display_plate("1ABC234"), display_plate("AB123CD"), display_plate("AB1234", country="NL")
    ('1-ABC-234', 'AB-123-CD', 'AB-12-34')
    >>> display_plate("123456")
    '123456'
    """
    normalised = normalize_plate(plate)
    wanted = country.upper() if country is not None else None
    for fmt in _formats_of(normalised):
        if wanted is None or fmt.country == wanted:
            return _render(fmt, normalised) or normalised
    return normalised
