"""`cordon recognize`: read plates in images and video, offline; or run as an edge camera posting its reads."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cordon.commands.common import fail, stop_on_signals
from cordon.commands.edge import EdgeOptions, run_edge, server_trust
from cordon.errors import CordonError
from cordon.recognize.edge import GPS_MAX_AGE_S, REFUSED_RETENTION_DAYS

if TYPE_CHECKING:  # the models' libraries (OpenCV, onnxruntime) load only when the command runs
    from cordon.recognize.engine import Engines
    from cordon.recognize.pipeline import Recognizer
    from cordon.recognize.stages import Recognition
    from cordon.recognize.video import Reconnect
    from cordon.traffic_mix import TrafficMix

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm", ".ts", ".mjpeg", ".mjpg"})


def _is_video(source: str) -> bool:
    from cordon.recognize.video import is_stream

    return is_stream(source) or Path(source).suffix.lower() in VIDEO_SUFFIXES


class _Out:
    """Writes results to stdout (JSON lines or a table) and per-file errors to stderr."""

    def __init__(self, table: bool) -> None:
        self.table = table
        self.errors = 0
        self.images = 0
        self.plates = 0
        self.empty = 0
        self._header = False

    def result(self, line: dict[str, Any]) -> None:
        if not self.table:
            sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
            sys.stdout.flush()
            return
        if not self._header:
            click.echo(f"{'image':40} {'plate':12} {'conf':>6} {'country':7} bbox")
            self._header = True
        bbox = " ".join(map(str, line["bbox"])) if line.get("bbox") else "-"
        source = str(line.get("image") or line.get("source"))[-40:]
        click.echo(f"{source:40} {line['plate']:12} {line['confidence']:6.3f} {line['country'] or '-':7} {bbox}")

    def error(self, where: str, message: str) -> None:
        self.errors += 1
        click.echo(f"{where}: error: {message}", err=True)

    def image(self, where: str, lines: list[dict[str, Any]], error: str | None) -> None:
        """One image's outcome: its lines, its error, or a note on stderr that no plate was found in it (an
        evidence photo without a reading must not pass unnoticed; it is not an error)."""
        self.images += 1
        if error is not None:
            self.error(where, error)
            return
        if not lines:
            self.empty += 1
            click.echo(f"{where}: no plate found", err=True)
        for line in lines:
            self.plates += 1
            self.result(line)

    def summary(self) -> None:
        """One line on stderr after a batch of several images: how many were read, empty or refused."""
        if self.images > 1:
            click.echo(
                f"{self.images} files: {self.plates} plate(s) read, {self.empty} without a plate, "
                f"{self.errors} could not be read",
                err=True,
            )


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "output_format", type=click.Choice(["jsonl", "table"]), default="jsonl",
              help="JSON Lines (default; nothing else on stdout) or an aligned table.")  # fmt: skip
@click.option("--crop", is_flag=True, help="Each image is an already-cropped plate: read it, detect nothing.")
@click.option("--top", type=click.IntRange(1, 10), default=5, show_default=True, help="Candidates per plate.")
@click.option("--reader", "reader_name", type=click.Choice(["auto", "rapidocr", "plate", "both"]), default="auto",
              envvar="CORDON_RECOGNIZE_READER", show_default=True,
              help="Character reader: RapidOCR's general one, the plate reader trained here, both with their "
              "readings fused, or auto (both; rapidocr if the plate reader is not installed). "
              "Env: CORDON_RECOGNIZE_READER.")  # fmt: skip
@click.option("--plate-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="CORDON_RECOGNIZE_PLATE_MODEL",
              help="An ONNX plate reader to use instead of the one shipped: a zone's own, trained on its plates "
              "with training/ (training/README.md); checked before any work. "
              "Env: CORDON_RECOGNIZE_PLATE_MODEL.")  # fmt: skip
@click.option("--traffic-mix", "traffic_mix", default=None, envvar="CORDON_RECOGNIZE_TRAFFIC_MIX",
              help="This zone's share of traffic by country or plate format, the prior that weighs a doubtful "
              "reading, e.g. 'NL=0.2,DE=0.05' near the Dutch border; unnamed ones keep the default "
              "(a Belgian zone near a border: docs/plate-formats.md). Env: CORDON_RECOGNIZE_TRAFFIC_MIX.")  # fmt: skip
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="CPU threads per model.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              envvar="CORDON_RECOGNIZE_WORKERS",
              help="Images: processes reading in parallel, each with its own models (about 450 MB each), e.g. one "
              "per core for a folder of evidence photos; the lines keep the order of the files. "
              "Env: CORDON_RECOGNIZE_WORKERS.")  # fmt: skip
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="CORDON_MODEL_CACHE",
              default=None, help="Where converted models are kept. Env: CORDON_MODEL_CACHE. Default: data/cache/models",
              )  # fmt: skip
@click.option("--runtime", type=click.Choice(["auto", "onnxruntime", "openvino"]), default="auto",
              envvar="CORDON_RECOGNIZE_RUNTIME", show_default=True,
              help="Where the models run. auto (with --precision auto): each model on the engine measured best for "
              "it; on a CPU with native bfloat16 (Intel AMX, AVX-512 BF16) the general reader (in bfloat16) and the "
              "text-line finder run under openvino, the rest under onnxruntime (docs/models.md). A named runtime "
              "runs every model. Env: CORDON_RECOGNIZE_RUNTIME.")  # fmt: skip
@click.option("--precision", type=click.Choice(["auto", "int8", "bfloat16", "float32"]), default="auto",
              envvar="CORDON_RECOGNIZE_PRECISION", show_default=True,
              help="Arithmetic of every model: int8 (the detector quantised once, the rest in float32), bfloat16 "
              "(openvino on a CPU with native bfloat16), float32 (exact), or auto "
              "(see --runtime). Env: CORDON_RECOGNIZE_PRECISION.")  # fmt: skip
@click.option("--camera", "camera_id", default=None, help="Edge mode: this machine's camera id in the zone.")
@click.option("--post", "post_url", default=None, help="Edge mode: Cordon server URL to post reads to.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Edge mode: file holding the camera's API key (else env CORDON_CAMERA_KEY).")  # fmt: skip
@click.option("--queue", "queue_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Edge mode: disk queue of unsent reads. Default: data/edge/<camera>.sqlite3")  # fmt: skip
@click.option("--lane", "lane_id", default=None, help="Edge mode: lane id sent with every read.")
@click.option("--gps", "gps_spec", default=None, help="Edge mode, mobile units: LAT,LON or nmea:PATH (last fix).")
@click.option("--gps-max-age", type=click.FloatRange(min=0, min_open=True), default=GPS_MAX_AGE_S, show_default=True,
              help="Edge mode, --gps nmea:PATH: seconds after which the last fix is no longer the unit's position; "
              "a read then goes without one rather than with a wrong one.")  # fmt: skip
@click.option("--no-images", is_flag=True, help="Edge mode: do not send the plate crop with each read.")
@click.option("--quiet", is_flag=True,
              help="Edge mode: do not print the reads on stdout. Under a service manager stdout goes to the "
              "system journal, which would keep every plate for as long as it keeps logs.")  # fmt: skip
@click.option("--drain-timeout", type=float, default=30.0, show_default=True,
              help="Edge mode, at the end of a file: seconds to wait for the backlog to be sent.")  # fmt: skip
@click.option("--ca-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="CORDON_EDGE_CA_FILE",
              help="Edge mode: PEM file of the authority that signed the server's HTTPS certificate (an internal "
              "CA), trusted instead of the system's. Env: CORDON_EDGE_CA_FILE.")  # fmt: skip
@click.option("--refused-retention-days", type=click.FloatRange(min=0), default=REFUSED_RETENTION_DAYS,
              show_default=True,
              help="Edge mode: reads the server refused for good are kept aside this long for a person "
              "(`cordon edge refused QUEUE`), then deleted at the next start.")  # fmt: skip
@click.option("--reconnect-for", "reconnect_for", type=click.FloatRange(min=0), default=None,
              help="Live sources (a stream or a camera device): how long, in seconds, to keep reopening a source "
              "that dropped or stalled (no frame for 10 s) before giving up with an error. Waits grow from 1 s to "
              "30 s. Default: forever; 0: give up at the first drop.")  # fmt: skip
def recognize(
    sources: tuple[str, ...],
    output_format: str,
    crop: bool,
    top: int,
    reader_name: str,
    plate_model: Path | None,
    traffic_mix: str | None,
    threads: int,
    workers: int,
    cache_dir: Path | None,
    runtime: str,
    precision: str,
    camera_id: str | None,
    post_url: str | None,
    key_file: Path | None,
    queue_path: Path | None,
    lane_id: str | None,
    gps_spec: str | None,
    gps_max_age: float,
    no_images: bool,
    quiet: bool,
    drain_timeout: float,
    ca_file: Path | None,
    refused_retention_days: float,
    reconnect_for: float | None,
) -> None:
    """Read number plates in images, folders of images, video files or RTSP/HTTP streams, offline.

    One JSON line per plate found: image, plate, confidence, bbox [x, y, w, h], country, candidates. For
    video, one line per passing vehicle (tracked over frames, voted per character). A bad file gets an error
    line on stderr and the batch goes on; the exit status is 1 if any file failed. An image in which no plate
    is found gets a "no plate found" line on stderr, and a batch ends with a count there.

    Edge mode (--camera and --post) turns this machine into a Cordon camera: reads from SOURCE are queued on
    disk and posted to the server's ingest API with the camera's key; nothing is lost while the server is
    unreachable, and a restart sends the backlog first. A live source that drops or stalls is reopened
    (see --reconnect-for); the vehicles in view when it gave up are still sent.

    \b
    Examples:
      cordon recognize photos/                          every image in a folder
      cordon recognize --crop --format table crops/*.png  plate crops, reader only
      cordon recognize street.mp4                       one line per passing vehicle
      cordon recognize --camera cam-north --post https://cordon.example --key-file cam.key rtsp://10.0.0.5/stream
    """
    edge = camera_id is not None or post_url is not None
    if edge and (camera_id is None or post_url is None):
        fail("edge mode needs both --camera and --post")
    if edge and (crop or len(sources) != 1):
        fail("edge mode takes exactly one video source (a file, a device or an RTSP/HTTP URL), without --crop")
    if edge and workers > 1:
        fail("--workers is for folders of images; edge mode reads its one source in one process")
    verify = server_trust(post_url, ca_file) if edge else True
    images = [s for s in sources if not _is_video(s)]
    videos = [s for s in sources if _is_video(s)]
    if videos and crop:
        fail("--crop reads plate images, not video")
    from cordon.recognize.engine import choose_engines
    from cordon.recognize.video import Reconnect
    from cordon.traffic_mix import TrafficMix, parse_traffic_mix

    try:
        mix = TrafficMix().with_entries(parse_traffic_mix(traffic_mix)) if traffic_mix is not None else TrafficMix()
    except ValueError as exc:
        fail(f"--traffic-mix: {exc}")

    if plate_model is not None and reader_name == "rapidocr":
        fail("--plate-model is for --reader plate, both or auto, not rapidocr")
    try:  # a choice this machine cannot run fails here, before any work
        engines = choose_engines(runtime, precision, threads)
    except CordonError as exc:
        fail(f"--runtime {runtime} --precision {precision}: {exc}")
    out = _Out(output_format == "table")
    reconnect = Reconnect(give_up_after_s=reconnect_for)
    # Built for still photographs: where nothing is found they are searched again at a larger size, and weak
    # readings are read again on a wider crop. Video and edge mode use its live view, the same models without
    # those extras (most frames are empty, a live source must keep up, and the tracker votes over frames).
    build = _Build(reader_name, not crop, cache_dir, engines, top, mix, plate_model)
    from cordon.recognize.reader import PlateModelError

    try:
        recognizer = build.recognizer()
    except PlateModelError as exc:  # checked as the reader is built (`reader.check_model`), before any image
        fail(f"--plate-model: {exc}")
    except (ValueError, OSError) as exc:
        raise CordonError("model_error", f"cannot load the recognition models: {exc}") from None
    _limit_threads(threads)
    if edge:
        assert camera_id is not None and post_url is not None
        click.echo(f"edge: camera {camera_id}, models on {engines.describe()}", err=True)
        options = EdgeOptions(camera_id, post_url, key_file, queue_path, lane_id, gps_spec, gps_max_age, not no_images,
                              drain_timeout, verify, refused_retention_days, quiet)  # fmt: skip
        run_edge(recognizer.live(), mix, reconnect, sources[0], options)
        return
    _images(recognizer, build, images, crop, out, workers)
    out.summary()
    for video in videos:
        _video(recognizer.live(), mix, reconnect, video, out)
    if out.errors:
        fail(f"{out.errors} file(s) could not be read (see above)")


@dataclass(frozen=True)
class _Build:
    """How to build the recognizer, in this process or in an image worker."""

    reader_name: str
    with_detector: bool
    cache_dir: Path | None
    engines: Engines
    top: int
    mix: TrafficMix
    plate_model: Path | None = None

    def recognizer(self) -> Recognizer:
        from cordon.recognize.decode import GrammarDecoder
        from cordon.recognize.pipeline import build_recognizer

        return build_recognizer(
            self.reader_name,  # type: ignore[arg-type]
            self.with_detector,
            self.cache_dir,
            self.engines,
            top=self.top,
            decoder=GrammarDecoder(mix=self.mix),
            plate_model=self.plate_model,
        )


def _read_image(recognizer: Recognizer, path: Path, crop: bool) -> tuple[list[dict[str, Any]], str | None]:
    """One image file: its JSON lines, or the reason it could not be read."""
    from cordon.recognize.images import ImageError, load_image
    from cordon.recognize.output import recognition_json

    if not path.exists():
        return [], "no such file"
    try:
        image = load_image(path)
    except ImageError as exc:
        return [], str(exc)
    found: list[Recognition]
    if crop:
        read = recognizer.read_crop(image)
        found = [read] if read is not None else []
    else:
        found = recognizer.recognize(image)
    return [recognition_json(recognition, str(path)) for recognition in found], None


_worker: tuple[Recognizer, bool] | None = None
"""An image worker process's recognizer and crop flag (`_start_worker`)."""


def _limit_threads(threads: int) -> None:
    """Hold the libraries that keep their own thread pools to `threads`, as the models are (one camera per core
    by default): OpenCV, and the BLAS under numpy, whose matrix products (the plate reader's resampling) would
    otherwise spin a thread per core and burn a second core for a few per cent of speed."""
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(threads)
    threadpool_limits(limits=threads, user_api="blas")


def _start_worker(build: _Build, crop: bool, threads: int) -> None:
    global _worker  # one recognizer per worker process, built once
    _die_with_parent()
    _limit_threads(threads)
    _worker = (build.recognizer(), crop)


def _die_with_parent() -> None:
    """On Linux, have the kernel end this worker when the `cordon recognize` process that started it ends, however
    it ends (a SIGTERM or a SIGKILL gives it no time to stop its pool): no orphan keeps its models in memory."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the parent ended before the request took effect
        os._exit(1)


def _work(path: str) -> tuple[list[dict[str, Any]], str | None]:
    assert _worker is not None
    recognizer, crop = _worker
    return _read_image(recognizer, Path(path), crop)


def _images(recognizer: Recognizer, build: _Build, sources: list[str], crop: bool, out: _Out, workers: int) -> None:
    """Every image (folders expanded), its lines in the order given. With `workers` > 1, that many processes
    read in parallel, each with its own models; a worker's failure stops the batch with one error."""
    from cordon.recognize.images import expand_paths

    paths = list(expand_paths(Path(s) for s in sources))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=len(paths) < 10) as progress:
        task = progress.add_task("recognising", total=len(paths))
        if workers > 1 and len(paths) > 1:
            context = multiprocessing.get_context("spawn")  # no inherited model sessions or threads
            with ProcessPoolExecutor(min(workers, len(paths)), context, _start_worker,
                                     (build, crop, build.engines.detector.threads)) as pool:  # fmt: skip
                try:
                    results = pool.map(_work, [str(p) for p in paths], chunksize=2)
                    _write(zip(paths, results, strict=True), out, progress, task)
                except BrokenProcessPool as exc:
                    raise CordonError("worker_failed", f"an image worker stopped: {exc}") from None
            return
        _write(((path, _read_image(recognizer, path, crop)) for path in paths), out, progress, task)


def _write(
    results: Iterable[tuple[Path, tuple[list[dict[str, Any]], str | None]]], out: _Out, progress: Progress, task: Any
) -> None:
    for path, (lines, error) in results:
        progress.advance(task)
        out.image(str(path), lines, error)


def _video(recognizer: Recognizer, mix: TrafficMix, reconnect: Reconnect, source: str, out: _Out) -> None:
    from cordon.recognize.output import recognition_json
    from cordon.recognize.video import PlateTracker, is_stream, open_frames, passages

    def log(message: str) -> None:
        click.echo(message, err=True)

    try:  # a file interrupted is aborted as usual; a live stream stops cleanly (it has no end of its own)
        with stop_on_signals(log) if is_stream(source) else nullcontext(None) as stop:
            frames = open_frames(source, reconnect=reconnect, on_event=log, stop=stop)
            for passage in passages(recognizer, frames, PlateTracker(mix=mix)):
                line = recognition_json(passage.recognition, source)
                seen = {"firstSeen": passage.first_seen.isoformat(), "lastSeen": passage.last_seen.isoformat()}
                line.update(frame=passage.best_frame, frames=passage.sightings, **seen)
                out.result(line)
    except ValueError as exc:
        out.error(source, str(exc))
