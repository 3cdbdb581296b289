"""Video: frames from a file or an RTSP/HTTP stream ► recognitions per frame ► plates tracked over frames
(IoU, then centre distance) ► one vote per character over each track ► one `Passage` per vehicle, with the
crop of its best frame. Frames are skipped when recognition falls behind a live source."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import numpy.typing as npt

from cordon.recognize.pipeline import Recognizer
from cordon.recognize.stages import Box, Candidate, Recognition
from cordon.traffic_mix import TrafficMix

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index in the source, its time (UTC), RGB pixels."""

    index: int
    at: datetime
    image: Image


@dataclass(frozen=True)
class Sighting:
    """One recognition of a plate in one frame."""

    frame: int
    at: datetime
    recognition: Recognition
    crop: Image


@dataclass(frozen=True)
class Passage:
    """One vehicle's plate over its track: the voted reading, the best frame, when it was seen."""

    track: int
    recognition: Recognition
    first_seen: datetime
    last_seen: datetime
    best_frame: int
    crop: Image
    sightings: int


def is_stream(source: str) -> bool:
    """A live source: a stream URL, a camera device (`/dev/video0`) or a device index (`0`)."""
    scheme = source.split("://", 1)[0].lower()
    return scheme in ("rtsp", "rtsps", "http", "https", "rtmp", "udp", "tcp") or is_device(source)


def is_device(source: str) -> bool:
    return source.isdigit() or source.startswith("/dev/video")


class SourceLost(ValueError):
    """A live source dropped or stalled and did not come back within `Reconnect.give_up_after_s`."""


@dataclass(frozen=True)
class Reconnect:
    """What is done when a live source drops or stalls (a camera reboots, a mobile link fades): reopen it after
    `first_wait_s`, then after twice as long each time, at most `max_wait_s`; give up (`SourceLost`) once it
    has been down for `give_up_after_s` (None: never). `timeout_s` bounds opening a stream and waiting for a
    frame, so that a stalled stream counts as dropped instead of hanging."""

    first_wait_s: float = 1.0
    max_wait_s: float = 30.0
    give_up_after_s: float | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.first_wait_s <= 0 or self.max_wait_s < self.first_wait_s or self.timeout_s <= 0:
            raise ValueError("reconnect waits and timeout must be positive, first_wait_s at most max_wait_s")
        if self.give_up_after_s is not None and self.give_up_after_s < 0:
            raise ValueError("give_up_after_s must be 0 or more")


def _capture(source: str, timeout_s: float | None) -> cv2.VideoCapture:
    if source.isdigit():
        return cv2.VideoCapture(int(source))
    if timeout_s is None or is_device(source):
        return cv2.VideoCapture(source)
    ms = int(timeout_s * 1000)
    return cv2.VideoCapture(
        source, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    )


def open_frames(
    source: str,
    start: datetime | None = None,
    skipper: FrameSkipper | None = None,
    reconnect: Reconnect | None = None,
    on_event: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Frame]:
    """Frames of a video file or stream. A file's frames are timed from `start` by their position; a stream's
    by the clock. With a `skipper`, frames are grabbed but not decoded while recognition is behind.

    A live source (`is_stream`) ends where its frames stop, unless `reconnect` says how to reopen it: then a
    drop or a stall is reported to `on_event`, the source is reopened with growing waits, and the frame index
    jumps by the frames the source would have sent meanwhile (a track open before the outage closes instead of
    taking the next vehicle's reading). `SourceLost` when it stays down past `reconnect.give_up_after_s`; a
    source that cannot be opened at all is a ValueError (without `reconnect`, or when it is not live).

    `stop` (set from a signal handler or another thread) ends the frames as if the source had ended, between
    two frames or during a wait to reconnect."""
    live = is_stream(source)
    retry = reconnect if live else None
    report = on_event or _quiet
    capture = _capture(source, retry.timeout_s if retry is not None else None)
    if not capture.isOpened():
        capture.release()
        if retry is None:
            raise ValueError(f"cannot open the video source {source!r}")
        first = _reopen(source, retry, report, time.monotonic(), "cannot open it", stop)
        if first is None:
            return
        capture = first
    origin = start or datetime.now(UTC)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    if skipper is not None and 0 < fps <= 240:
        skipper.fps = fps  # the source's own rate, when it tells
    index = -1
    try:
        while stop is None or not stop.is_set():
            skip = skipper.to_skip() if skipper is not None else 0
            ok = True
            for _ in range(skip):
                if not capture.grab():
                    ok = False
                    break
                index += 1
            if ok:
                ok, bgr = capture.read()
                ok = ok and bgr is not None
            if not ok:
                if retry is None:
                    return
                capture.release()
                lost = time.monotonic()
                reopened = _reopen(source, retry, report, lost, "the stream stopped", stop)
                if reopened is None:
                    return
                capture = reopened
                down = time.monotonic() - lost
                index += max(1, round(down * (fps if 0 < fps <= 240 else 25.0)))
                report(f"{source}: back after {down:.1f} s")
                continue
            index += 1
            at = datetime.now(UTC) if live else origin + timedelta(milliseconds=capture.get(cv2.CAP_PROP_POS_MSEC))
            yield Frame(index, at, np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8))
    finally:
        capture.release()


