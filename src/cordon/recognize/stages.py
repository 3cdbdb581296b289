"""The contracts between recognition stages: each stage sits behind one of these so a better model can replace it.

detect (image → plate boxes) ► crop and rectify ► read (crop → per-slot character probabilities)
► decode with country grammars as a prior (→ ranked candidates) ► vote over frames (video).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PAD = "_"
"""The reader's "no character here" symbol: a slot after the plate's last character."""


@dataclass(frozen=True)
class SlotProbs:
    """What a reader saw on one plate crop: for each character slot, a probability per symbol.

    `probs` has shape (slots, len(alphabet)) and each row sums to 1; `alphabet` labels its columns and holds
    `PAD`. Keeping the whole distribution (not only the best string) lets the decoder resolve look-alikes
    (O/0, I/1, B/8, S/5, Z/2, G/6) by their position in a country's format and give calibrated top-N candidates.
    """

    alphabet: str
    probs: npt.NDArray[np.float32]


class Reader(Protocol):
    """Reads plate crops. `crops` are RGB uint8 arrays (height × width × 3) of one plate each, any size;
    the reader resizes them itself. One `SlotProbs` per crop, in order."""

    name: str

    def read(self, crops: Sequence[npt.NDArray[np.uint8]]) -> list[SlotProbs]: ...


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in image pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    def iou(self, other: Box) -> float:
        """Intersection over union with another box (0 when apart)."""
        ix = max(0, min(self.x2, other.x2) - max(self.x, other.x))
        iy = max(0, min(self.y2, other.y2) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Detection:
    """One plate found in an image, with the detector's confidence."""

    box: Box
    score: float


class Detector(Protocol):
    """Finds plates. `image` is an RGB uint8 array (height × width × 3); detections come best first."""

    name: str

    def detect(self, image: npt.NDArray[np.uint8]) -> list[Detection]: ...


@dataclass(frozen=True)
class Candidate:
    """One reading of a plate: normalised text, calibrated confidence (0 to 1), country and format if one fits."""

    plate: str
    confidence: float
    country: str | None = None
    format_name: str | None = None
    score: float = 0.0
    """Unnormalised log score: compares readings of the same plate (one line or two, frame to frame)."""


@dataclass(frozen=True)
class Recognition:
    """A plate read in one image (or over one video track): the best candidate first, then alternatives."""

    candidates: tuple[Candidate, ...]
    box: Box | None = None
    detection_score: float | None = None

    @property
    def best(self) -> Candidate:
        return self.candidates[0]


class Decoder(Protocol):
    """Turns what a reader saw into ranked candidates (grammars as a prior)."""

    def decode(self, slots: SlotProbs, top: int) -> tuple[Candidate, ...]: ...
