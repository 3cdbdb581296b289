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
