"""The plate detector: read from its PyTorch checkpoint without torch, rebuilt as ONNX, run on real images."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cordon.recognize.detect import YoloPlateDetector, letterbox, nms
from cordon.recognize.models import Precision, converted_detector, detector_checkpoint
from cordon.recognize.stages import Box
from cordon.recognize.torchfile import CheckpointError, Stub, load_checkpoint
from tests.recognize.conftest import EU_DEV, rgb, samples


def test_checkpoint_is_read_into_numpy_without_torch() -> None:
    checkpoint = load_checkpoint(detector_checkpoint())
    model = checkpoint["ema"] or checkpoint["model"]
    assert isinstance(model, Stub) and type(model).__name__ == "DetectionModel"
    first_conv = model.__dict__["_modules"]["model"].__dict__["_modules"]["0"].__dict__["_modules"]["conv"]
    weight = first_conv.__dict__["_parameters"]["weight"]
    assert isinstance(weight, np.ndarray) and weight.shape == (16, 3, 3, 3)


def test_a_checkpoint_cannot_run_code(tmp_path: Path) -> None:
    """A hostile pickle names os.system: it becomes an inert stub, nothing is executed."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"model": Evil()}, protocol=2))
    loaded = load_checkpoint(path)
    assert isinstance(loaded["model"], Stub)
    assert not marker.exists()


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_conversion_is_cached(model_cache: Path) -> None:
    first = converted_detector(model_cache)
    modified = first.onnx_path.stat().st_mtime_ns
    again = converted_detector(model_cache)
    assert again == first and again.onnx_path.stat().st_mtime_ns == modified
    assert first.onnx_path.name.endswith("-int8.onnx")  # the default: quantised once, next to the float graph
    assert converted_detector(model_cache, precision="float32").onnx_path.is_file()
    assert first.spec.strides == (8, 16, 32) and first.spec.reg_max == 16


@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_converted_graph_finds_the_annotated_plates(model_cache: Path, precision: Precision) -> None:
    """The rebuilt graph (and its quantised copy) finds the manifest's plate boxes on real dev images."""
    converted = converted_detector(model_cache, precision=precision)
    detector = YoloPlateDetector(converted.onnx_path, converted.spec)
    chosen = samples(EU_DEV)[:10]
    hits = 0
    for sample in chosen:
        assert sample.box is not None
        truth = Box(*sample.box)
        found = detector.detect(rgb(sample.path))
        hits += any(d.box.iou(truth) >= 0.5 for d in found)
        assert all(0 < d.score <= 1 for d in found)
    assert hits >= 8, f"{hits} of {len(chosen)} plates found"


def test_letterbox_keeps_the_aspect_and_pads_to_the_stride() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    tensor, transform = letterbox(image, 640)
    assert tensor.shape == (1, 3, 384, 640)
    assert transform.scale == 0.5 and transform.pad_x == 0 and transform.pad_y == 12


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.5], dtype=np.float32)
    assert nms(boxes, scores, 0.5) == [1, 2]
