"""From a CTC reader's columns to character rows: the best path's runs, each read at the column where its
symbol peaks. Used by RapidOCR's recogniser (`rapid.py`) and by a CTC plate reader (`reader/`): both see
a distribution per image column, the decoder wants one per character.

>>> import numpy as np
>>> best = np.array([0, 3, 3, 0, 0, 5, 0, 5, 5])
>>> runs(best, blank=0)
[(1, 2, 3), (5, 5, 5), (7, 8, 5)]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def runs(best: npt.NDArray[np.integer], blank: int) -> list[tuple[int, int, int]]:
    """The emitted symbols of a best path: (first column, last column, symbol) per run of one symbol that is
    not the blank. Repeats merge into one run; a blank between two equal symbols makes two."""
    found: list[tuple[int, int, int]] = []
    t, n = 0, len(best)
    while t < n:
        symbol = int(best[t])
        end = t
        while end + 1 < n and best[end + 1] == symbol:
            end += 1
        if symbol != blank:
            found.append((t, end, symbol))
        t = end + 1
    return found


def peak_columns(probs: npt.NDArray[np.float32], blank: int) -> list[int]:
    """For each symbol the best path emits, the column where that symbol's probability peaks."""
    return [start + int(probs[start : end + 1, symbol].argmax()) for start, end, symbol in runs(probs.argmax(1), blank)]


def character_rows(probs: npt.NDArray[np.float32], blank: int, slots: int) -> npt.NDArray[np.float32]:
    """(slots, symbols) rows, one per emitted character (its peak column, the blank's share removed and the
    rest renormalised), then rows of pure blank: the `SlotProbs` layout with the blank as PAD."""
    matrix = np.zeros((slots, probs.shape[1]), dtype=np.float32)
    matrix[:, blank] = 1.0
    for i, column in enumerate(peak_columns(probs, blank)[:slots]):
        row = probs[column].astype(np.float32)  # a copy
        row[blank] = 0.0
        mass = float(row.sum())
        if mass > 0:
            matrix[i] = row / mass
    return matrix
