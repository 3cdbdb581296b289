"""Number plates as they are printed, in the real formats of Belgium and its neighbours, and who drives with which.

Every plate made is unique within a run. The share of foreign plates depends on where the zone lies (how far
from the NL, FR, DE and LU borders) and on the gate: a gate that faces a neighbour sees more of its plates.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from cordon.plates import normalize_plate

_BE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_NL_LETTERS = "BDFGHJKLNPRSTVXZ"  # side codes 4 and later: no vowels, no C, Q, M, W
_FR_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # SIV: never I, O, U
_LU_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # never I, O
_DE_DISTRICTS = ("K", "D", "AC", "B", "M", "HH", "DU", "BN", "KR", "MG", "E", "DO", "AA", "BM", "NE", "WES")
_DIGITS = "0123456789"

# Points along each neighbour's border with Belgium (lat, lon): the nearest gives the distance to it.
_BORDERS: dict[str, tuple[tuple[float, float], ...]] = {
    "NL": ((51.37, 4.25), (51.27, 3.55), (51.45, 4.95), (51.25, 5.55), (50.77, 5.70)),
    "FR": ((51.08, 2.60), (50.72, 3.20), (50.30, 4.20), (49.95, 4.80), (49.55, 5.60)),
    "DE": ((50.75, 6.10), (50.30, 6.40)),
    "LU": ((49.90, 5.75), (49.60, 5.85), (50.15, 5.95)),
}
# Share of a neighbour's plates right at its border, how fast it falls off (km), and the floor far away.
_AMPLITUDE = {"NL": 0.25, "FR": 0.25, "DE": 0.2, "LU": 0.2}
_FALLOFF_KM = 25.0
_FLOOR = {"NL": 0.012, "FR": 0.01, "DE": 0.012, "LU": 0.003}


def _letters(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10**n):0{n}d}"


def belgian(rng: random.Random, category: str) -> str:
    """A Belgian plate as printed: mostly `1-ABC-234` / `2-ABC-234`, some older series and motorcycles."""
    if category == "L3":
        return f"M-{_letters(rng, _BE_LETTERS, 3)}-{_digits(rng, 3)}"
    roll = rng.random()
    if roll < 0.70:
        return f"1-{_letters(rng, _BE_LETTERS, 3)}-{_digits(rng, 3)}"
    if roll < 0.92:
        return f"2-{_letters(rng, _BE_LETTERS, 3)}-{_digits(rng, 3)}"
    if roll < 0.97:
        return f"{_letters(rng, _BE_LETTERS, 3)}-{_digits(rng, 3)}"
    if roll < 0.995:
        return f"{_digits(rng, 3)}-{_letters(rng, _BE_LETTERS, 3)}"
    return "".join(rng.choice(_BE_LETTERS) for _ in range(rng.randint(4, 7)))  # personalised


def dutch(rng: random.Random) -> str:
    """A Dutch plate of a recent side code (7 to 11)."""
    layout = rng.choice(("99-LLL-9", "9-LLL-99", "LL-999-L", "L-999-LL", "LLL-99-L"))
    return "".join(rng.choice(_NL_LETTERS) if ch == "L" else rng.choice(_DIGITS) if ch == "9" else ch for ch in layout)


def french(rng: random.Random) -> str:
    """A French SIV plate, `AB-123-CD`."""
    return f"{_letters(rng, _FR_LETTERS, 2)}-{rng.randint(1, 999):03d}-{_letters(rng, _FR_LETTERS, 2)}"


def german(rng: random.Random) -> str:
    """A German plate, `K AB 1234`: district, one or two letters, a number without a leading zero."""
    district = rng.choice(_DE_DISTRICTS)
    letters = _letters(rng, _BE_LETTERS, 1 if len(district) == 3 else rng.randint(1, 2))
    return f"{district} {letters} {rng.randint(1, 9999 if len(district) < 3 else 999)}"


def luxembourgish(rng: random.Random) -> str:
    """A Luxembourg plate, `AB 1234`."""
    return f"{_letters(rng, _LU_LETTERS, 2)} {_digits(rng, 4)}"


_FOREIGN = {"NL": dutch, "FR": french, "DE": german, "LU": luxembourgish}


@dataclass(frozen=True, slots=True)
class Plate:
    """A plate as printed and in its normalised (stored) form."""

    display: str
    plate: str
    country: str


class PlateMaker:
    """Makes plates that are unique within a run."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()

    def make(self, country: str, category: str = "M1") -> Plate:
        """A new plate of a country (`BE`, `NL`, `FR`, `DE`, `LU`)."""
        while True:
            display = belgian(self._rng, category) if country == "BE" else _FOREIGN[country](self._rng)
            normalised = display.replace("-", "").replace(" ", "")  # what normalize_plate gives these formats
            if normalised not in self._taken:
                self._taken.add(normalised)
                return Plate(display, normalised, country)

    def claim(self, display: str, country: str) -> Plate | None:
        """Take a given plate (a look-alike decoy, say), or None when it is already in use."""
        normalised = normalize_plate(display)
        if normalised in self._taken:
            return None
        self._taken.add(normalised)
        return Plate(display, normalised, country)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[1] - b[1]) * 111.2 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, (a[0] - b[0]) * 111.2)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    dy = b[0] - a[0]
    norm = math.hypot(dx, dy) or 1.0
    return (dx / norm, dy / norm)


class CountryMix:
    """Which country a vehicle's plate comes from, by where the zone lies and which gate it uses."""

    COUNTRIES = ("BE", "NL", "FR", "DE", "LU")

    def __init__(self, lat: float, lon: float) -> None:
        self._here = (lat, lon)
        self._base: dict[str, float] = {}
        self._towards: dict[str, tuple[float, float]] = {}
        for country, points in _BORDERS.items():
            nearest = min(points, key=lambda p: _km(self._here, p))
            distance = _km(self._here, nearest)
            self._base[country] = _FLOOR[country] + _AMPLITUDE[country] * math.exp(-distance / _FALLOFF_KM)
            self._towards[country] = _bearing(self._here, nearest)

    def shares(self, gate_direction: tuple[float, float] | None = None, factor: float = 1.0) -> list[float]:
        """Cumulative weights over `COUNTRIES`; a gate facing a neighbour gets more of its plates."""
        weights = []
        for country in self.COUNTRIES[1:]:
            share = self._base[country] * factor
            if gate_direction is not None:
                tx, ty = self._towards[country]
                share *= 1 + 0.8 * (gate_direction[0] * tx + gate_direction[1] * ty)
            weights.append(share)
        foreign = min(sum(weights), 0.9)
        scale = foreign / sum(weights) if sum(weights) > 0 else 0.0
        cumulative = [1.0 - foreign]
        for w in weights:
            cumulative.append(cumulative[-1] + w * scale)
        return cumulative

    def foreign_share(self) -> float:
        """The share of foreign plates in the zone, before any gate's direction."""
        return 1.0 - self.shares()[0]
