"""Cordon's own plate-character reader: a small CNN + LSTM read by CTC, trained here on synthetic plates (see
MODEL_CARD.md), run on the CPU (`cordon.recognize.engine`). Slot models (one distribution per character slot, the
earlier design) load too: the model's `decoding` metadata says which it is.

>>> reader = CordonReader()  # nothing is loaded until the first read
>>> reader.name
'cordon-reader'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cordon.recognize import ctc
from cordon.recognize.engine import PORTABLE, Engine
from cordon.recognize.reader.preprocess import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS, best_text, preprocess
from cordon.recognize.stages import PAD, SlotProbs

if TYPE_CHECKING:
    from cordon.recognize.stages import Reader

__all__ = ["ALPHABET", "MODEL_PATH", "SLOTS", "CordonReader", "PlateModelError", "best_text", "check_model"]

MODEL_PATH = Path(__file__).with_name("plate_reader.onnx")
"""The committed model, trained by `training/` in this repository (EUPL-1.2)."""
BLANK = ALPHABET.index(PAD)
"""A CTC model's blank is the slot models' PAD: both mean "no character"."""
CTC_SLOTS = 12
"""Rows kept of a CTC model's reading (a plate has at most 10 characters; garbage may emit more)."""


DECODINGS = ("ctc", "slots")
"""How a reader model's output is read (its `decoding` metadata): CTC columns, or one row per slot."""


class PlateModelError(ValueError):
    """A file given as a plate reader model that Cordon cannot use as one; the message says why."""


def check_model(path: Path) -> None:
    """Refuse, with the reason, a file that is not a plate reader model Cordon can run: an ONNX graph with
    one input `image` of (batch, 1, INPUT_HEIGHT, INPUT_WIDTH), an output over `ALPHABET`, and the metadata
    `training/export.py` writes (`alphabet` equal to `ALPHABET`, `decoding` one of `DECODINGS`). A zone that
    trains its own reader (training/README.md) is told here, before any work, what its file lacks.

    >>> check_model(MODEL_PATH)  # the committed model passes
    """
    import onnxruntime  # type: ignore[import-untyped]

    if not path.is_file():
        raise PlateModelError(f"{path}: no such file")
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PlateModelError(f"{path}: not an ONNX model onnxruntime can load ({first})") from None
    meta = session.get_modelmeta().custom_metadata_map
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != ["image"]:
        raise PlateModelError(f"{path}: the model must take one input named 'image', not {[i.name for i in inputs]}")
    if list(inputs[0].shape[1:]) != [1, INPUT_HEIGHT, INPUT_WIDTH]:
        raise PlateModelError(
            f"{path}: the input must be (batch, 1, {INPUT_HEIGHT}, {INPUT_WIDTH}) grey planes, not {inputs[0].shape}"
        )
    if meta.get("alphabet") != ALPHABET:
        raise PlateModelError(f"{path}: metadata 'alphabet' must be {ALPHABET!r}, not {meta.get('alphabet')!r}")
    if meta.get("decoding", "slots") not in DECODINGS:
        raise PlateModelError(f"{path}: metadata 'decoding' must be one of {DECODINGS}, not {meta['decoding']!r}")
    last = outputs[0].shape[-1] if outputs and outputs[0].shape else None
    if last != len(ALPHABET):
        raise PlateModelError(f"{path}: the output must give {len(ALPHABET)} scores per position, not {last}")


class CordonReader:
    """Reads plate crops into per-slot character probabilities (implements `stages.Reader`); a CTC model's
    columns become one row per character read (`cordon.recognize.ctc.character_rows`).

    `engine`: the runtime, precision and threads (1: one camera per core); crops are run in batches of
    `batch_size`. The session is created on the first `read` and shared by threads after that.
    """

    def __init__(self, model_path: Path = MODEL_PATH, engine: Engine = PORTABLE, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = "cordon-reader" if model_path == MODEL_PATH else f"plate-reader:{model_path.name}"
        """`cordon-reader` for the committed model; another model (a zone's own) is named by its file."""
        self.model_path = model_path
        self.engine = engine
        self.batch_size = batch_size
        self._session: Any = None
        self._ctc = False
        self._lock = Lock()

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    session = self.engine.session(self.model_path)
                    self._ctc = session.metadata.get("decoding") == "ctc"
                    self._session = session  # last: other threads use the session once it is set
        outputs = self._session.run(None, {"image": batch})
        probs: npt.NDArray[np.float32] = np.asarray(outputs[0], dtype=np.float32)
        return probs

    def read(self, crops: Sequence[npt.NDArray[np.uint8]]) -> list[SlotProbs]:
        results: list[SlotProbs] = []
        for start in range(0, len(crops), self.batch_size):
            probs = self._run(preprocess(crops[start : start + self.batch_size]))
            probs /= probs.sum(axis=-1, keepdims=True)  # exact rows after float32 softmax
            if self._ctc:  # one row per image column: one per emitted character instead
                probs = np.stack([ctc.character_rows(p, BLANK, CTC_SLOTS) for p in probs])
            results.extend(SlotProbs(ALPHABET, np.ascontiguousarray(p)) for p in probs)
        return results

    def read_text(self, crops: Sequence[npt.NDArray[np.uint8]]) -> list[str]:
        """The best symbol of each slot, without any grammar: for evaluation and debugging."""
        return [best_text(slot.probs) for slot in self.read(crops)]


if TYPE_CHECKING:
    _check: Reader = CordonReader()
