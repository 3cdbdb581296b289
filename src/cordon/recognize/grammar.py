"""Country plate grammars as per-position character masks, for the decoder.

The shapes of each format (`cordon.plate_grammar.shapes`: for each length, the characters allowed at each
position) become boolean masks over `ALPHABET`, grouped by length, so that the decoder scores every shape of
a length at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from cordon.plate_grammar import ALPHABET, Shape, shapes


@dataclass(frozen=True)
class ShapeTable:
    """All shapes of one length as one array, for scoring them at once: masks (shapes, length, alphabet), and
    which shapes need their strings checked against the format's regular expression (`Shape.exact`)."""

    shapes: tuple[Shape, ...]
    masks: npt.NDArray[np.bool_]
    checked: npt.NDArray[np.bool_]


@cache
def shape_tables() -> dict[int, ShapeTable]:
    """Shapes grouped by length."""
    by_length: dict[int, list[Shape]] = {}
    for shape in shapes():
        by_length.setdefault(len(shape.allowed), []).append(shape)
    tables = {}
    for length, group in by_length.items():
        masks = np.zeros((len(group), length, len(ALPHABET)), dtype=bool)
        for s, shape in enumerate(group):
            for i, allowed in enumerate(shape.allowed):
                masks[s, i, [ALPHABET.index(c) for c in allowed]] = True
        tables[length] = ShapeTable(tuple(group), masks, np.array([not shape.exact for shape in group]))
    return tables
