"""What the plate reader sees: one function shared by training and inference so they cannot drift.

A crop (RGB uint8, any size) becomes one grey plane of ``INPUT_HEIGHT`` × ``INPUT_WIDTH`` pixels, stretched to
fill it (two-line plates too), standardised to zero mean and unit spread. The resampling is a separable,
antialiased triangle filter written in numpy (no OpenCV or Pillow at inference), so the trainer and the reader
compute the same numbers on the same crop.

>>> import numpy as np
>>> batch = preprocess([np.zeros((40, 180, 3), np.uint8), np.full((90, 70, 3), 255, np.uint8)])
>>> batch.shape, batch.dtype
((2, 1, 64, 192), dtype('float32'))
>>> encode_label("1ABC234")[:9].tolist()
[1, 10, 11, 12, 2, 3, 4, 36, 36]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from cordon.recognize.stages import PAD

__all__ = [
    "ALPHABET",
    "INPUT_HEIGHT",
    "INPUT_WIDTH",
    "SLOTS",
    "best_text",
    "encode_label",
    "preprocess",
]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" + PAD
"""The reader's symbols: digits, Latin capitals, and PAD (no character) last."""
SLOTS = 10
"""Character slots: Belgian personalised plates have up to 8 characters; 10 leaves a margin for neighbours."""
INPUT_HEIGHT = 64
INPUT_WIDTH = 192

_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@lru_cache(maxsize=512)
def _resample_matrix(size_in: int, size_out: int) -> npt.NDArray[np.float32]:
    """(size_out, size_in) weights of an antialiased linear (triangle) filter, rows summing to 1."""
    scale = size_in / size_out
    support = max(scale, 1.0)
    centres = (np.arange(size_out, dtype=np.float64) + 0.5) * scale - 0.5
    taps = np.arange(size_in, dtype=np.float64)
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centres[:, None]) / support)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


def _grey(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] < 1 or crop.shape[1] < 1:
        raise ValueError(f"a plate crop must be an RGB array of shape (height, width, 3), got {crop.shape}")
    grey: npt.NDArray[np.float32] = crop.astype(np.float32) @ _LUMA
    return grey


def preprocess_one(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """One crop to a standardised (INPUT_HEIGHT, INPUT_WIDTH) float32 plane."""
    grey = _grey(crop)
    rows = _resample_matrix(grey.shape[0], INPUT_HEIGHT)
    cols = _resample_matrix(grey.shape[1], INPUT_WIDTH)
    h, w = grey.shape
    rows_first = (
        INPUT_HEIGHT * h * w + INPUT_HEIGHT * w * INPUT_WIDTH < h * w * INPUT_WIDTH + INPUT_HEIGHT * h * INPUT_WIDTH
    )
    product = (rows @ grey) @ cols.T if rows_first else rows @ (grey @ cols.T)
    plane = product.astype(np.float32, copy=False)
    spread = np.float32(max(float(plane.std()), 8.0))  # a flat crop stays flat instead of amplifying its noise
    standard: npt.NDArray[np.float32] = (plane - np.float32(plane.mean())) / spread
    return standard


def preprocess(crops: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
    """A batch of crops to the model's input, shape (N, 1, INPUT_HEIGHT, INPUT_WIDTH), float32."""
    batch = np.empty((len(crops), 1, INPUT_HEIGHT, INPUT_WIDTH), dtype=np.float32)
    for i, crop in enumerate(crops):
        batch[i, 0] = preprocess_one(crop)
    return batch


def encode_label(text: str) -> npt.NDArray[np.int64]:
    """A normalised plate (A-Z, 0-9, at most SLOTS characters) to slot indexes, PAD-filled."""
    if len(text) > SLOTS:
        raise ValueError(f"plate {text!r} has more than {SLOTS} characters")
    try:
        indexes = [_INDEX[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"plate {text!r} has a character outside the reader's alphabet") from exc
    return np.array(indexes + [_INDEX[PAD]] * (SLOTS - len(text)), dtype=np.int64)


def best_text(probs: npt.NDArray[np.float32], alphabet: str = ALPHABET) -> str:
    """The most likely symbol of each slot, PADs dropped: the reader's plain answer without any grammar."""
    return "".join(alphabet[i] for i in probs.argmax(axis=-1).tolist() if alphabet[i] != PAD)
