"""8-bit quantisation of the converted detector (onnxruntime static QDQ, weights per channel), calibrated on
synthetic frames generated here: no data set is needed on the machine that converts, and none of the
evaluation images is used. On CPUs with VNNI it halves the detector's time (docs/models.md has the figures)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from cordon.recognize.detect import letterbox
from cordon.recognize.yolo_onnx import INPUT_NAME

CALIBRATION_FRAMES = 16


def synthetic_frames(count: int = CALIBRATION_FRAMES, seed: int = 0) -> Iterator[npt.NDArray[np.uint8]]:
    """1280×720 frames with the statistics that matter for activation ranges: smooth multi-scale colour
    noise (road, cars, sky), solid rectangles (bodywork, signs) and one light plate-like box with dark text
    and a blue band."""
    rng = np.random.default_rng(seed)
    alphabet = list("ABCDEFGHJKLMNPRSTVWXYZ0123456789")
    for _ in range(count):
        canvas = np.zeros((720, 1280, 3), np.float32)
        for scale in (8, 32, 128):
            noise = rng.random((720 // scale + 2, 1280 // scale + 2, 3)).astype(np.float32)
            canvas += cv2.resize(noise, (1280, 720), interpolation=cv2.INTER_CUBIC) * (255 / 3)
        frame = np.ascontiguousarray(np.clip(canvas, 0, 255).astype(np.uint8))
        for _ in range(int(rng.integers(3, 9))):
            x, y = int(rng.integers(0, 1100)), int(rng.integers(0, 600))
            w, h = int(rng.integers(40, 400)), int(rng.integers(20, 300))
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            cv2.rectangle(frame, (x, y), (x + w, y + h), colour, -1)
        pw = int(rng.integers(100, 320))
        ph = pw // 4
        x, y = int(rng.integers(0, 1280 - pw)), int(rng.integers(200, 720 - ph))
        cv2.rectangle(frame, (x, y), (x + pw, y + ph), (235, 235, 235), -1)
        cv2.rectangle(frame, (x, y), (x + pw // 12, y + ph), (40, 60, 200), -1)  # RGB blue
        text = "".join(rng.choice(alphabet, 7))
        cv2.putText(frame, text, (x + pw // 10, y + int(ph * 0.8)), cv2.FONT_HERSHEY_SIMPLEX, ph / 40,
                    (20, 20, 20), max(1, ph // 12))  # fmt: skip
        yield frame


def quantize_detector(float_model: Path, target: Path, input_size: int = 640) -> None:
    """Write an int8 (QDQ) copy of a float detector graph to `target`."""
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process  # type: ignore[import-untyped]

    class _Frames(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._inputs = iter({INPUT_NAME: letterbox(f, input_size)[0]} for f in synthetic_frames())

        def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
            return next(self._inputs, None)

    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(target),
            _Frames(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
        )
