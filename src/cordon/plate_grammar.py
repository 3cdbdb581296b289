"""Country plate grammars expanded into *shapes*: per position, the characters a format allows.

The grammars themselves live in `cordon.plates.FORMATS` (regular expressions); this module expands each one
into its shapes: for each length the format allows, the set of characters allowed at each position
(`1ABC234` is one string of the shape `[12] [A-Z] [A-Z] [A-Z] [0-9] [0-9] [0-9]`). Look-aheads are left out
of the expansion; whoever needs exact strings checks them against the real regular expression. The shapes
give the recogniser's decoder its masks (`cordon.recognize.grammar`) and the traffic mix the number of
strings each format has (`format_strings`, for `cordon.traffic_mix`).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

from cordon.plates import FORMATS, PlateFormat

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
"""The characters the shapes are spelled in (umlauts of German districts are left to the fallback)."""

_MAX_SHAPES_PER_FORMAT = 512
_parser: Any = importlib.import_module("re._parser")  # the stdlib's own regex parser (sre_parse)


@dataclass(frozen=True)
class Shape:
    """One length of one format: allowed characters per position."""

    fmt: PlateFormat
    allowed: tuple[frozenset[str], ...]

    @property
    def exact(self) -> bool:
        """Whether every string of this shape matches its format: true unless the format has a look-around,
        which the expansion leaves out (then each string must be checked against the regular expression)."""
        return not any(mark in self.fmt.pattern.pattern for mark in ("(?=", "(?!", "(?<"))


_Seq = list[frozenset[str]]


def _expand(items: Any) -> list[_Seq]:
    """All position sequences a parsed (sub)pattern can produce."""
    results: list[_Seq] = [[]]
    for op, arg in items:
        name = str(op)
        options: list[_Seq]
        if name == "LITERAL":
            options = [[frozenset(chr(arg))]]
        elif name == "IN":
            chars: set[str] = set()
            for inner_op, inner_arg in arg:
                if str(inner_op) == "LITERAL":
                    chars.add(chr(inner_arg))
                elif str(inner_op) == "RANGE":
                    chars.update(chr(c) for c in range(inner_arg[0], inner_arg[1] + 1))
                else:
                    raise ValueError(f"unsupported character class item {inner_op}")
            options = [[frozenset(chars)]]
        elif name == "ANY":
            options = [[frozenset(ALPHABET)]]
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, sub = arg
            once = _expand(sub)
            options = []
            for count in range(low, high + 1):
                options.extend(
                    [[p for part in parts for p in part] for parts in product(once, repeat=count)] if count else [[]]
                )
        elif name == "SUBPATTERN":
            options = _expand(arg[-1])
        elif name == "BRANCH":
            options = [seq for branch in arg[1] for seq in _expand(branch)]
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # anchors; look-aheads are checked on the final string
        else:
            raise ValueError(f"unsupported regular expression element {name}")
        results = [head + tail for head in results for tail in options]
        if len(results) > _MAX_SHAPES_PER_FORMAT:
            raise ValueError("format expands to too many shapes")
    return results


@cache
def shapes() -> tuple[Shape, ...]:
    """Every shape of every format in `FORMATS`, in the order of `FORMATS`."""
    found: list[Shape] = []
    for fmt in FORMATS:
        seen: set[tuple[frozenset[str], ...]] = set()
        for seq in _expand(_parser.parse(fmt.pattern.pattern)):
            allowed = tuple(frozenset(c for c in position if c in ALPHABET) for position in seq)
            if allowed and all(allowed) and allowed not in seen:
                seen.add(allowed)
                found.append(Shape(fmt, allowed))
    return tuple(found)


@cache
def format_strings(format_name: str, length: int) -> float:
    """How many strings of `length` characters a format has (its shapes' products; look-aheads ignored), at
    least 1.

    >>> format_strings("BE current", 7) == 2 * 26**3 * 10**3
    True
    """
    return float(
        sum(
            math.prod(len(allowed) for allowed in shape.allowed)
            for shape in shapes()
            if shape.fmt.name == format_name and len(shape.allowed) == length
        )
        or 1
    )
