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

from cordon.recognize.images import load_image
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
    return load_image(path)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def recognizer(model_cache: Path) -> Iterator[Recognizer]:
    """The default pipeline with the general reader (RapidOCR), as shipped when no trained reader exists."""
    yield build_recognizer("rapidocr", cache_dir=model_cache)


def write_passing_video(path: Path, cars: list[Path], frames_per_car: int = 10, gap: int = 16) -> None:
    """A 1280×720 MJPEG video of vehicles passing one after the other: for each car photo, a window panned
    and zoomed across it (the plate moves and grows), then `gap` empty grey frames before the next car."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (1280, 720))
    assert writer.isOpened()
    grey = np.full((720, 1280, 3), 90, np.uint8)
    for car in cars:
        photo = cv2.cvtColor(load_image(car), cv2.COLOR_RGB2BGR)
        height, width = photo.shape[:2]
        for i in range(frames_per_car):
            zoom = 1.0 + 0.25 * i / frames_per_car  # the vehicle comes closer
            win_w, win_h = int(width / zoom), int(height / zoom)
            x0 = int((width - win_w) * i / frames_per_car)  # and crosses the frame
            y0 = (height - win_h) // 2
            writer.write(cv2.resize(photo[y0 : y0 + win_h, x0 : x0 + win_w], (1280, 720)))
        for _ in range(gap):
            writer.write(grey)
    writer.release()
