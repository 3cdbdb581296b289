"""From a CTC reader's columns to character rows (`cordon.recognize.ctc`)."""

from __future__ import annotations

import numpy as np

from cordon.recognize.ctc import character_rows, peak_columns, runs

BLANK = 3


def columns(*rows: tuple[int, float]) -> np.ndarray:
    """One column per (symbol, probability) pair over 4 symbols (3 is the blank); the rest spread evenly."""
    probs = np.zeros((len(rows), 4), dtype=np.float32)
    for t, (symbol, p) in enumerate(rows):
        probs[t] = (1 - p) / 3
        probs[t, symbol] = p
    return probs


def test_runs_merge_repeats_and_drop_blanks() -> None:
    assert runs(np.array([3, 0, 0, 3, 1, 1, 1, 3, 3]), BLANK) == [(1, 2, 0), (4, 6, 1)]
    assert runs(np.array([0, 3, 0]), BLANK) == [(0, 0, 0), (2, 2, 0)]  # a blank between equals: two characters
    assert runs(np.array([3, 3]), BLANK) == []
    assert runs(np.array([], dtype=np.int64), BLANK) == []


def test_each_character_is_read_where_it_peaks() -> None:
    probs = columns((0, 0.6), (0, 0.9), (0, 0.7), (3, 0.9), (2, 0.8))
    assert peak_columns(probs, BLANK) == [1, 4]


def test_character_rows_hold_the_characters_then_blanks() -> None:
    probs = columns((3, 0.9), (1, 0.7), (3, 0.9), (2, 0.5))
    rows = character_rows(probs, BLANK, slots=4)
    assert rows.shape == (4, 4) and rows.dtype == np.float32
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-6)
    assert list(rows.argmax(axis=1)) == [1, 2, BLANK, BLANK]
    assert rows[0, BLANK] == 0.0  # the blank's share is taken out of a character row
    np.testing.assert_allclose(rows[0, 1], 0.7 / (0.7 + 0.2), rtol=1e-5)  # and the rest renormalised


def test_a_reading_longer_than_the_slots_is_cut() -> None:
    probs = columns(*[(i % 3, 0.9) for i in range(7)])
    rows = character_rows(probs, BLANK, slots=5)
    assert list(rows.argmax(axis=1)) == [0, 1, 2, 0, 1]


def test_nothing_read_gives_blank_rows() -> None:
    rows = character_rows(columns((3, 0.99), (3, 0.99)), BLANK, slots=3)
    assert (rows[:, BLANK] == 1.0).all()
