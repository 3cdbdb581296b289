"""RapidOCR's general text recogniser (PP-OCRv6 small, shipped in the `rapidocr` wheel) as a `Reader`.

The recogniser is a CTC model: per column of the image, a probability per symbol of its ~18,000-symbol
vocabulary. Its RapidOCR wrapper keeps only the best string; here the whole distribution of each emitted
character is kept, folded onto the plate alphabet (A-Z, 0-9, lower case counted as upper case), so the
decoder can resolve look-alikes by position. Separators (`-`, `·`, spaces) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from cordon.recognize.ctc import peak_columns
from cordon.recognize.engine import PORTABLE, Engine
from cordon.recognize.stages import PAD, SlotProbs

PLATE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + PAD
SLOTS = 12
HEIGHT = 48
MIN_WIDTH = 320
WIDTH_STEP = 32
MIN_PLATE_MASS = 0.2
"""An emitted symbol whose probability mass on plate characters is below this is not a plate character."""


def _fold_matrix(vocabulary: Sequence[str]) -> npt.NDArray[np.float32]:
    """(vocabulary, plate alphabet without PAD) 0/1 matrix: which model symbols count as which character."""
    fold = np.zeros((len(vocabulary), len(PLATE_ALPHABET) - 1), dtype=np.float32)
    column = {ch: i for i, ch in enumerate(PLATE_ALPHABET[:-1])}
    for row, symbol in enumerate(vocabulary):
        target = symbol.upper() if len(symbol) == 1 else ""
        if target in column:
            fold[row, column[target]] = 1.0
    return fold


class RapidOcrReader:
    """Reads plate crops with RapidOCR's recogniser; one `SlotProbs` per crop."""

    name = "rapidocr-ppocrv6-small"

    def __init__(self, model_path: Path, engine: Engine = PORTABLE) -> None:
        self._session = engine.session(model_path)
        meta = self._session.metadata
        # As RapidOCR does: the CTC blank first, the model's character list, then a space.
        self._vocabulary = ["<blank>", *meta["character"].splitlines(), " "]
        fold = _fold_matrix(self._vocabulary)
        # Only the symbols that are plate characters (upper and lower case, digits: ~60 of ~18,700) are folded:
        # the same sums as the whole matrix, a few hundred times less work per character.
        self._plate_symbols = np.flatnonzero(fold.any(axis=1))
        self._fold = np.ascontiguousarray(fold[self._plate_symbols])
        self._input = self._session.input_names[0]

    def _tensor(self, crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Height 48, width by aspect ratio, then padded (with 0, mid grey) to at least `MIN_WIDTH`, as the
        model was trained: without the padding it drops and doubles characters. Wider crops are padded to a
        multiple of `WIDTH_STEP`, so a long-running camera feeds the model a handful of input shapes, not one
        per crop (a runtime prepares and keeps its kernels per shape)."""
        height, width = crop.shape[:2]
        new_w = max(8, min(HEIGHT * 16, int(np.ceil(HEIGHT * width / max(height, 1)))))
        resized = cv2.resize(crop[:, :, ::-1], (new_w, HEIGHT), interpolation=cv2.INTER_LINEAR)  # model wants BGR
        padded_w = max(MIN_WIDTH, -(-new_w // WIDTH_STEP) * WIDTH_STEP)
        tensor = np.zeros((1, 3, HEIGHT, padded_w), dtype=np.float32)
        tensor[0, :, :, :new_w] = resized.transpose(2, 0, 1).astype(np.float32) * (2 / 255) - 1.0
        return tensor

    def read(self, crops: Sequence[npt.NDArray[np.uint8]]) -> list[SlotProbs]:
        results = []
        for crop in crops:  # one by one: widths differ, and padding costs as much as it saves
            probs = np.asarray(self._session.run(None, {self._input: self._tensor(crop)})[0], dtype=np.float32)[0]
            results.append(self._slots(probs))
        return results

    def _slots(self, probs: npt.NDArray[np.float32]) -> SlotProbs:
        """CTC columns -> one row per emitted character (the column where it peaks), folded onto plates."""
        rows: list[npt.NDArray[np.float32]] = []
        for peak in peak_columns(probs, blank=0):
            folded = probs[peak, self._plate_symbols] @ self._fold
            mass = float(folded.sum())
            if mass >= MIN_PLATE_MASS:
                rows.append(folded / mass)
        matrix = np.zeros((SLOTS, len(PLATE_ALPHABET)), dtype=np.float32)
        matrix[:, -1] = 1.0
        for i, row in enumerate(rows[:SLOTS]):
            matrix[i, :-1] = row
            matrix[i, -1] = 0.0
        return SlotProbs(PLATE_ALPHABET, matrix)