def _quiet(message: str) -> None:
    """`on_event` when nobody listens."""


def _reopen(
    source: str,
    retry: Reconnect,
    on_event: Callable[[str], None],
    lost: float,
    why: str,
    stop: threading.Event | None,
) -> cv2.VideoCapture | None:
    """Reopen a live source with growing waits until it opens; `SourceLost` past the limit, None when `stop`
    was set meanwhile."""
    wait = retry.first_wait_s
    attempt = 0
    while True:
        down = time.monotonic() - lost
        if retry.give_up_after_s is not None:
            if down >= retry.give_up_after_s:
                raise SourceLost(f"{why}, and it stayed down for {down:.1f} s; giving up")
            wait = min(wait, retry.give_up_after_s - down)  # the last attempt falls at the limit, not past it
        attempt += 1
        on_event(f"{source}: {why}; reconnecting in {wait:.3g} s (attempt {attempt})")
        if (stop or threading.Event()).wait(wait):
            return None
        capture = _capture(source, retry.timeout_s)
        if capture.isOpened():
            return capture
        capture.release()
        why = "cannot reopen it"
        wait = min(retry.max_wait_s, wait * 2)


@dataclass
class FrameSkipper:
    """Under load, skip frames: after a frame that took longer than the source's frame interval, skip the
    frames that arrived meanwhile (at most `max_skip` in a row), so a live source is never read late."""

    fps: float
    max_skip: int = 10
    last_cost_s: float = 0.0

    def done(self, cost_s: float) -> None:
        self.last_cost_s = cost_s

    def to_skip(self) -> int:
        if self.fps <= 0:
            return 0
        return min(self.max_skip, max(0, int(self.last_cost_s * self.fps)))


@dataclass
class _Track:
    ident: int
    box: Box
    last_frame: int
    sightings: list[Sighting] = field(default_factory=list)


def _matches(a: Box, b: Box, min_iou: float) -> bool:
    if a.iou(b) >= min_iou:
        return True
    # Fast vehicles move more than a box per frame: near enough centres, similar sizes.
    dx = (a.x + a.w / 2) - (b.x + b.w / 2)
    dy = (a.y + a.h / 2) - (b.y + b.h / 2)
    similar = 0.5 <= (a.w * a.h) / max(1, b.w * b.h) <= 2.0
    return similar and (dx * dx + dy * dy) ** 0.5 <= 1.5 * max(a.w, b.w)


