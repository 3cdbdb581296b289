"""Video: one read per passing vehicle, voted over its frames, with the best frame's crop."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner

from cordon.cli import cli
from cordon.plates import edit_distance
from cordon.recognize.pipeline import Recognizer
from cordon.recognize.stages import Box, Candidate, Recognition
from cordon.recognize.video import (
    Frame,
    FrameSkipper,
    PlateTracker,
    Reconnect,
    Sighting,
    SourceLost,
    open_frames,
    passages,
    vote,
)
from cordon.traffic_mix import TrafficMix
from tests.recognize.conftest import EU_DEV, MjpegCamera, samples, write_passing_video

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def two_cars(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    cars = samples(EU_DEV)[:2]
    path = tmp_path_factory.mktemp("video") / "two-cars.avi"
    write_passing_video(path, [s.path for s in cars])
    return path, [s.plate for s in cars]


def test_one_read_per_passing_vehicle(recognizer: Recognizer, two_cars: tuple[Path, list[str]]) -> None:
    path, plates = two_cars
    found = list(passages(recognizer, open_frames(str(path), start=T0), PlateTracker()))
    assert len(found) == len(plates)  # one read per vehicle, not one per frame
    # Reading accuracy is measured on the whole dev sets (test_dev_sets.py); here the vote must land on the
    # plate, allowing the general reader one look-alike slip (D/O).
    assert all(edit_distance(p.recognition.best.plate, plate) <= 1 for p, plate in zip(found, plates, strict=True))
    first, second = found
    assert first.last_seen < second.first_seen
    assert first.sightings >= 5 and first.crop.ndim == 3
    assert first.first_seen == T0


def test_video_through_the_command(two_cars: tuple[Path, list[str]], model_cache: Path) -> None:
    path, plates = two_cars
    env = {"CORDON_MODEL_CACHE": str(model_cache), "CORDON_RECOGNIZE_READER": "rapidocr"}
    result = CliRunner().invoke(cli, ["recognize", str(path)], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(plates)
    assert all(edit_distance(line["plate"], plate) <= 1 for line, plate in zip(lines, plates, strict=True))
    assert all(line["frames"] >= 5 and len(line["bbox"]) == 4 for line in lines)


def _sighting(frame: int, plate: str, confidence: float) -> Sighting:
    recognition = Recognition((Candidate(plate, confidence),), Box(10 + frame, 10, 100, 25))
    return Sighting(frame, T0 + timedelta(seconds=frame / 10), recognition, np.zeros((25, 100, 3), np.uint8))


def test_vote_per_character_outvotes_single_frame_errors() -> None:
    track = [
        _sighting(0, "1ABC234", 0.6),
        _sighting(1, "1A8C234", 0.5),
        _sighting(2, "1ABC284", 0.5),
        _sighting(3, "1ABC234", 0.9),
        _sighting(4, "1ABC23", 0.4),
    ]
    passage = vote(7, track)
    assert passage.recognition.best.plate == "1ABC234"
    assert passage.best_frame == 3  # the most confident frame that agrees with the vote
    assert passage.sightings == 5 and passage.track == 7


def test_a_passage_gets_the_format_the_zones_traffic_mix_makes_likeliest() -> None:
    """`AB1234` is Luxembourg's in a Belgian zone's mix and Dutch where the Netherlands has a fifth of the
    traffic: the vote names it as the decoder would, whatever format single frames carried, and also for a
    text no single frame read (`1ABC234` voted from `1ABC284`, `IABC234` and `7ABC234`)."""
    dutch = Recognition((Candidate("AB1234", 0.9, "NL", "NL sidecode 1"),), Box(10, 10, 100, 25))
    track = [_sighting(0, "AB1234", 0.8), Sighting(1, T0, dutch, np.zeros((25, 100, 3), np.uint8))]
    named = {
        "default": vote(1, track).recognition.best,
        "dutch": vote(1, track, TrafficMix().with_entries({"NL": 0.2})).recognition.best,
    }
    assert {k: (c.country, c.format_name) for k, c in named.items()} == {
        "default": ("LU", "LU"),
        "dutch": ("NL", "NL sidecode 1"),
    }
    passage = vote(2, [_sighting(0, "1ABC284", 0.6), _sighting(1, "IABC234", 0.5), _sighting(2, "7ABC234", 0.3)])
    voted = passage.recognition.best
    assert (voted.plate, voted.country, voted.format_name) == ("1ABC234", "BE", "BE current")
    tracker = PlateTracker(mix=TrafficMix().with_entries({"NL": 0.2}))
    ended = [*tracker.update(0, T0, [(dutch, track[1].crop)]), *tracker.update(1, T0, [(dutch, track[1].crop)])]
    ended += tracker.flush()
    assert [p.recognition.best.country for p in ended] == ["NL"]


def test_tracker_separates_vehicles_and_drops_flickers() -> None:
    tracker = PlateTracker(max_gap=3, min_sightings=2)
    crop = np.zeros((25, 100, 3), np.uint8)
    ended = []
    for frame in range(6):  # one plate moving right, another far away seen only once (a flicker)
        found = [(Recognition((Candidate("1ABC234", 0.9),), Box(100 + 20 * frame, 300, 120, 30)), crop)]
        if frame == 2:
            found.append((Recognition((Candidate("XYZ123", 0.9),), Box(900, 50, 120, 30)), crop))
        ended += tracker.update(frame, T0, found)
    ended += tracker.flush()
    assert [p.recognition.best.plate for p in ended] == ["1ABC234"]


def test_frame_skipper_skips_what_arrived_while_busy() -> None:
    skipper = FrameSkipper(fps=25, max_skip=10)
    assert skipper.to_skip() == 0
    skipper.done(0.2)  # 200 ms of work at 25 frames/s: 5 frames arrived meanwhile
    assert skipper.to_skip() == 5
    skipper.done(5.0)
    assert skipper.to_skip() == 10


def test_frames_are_skipped_while_recognition_is_behind(two_cars: tuple[Path, list[str]]) -> None:
    path, _ = two_cars
    skipper = FrameSkipper(fps=1, max_skip=3)
    skipper.done(1.0)  # always a second behind: the file's 10 frames/s says 10 frames arrived meanwhile
    indices = [frame.index for frame in open_frames(str(path), start=T0, skipper=skipper)]
    assert indices[:3] == [3, 7, 11]


def _grey_frames(count: int) -> list[npt.NDArray[np.uint8]]:
    """Frames told apart by their grey level (20 × their number), whatever JPEG does to them."""
    return [np.full((72, 128, 3), 20 * i, np.uint8) for i in range(count)]


def _level(frame: Frame) -> int:
    return round(float(frame.image.mean()) / 20)


FAST = Reconnect(first_wait_s=0.05, max_wait_s=0.2, give_up_after_s=1.0, timeout_s=1.0)
"""Reconnection at test speed: waits of 50 to 200 ms, a stream silent for 1 s is dropped, given up after 1 s."""


def test_a_live_stream_that_drops_is_reopened_and_its_frames_go_on() -> None:
    """A camera's MJPEG stream drops after 5 frames, comes back with all 12, then the camera goes down for good
    (503): every frame of both connections arrives in order, the index jumps over the outage, each step is
    reported, and the source is given up with `SourceLost` once down for longer than allowed."""
    events: list[str] = []
    received: list[Frame] = []
    with MjpegCamera(_grey_frames(12), sends=[5, None]) as camera:
        started = time.monotonic()
        with pytest.raises(SourceLost, match=r"stayed down for .* giving up"):
            for frame in open_frames(camera.url, reconnect=FAST, on_event=events.append):
                received.append(frame)
        took = time.monotonic() - started
        assert camera.connections >= 3
    assert [_level(f) for f in received] == [*range(5), *range(12)]
    indexes = [f.index for f in received]
    assert indexes[:5] == [0, 1, 2, 3, 4] and indexes[5] > 5  # the outage's frames are skipped over
    assert indexes == sorted(set(indexes))
    assert any("the stream stopped; reconnecting in 0.05 s (attempt 1)" in e for e in events)
    assert any("back after" in e for e in events)
    assert any("cannot reopen it" in e for e in events)
    assert took < 15  # no wait hangs: the stream is given up within a few seconds of its last frame


def test_a_stalled_stream_counts_as_dropped() -> None:
    """The stream sends 3 frames then holds the connection open, silent, for 30 s (a hung camera, a dead
    mobile link): after `timeout_s` without a frame it is reopened, not waited for."""
    received: list[Frame] = []
    with MjpegCamera(_grey_frames(6), sends=[3, None], stalls=[True, False], stall_s=30) as camera:
        started = time.monotonic()
        with pytest.raises(SourceLost):
            for frame in open_frames(camera.url, reconnect=FAST):
                received.append(frame)
        assert time.monotonic() - started < 20  # well before the 30 s stall ends
    assert [_level(f) for f in received] == [0, 1, 2, *range(6)]


def test_a_live_source_that_never_opens() -> None:
    """Without `reconnect` a source that cannot be opened is an error at once; with it, it is retried (a camera
    still booting) and given up after the allowed time."""
    with MjpegCamera(_grey_frames(1), sends=[]) as camera:
        with pytest.raises(ValueError, match="cannot open the video source"):
            next(open_frames(camera.url))
        events: list[str] = []
        with pytest.raises(SourceLost, match="cannot"):
            next(open_frames(camera.url, reconnect=FAST, on_event=events.append))
        assert camera.connections >= 3 and len(events) >= 2


@pytest.mark.parametrize(
    "bad",
    [{"first_wait_s": 0}, {"first_wait_s": 2, "max_wait_s": 1}, {"timeout_s": 0}, {"give_up_after_s": -1}],
)
def test_impossible_reconnect_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"reconnect|give_up"):
        Reconnect(**bad)


def test_a_lost_source_still_gives_the_vehicles_in_view() -> None:
    """`passages` votes the tracks still open when the source is lost, then raises."""

    class Reading:
        def recognize_with_crops(self, image: npt.NDArray[np.uint8]) -> list[tuple[Recognition, npt.NDArray[np.uint8]]]:
            return [(Recognition((Candidate("1ABC234", 0.9),), Box(10, 10, 100, 25)), image)]

    def frames() -> Iterator[Frame]:
        for i in range(3):
            yield Frame(i, T0, np.zeros((25, 100, 3), np.uint8))
        raise SourceLost("the stream stopped, and it stayed down for 1.0 s; giving up")

    got: list[str] = []
    with pytest.raises(SourceLost):
        for passage in passages(Reading(), frames(), PlateTracker()):  # type: ignore[arg-type]
            got.append(passage.recognition.best.plate)
    assert got == ["1ABC234"]
