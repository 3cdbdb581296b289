"""Shared fixtures of the recognition tests: the real models (built once per session), the dev sets by path."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def passing_frames(cars: list[Path], frames_per_car: int = 10, gap: int = 16) -> Iterator[npt.NDArray[np.uint8]]:
    """1280×720 BGR frames of vehicles passing one after the other: for each car photo, a window panned and
    zoomed across it (the plate moves and grows), then `gap` empty grey frames before the next car."""
    grey = np.full((720, 1280, 3), 90, np.uint8)
    for car in cars:
        photo = cv2.cvtColor(load_image(car), cv2.COLOR_RGB2BGR)
        height, width = photo.shape[:2]
        for i in range(frames_per_car):
            zoom = 1.0 + 0.25 * i / frames_per_car  # the vehicle comes closer
            win_w, win_h = int(width / zoom), int(height / zoom)
            x0 = int((width - win_w) * i / frames_per_car)  # and crosses the frame
            y0 = (height - win_h) // 2
            yield np.asarray(cv2.resize(photo[y0 : y0 + win_h, x0 : x0 + win_w], (1280, 720)), dtype=np.uint8)
        for _ in range(gap):
            yield grey


def write_passing_video(path: Path, cars: list[Path], frames_per_car: int = 10, gap: int = 16) -> None:
    """A 1280×720 MJPEG video file of `passing_frames`, at 10 frames/s."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (1280, 720))
    assert writer.isOpened()
    for frame in passing_frames(cars, frames_per_car, gap):
        writer.write(frame)
    writer.release()


class MjpegCamera:
    """An IP camera's live MJPEG stream over HTTP (`multipart/x-mixed-replace`, as such cameras serve it) on a
    real local socket, whose connections follow a script: connection k sends the first `sends[k]` frames (None:
    all), then drops the connection or, where `stalls[k]`, keeps it open and silent for `stall_s`. Every
    connection after the script's end gets 503: the camera is down. `connections` counts the requests."""

    def __init__(
        self,
        frames: list[npt.NDArray[np.uint8]],
        sends: list[int | None],
        stalls: list[bool] | None = None,
        stall_s: float = 5.0,
    ) -> None:
        self.jpegs = [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for frame in frames]
        self.sends, self.stalls, self.stall_s = sends, stalls or [False] * len(sends), stall_s
        self.connections = 0
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                k = camera.connections
                camera.connections += 1
                if k >= len(camera.sends):
                    self.send_error(503, "camera down")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                for jpeg in camera.jpegs[: camera.sends[k]]:
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                    self.wfile.write(head + jpeg + b"\r\n")
                self.wfile.flush()
                if camera.stalls[k]:
                    time.sleep(camera.stall_s)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/stream.mjpg"

    def __enter__(self) -> MjpegCamera:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