class PlateTracker:
    """Associates each frame's recognitions with open tracks; a track unseen for `max_gap` frames closes
    and is voted into a `Passage`. Tracks shorter than `min_sightings` are dropped as noise. `mix`: the zone's
    traffic mix, which names the voted plate's format (as the decoder's does)."""

    def __init__(
        self, max_gap: int = 12, min_iou: float = 0.2, min_sightings: int = 2, mix: TrafficMix | None = None
    ) -> None:
        self.mix = mix or TrafficMix()
        self.max_gap = max_gap
        self.min_iou = min_iou
        self.min_sightings = min_sightings
        self._open: list[_Track] = []
        self._next = 1

    def update(self, frame: int, at: datetime, found: list[tuple[Recognition, Image]]) -> list[Passage]:
        """Add one frame's recognitions (each with its crop); return the passages that ended."""
        free = list(self._open)
        for recognition, crop in found:
            if recognition.box is None:
                continue
            track = next((t for t in free if _matches(t.box, recognition.box, self.min_iou)), None)
            if track is None:
                track = _Track(self._next, recognition.box, frame)
                self._next += 1
                self._open.append(track)
            else:
                free.remove(track)
            track.box, track.last_frame = recognition.box, frame
            track.sightings.append(Sighting(frame, at, recognition, crop))
        ended = [t for t in self._open if frame - t.last_frame > self.max_gap]
        self._open = [t for t in self._open if t not in ended]
        return self._passages(ended)

    def flush(self) -> list[Passage]:
        """Close every open track (end of the video)."""
        ended, self._open = self._open, []
        return self._passages(ended)

    def _passages(self, tracks: list[_Track]) -> list[Passage]:
        out = []
        for track in tracks:
            if len(track.sightings) >= self.min_sightings:
                out.append(vote(track.ident, track.sightings, self.mix))
        return out


def vote(track: int, sightings: list[Sighting], mix: TrafficMix | None = None) -> Passage:
    """Vote per character over a track's readings (weighted by their confidence): the most supported length
    first, then at each position the most supported character. The best frame is the most confident one
    that agrees with the vote. The voted plate's format and country are the likeliest under `mix` (default:
    a Belgian zone's), the decoder's rule, even for a text no single frame read."""
    weights: dict[int, float] = defaultdict(float)
    for s in sightings:
        weights[len(s.recognition.best.plate)] += s.recognition.best.confidence
    length = max(weights, key=lambda n: weights[n])
    voters = [s for s in sightings if len(s.recognition.best.plate) == length]
    plate, shares = "", []
    for i in range(length):
        tally: dict[str, float] = defaultdict(float)
        for s in voters:
            tally[s.recognition.best.plate[i]] += s.recognition.best.confidence
        char = max(tally, key=lambda c: tally[c])
        plate += char
        shares.append(tally[char] / max(sum(tally.values()), 1e-9))
    agreeing = [s for s in voters if s.recognition.best.plate == plate] or voters
    best = max(agreeing, key=lambda s: s.recognition.best.confidence)
    confidence = float(min(shares) * max(s.recognition.best.confidence for s in agreeing))
    fmt = (mix or TrafficMix()).likeliest_format(plate)
    voted = Candidate(plate, round(confidence, 4), fmt.country if fmt else None, fmt.name if fmt else None)
    others: dict[str, float] = defaultdict(float)
    for s in sightings:
        for c in s.recognition.candidates:
            if c.plate != plate:
                others[c.plate] += c.confidence / len(sightings)
    alternatives = [Candidate(p, round(w, 4)) for p, w in sorted(others.items(), key=lambda kv: -kv[1])[:4]]
    return Passage(
        track=track,
        recognition=Recognition((voted, *alternatives), best.recognition.box, best.recognition.detection_score),
        first_seen=min(s.at for s in sightings),
        last_seen=max(s.at for s in sightings),
        best_frame=best.frame,
        crop=best.crop,
        sightings=len(sightings),
    )


def passages(
    recognizer: Recognizer, frames: Iterator[Frame], tracker: PlateTracker, skipper: FrameSkipper | None = None
) -> Iterator[Passage]:
    """The video loop: recognise each frame, track, and yield each passage when its track ends. When the source
    is lost (`SourceLost`), the vehicles still in view are voted and yielded first, then it is raised."""
    try:
        for frame in frames:
            started = time.perf_counter()
            yield from tracker.update(frame.index, frame.at, recognizer.recognize_with_crops(frame.image))
            if skipper is not None:
                skipper.done(time.perf_counter() - started)
    except SourceLost:
        yield from tracker.flush()
        raise
    yield from tracker.flush()
