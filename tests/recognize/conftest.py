"""Shared fixtures of the recognition tests: the real models (built once per session), the dev sets by path."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from cordon.recognize.pipeline import Recognizer, build_recognizer
from tests.conftest import ROOT

DATA = ROOT.parent / "shared" / "data"
EU_DEV = DATA / "plates-eu-dev"
BE_CROPS = DATA / "be-crops-dev"


@dataclass(frozen=True)
class Sample:
    path: Path
    plate: str
    box: tuple[int, int, int, int] | None


def samples(folder: Path) -> list[Sample]:
    """The manifest of a dev set (skips the test when the set is not there)."""
    manifest = folder / "manifest.csv"
    if not manifest.is_file():
        pytest.skip(f"dev set {folder} not present")
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Sample(folder / row["image"], row["plate"],
               (int(row["x"]), int(row["y"]), int(row["w"]), int(row["h"])) if row.get("x") else None)
        for row in rows
    ]  # fmt: skip


def rgb(path: Path) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), dtype=np.uint8)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def recognizer(model_cache: Path) -> Iterator[Recognizer]:
    """The default pipeline with the general reader (RapidOCR), as shipped when no trained reader exists."""
    yield build_recognizer("rapidocr", cache_dir=model_cache)
