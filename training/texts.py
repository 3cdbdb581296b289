"""Plate texts by country and format (DESIGN.md §4), drawn at random for the synthetic plates.

Each format gives the groups printed on the plate (the label is their concatenation) and a style key for
the renderer. Formats follow `cordon.plates.FORMATS`; a share of free-form texts keeps the reader from
learning any one grammar by heart, so that it reads plates of countries it never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
_FR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # SIV: no I, O, U
_LU_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class PlateText:
    """What one synthetic plate says, and how it is laid out."""

    country: str
    """BE, NL, FR, DE, LU, or XX (free-form)."""
    format: str
    groups: tuple[str, ...]
    style: str
    """Renderer style: be, be-inverse, be-black, nl, fr, fr-old-black, fr-old-yellow, de, lu, free."""
    two_line: bool = False
    line_break: int = 1
    """With two_line: index of the first group on the second line."""

    @property
    def label(self) -> str:
        return "".join(self.groups)


Rng = np.random.Generator


def _pick(rng: Rng, chars: str, n: int) -> str:
    return "".join(chars[i] for i in rng.integers(0, len(chars), n).tolist())


def _be_current(rng: Rng) -> PlateText:
    index = str(rng.choice(["1", "2", "1", "1", "2", "3", "5", "7", "8", "9"]))
    style = str(rng.choice(["be"] * 12 + ["be-inverse", "be-black"]))
    return PlateText("BE", "be-current", (index, _pick(rng, LETTERS, 3), _pick(rng, DIGITS, 3)), style)


def _be_old(rng: Rng) -> PlateText:
    style = str(rng.choice(["be", "be", "be", "be-black"]))
    return PlateText("BE", "be-1973", (_pick(rng, LETTERS, 3), _pick(rng, DIGITS, 3)), style)


def _be_2008(rng: Rng) -> PlateText:
    return PlateText("BE", "be-2008", (_pick(rng, DIGITS, 3), _pick(rng, LETTERS, 3)), "be")


def _be_motorcycle(rng: Rng) -> PlateText:
    index = str(rng.choice(["1", "2", "M", "W"]))
    groups: tuple[str, ...] = (index, _pick(rng, LETTERS, 3), _pick(rng, DIGITS, 3))
    if rng.random() < 0.35:
        groups = (_pick(rng, LETTERS, 3), _pick(rng, DIGITS, 3))
        return PlateText("BE", "be-motorcycle", groups, "be", two_line=True, line_break=1)
    return PlateText("BE", "be-motorcycle", groups, "be", two_line=True, line_break=2)


def _be_trailer(rng: Rng) -> PlateText:
    if rng.random() < 0.5:
        return PlateText("BE", "be-trailer", ("Q", _pick(rng, LETTERS, 3), _pick(rng, DIGITS, 3)), "be")
    return PlateText("BE", "be-trailer", ("Q" + _pick(rng, LETTERS, 2), _pick(rng, DIGITS, 3)), "be")


def _be_diplomatic(rng: Rng) -> PlateText:
    letters = _pick(rng, LETTERS, int(rng.integers(0, 3)))
    return PlateText("BE", "be-diplomatic", ("CD", letters + _pick(rng, DIGITS, int(rng.integers(2, 5)))), "be")


def _be_temporary(rng: Rng) -> PlateText:
    index = str(rng.choice(["1", "2"]))
    style = str(rng.choice(["be-inverse", "be"]))
    return PlateText("BE", "be-temporary", (index, _pick(rng, DIGITS, 6)), style)


def _be_personalised(rng: Rng) -> PlateText:
    total = int(rng.integers(2, 9))
    mix = LETTERS * 2 + DIGITS
    while True:
        text = _pick(rng, mix, total)
        if any(c in LETTERS for c in text):
            break
    cuts = sorted(set(rng.integers(1, total, int(rng.integers(0, 3))).tolist())) if total > 2 else []
    groups = tuple(text[a:b] for a, b in zip([0, *cuts], [*cuts, total], strict=True))
    two_line = total <= 6 and len(groups) >= 2 and rng.random() < 0.25
    return PlateText("BE", "be-personalised", groups, "be", two_line=two_line, line_break=1)


def _nl(rng: Rng) -> PlateText:
    layout = str(
        rng.choice(
            ["LL-99-99", "99-99-LL", "99-LL-99", "LL-99-LL", "LL-LL-99", "99-LL-LL", "99-LLL-9", "9-LLL-99"]
            + ["LL-999-L", "L-999-LL", "LLL-99-L", "L-99-LLL", "9-LL-999", "999-LL-9"] * 2
        )
    )
    groups = tuple(_pick(rng, LETTERS if b[0] == "L" else DIGITS, len(b)) for b in layout.split("-"))
    return PlateText("NL", "nl", groups, "nl")


def _fr_siv(rng: Rng) -> PlateText:
    groups = (_pick(rng, _FR_LETTERS, 2), _pick(rng, DIGITS, 3), _pick(rng, _FR_LETTERS, 2))
    two_line = rng.random() < 0.08
    return PlateText("FR", "fr-siv", groups, "fr", two_line=two_line, line_break=2)


def _fr_fni(rng: Rng) -> PlateText:
    number = str(int(rng.integers(1, 10))) + _pick(rng, DIGITS, int(rng.integers(0, 4)))
    letters = _pick(rng, LETTERS, int(rng.integers(1, 4)))
    dept = str(rng.choice([_pick(rng, DIGITS, 2), "2A", "2B", "97" + str(int(rng.integers(1, 7)))]))
    style = str(rng.choice(["fr-old-black", "fr-old-yellow", "fr"]))
    return PlateText("FR", "fr-fni", (number, letters, dept), style)


def _de(rng: Rng) -> PlateText:
    district = _pick(rng, LETTERS, int(rng.choice([1, 2, 2, 3])))
    letters = _pick(rng, LETTERS, int(rng.integers(1, 3)))
    digits = str(int(rng.integers(1, 10))) + _pick(rng, DIGITS, int(rng.integers(0, 4)))
    if rng.random() < 0.05:
        digits += str(rng.choice(["E", "H"]))
    two_line = rng.random() < 0.1
    return PlateText("DE", "de", (district, letters, digits), "de", two_line=two_line, line_break=2)


def _lu(rng: Rng) -> PlateText:
    if rng.random() < 0.7:
        return PlateText("LU", "lu", (_pick(rng, _LU_LETTERS, 2), _pick(rng, DIGITS, 4)), "lu")
    return PlateText("LU", "lu-numeric", (_pick(rng, DIGITS, int(rng.integers(3, 6))),), "lu")


def _free(rng: Rng) -> PlateText:
    total = int(rng.integers(3, 11))
    text = _pick(rng, LETTERS + DIGITS, total)
    cuts = sorted(set(rng.integers(1, total, int(rng.integers(0, 4))).tolist()))
    groups = tuple(text[a:b] for a, b in zip([0, *cuts], [*cuts, total], strict=True))
    two_line = total <= 8 and len(groups) >= 2 and rng.random() < 0.15
    return PlateText("XX", "free", groups, "free", two_line=two_line, line_break=max(1, len(groups) // 2))


FORMATS: dict[str, tuple[float, Callable[[Rng], PlateText]]] = {
    "be-current": (0.22, _be_current),
    "be-1973": (0.07, _be_old),
    "be-2008": (0.03, _be_2008),
    "be-motorcycle": (0.05, _be_motorcycle),
    "be-trailer": (0.02, _be_trailer),
    "be-diplomatic": (0.03, _be_diplomatic),
    "be-temporary": (0.03, _be_temporary),
    "be-personalised": (0.07, _be_personalised),
    "nl": (0.08, _nl),
    "fr-siv": (0.10, _fr_siv),
    "fr-fni": (0.05, _fr_fni),
    "de": (0.08, _de),
    "lu": (0.04, _lu),
    "free": (0.13, _free),
}
"""Format name to (share of samples, sampler)."""

_NAMES = list(FORMATS)
_WEIGHTS = np.array([FORMATS[n][0] for n in _NAMES])
_WEIGHTS /= _WEIGHTS.sum()


def sample_text(rng: Rng, fmt: str | None = None) -> PlateText:
    """A random plate text, of format `fmt` or of one drawn by the shares of `FORMATS`."""
    name = fmt if fmt is not None else _NAMES[int(rng.choice(len(_NAMES), p=_WEIGHTS))]
    return FORMATS[name][1](rng)
