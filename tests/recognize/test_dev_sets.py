"""The whole dev sets, end to end, with the default pipeline (slow: CI runs it).

Floors sit below what bench/recognition.py measured (docs/models.md has the figures), with room for
onnxruntime/OpenCV version noise; they catch a broken stage, they are not the targets (95 %)."""

from __future__ import annotations

import pytest

from cordon.recognize import scoring
from cordon.recognize.pipeline import Recognizer
from tests.recognize.conftest import BE_CROPS, EU_DEV, samples

pytestmark = pytest.mark.slow


def test_eu_scenes_end_to_end(recognizer: Recognizer) -> None:
    samples(EU_DEV)  # skips when the set is absent
    score = scoring.scenes(recognizer, scoring.read_manifest(EU_DEV))
    assert score.found >= 0.90
    assert score.accuracy >= 0.84, score.misses()
    assert score.calibration_error() <= 0.18


def test_belgian_crops(recognizer: Recognizer) -> None:
    samples(BE_CROPS)
    score = scoring.crops(recognizer, scoring.read_manifest(BE_CROPS))
    assert score.accuracy >= 0.72, score.misses()
