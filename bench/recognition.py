"""Plate recognition: accuracy on the dev sets and speed, Cordon's pipeline against the off-the-shelf peer.

For each stack:
1. exact top-1 plate accuracy end to end on ../shared/data/plates-eu-dev (full photographs; the reading of
   the annotated plate counts: the recognition on its box, else the most confident one);
2. exact top-1 accuracy on ../shared/data/be-crops-dev with --crop (reader only);
3. ms per 1280×720 image (detection + reading) on one core: every thread pool pinned to 1
   (onnxruntime intra-op threads, OMP, OpenCV), the dev photographs resized to 1280×720;
4. images/s on 2 cores: two worker processes of one thread each.

Stacks: `cordon` (YOLOv8n detector + the chosen readers, by default both fused, + grammar decoder, rectification)
and `peer` (the same detector + RapidOCR's own engine on the crop + plate-format rules: the best off-the-shelf
offline stack).

Run: .venv/bin/python bench/recognition.py                  (about 2-4 minutes on 2 cores)
     .venv/bin/python bench/recognition.py --live           (as video and edge mode run: no still-image extras)
     .venv/bin/python bench/recognition.py --quick          (20 images per set)
     .venv/bin/python bench/recognition.py --reader plate   (the trained reader, when installed)
     .venv/bin/python bench/recognition.py --grey           (accuracy on grey images: a monochrome camera)
     .venv/bin/python bench/recognition.py --stages         (CPU time of each stage)
     .venv/bin/python bench/recognition.py --runtime onnxruntime --precision int8   (a given engine for Cordon;
                                                            default: the fastest this machine has)
     .venv/bin/python bench/recognition.py --plate-model runs/zone/plate_reader.onnx   (a zone's own
                                                            plate reader, trained with training/, for the committed one)
     .venv/bin/python bench/recognition.py --peer-runtime openvino   (the peer on OpenVINO instead of its
                                                            default onnxruntime: its detector and RapidOCR)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy and onnxruntime load: one core means one core

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OtherLoad, print_machine  # noqa: E402
from cordon.plates import FORMATS, LOOKALIKE_CLASSES, normalize_plate  # noqa: E402
from cordon.recognize import scoring  # noqa: E402
from cordon.recognize.engine import Engine, Engines, choose_engine, choose_engines  # noqa: E402
from cordon.recognize.images import load_image, monochrome  # noqa: E402
from cordon.recognize.pipeline import Recognizer, build_recognizer  # noqa: E402
from cordon.recognize.stages import Candidate, Recognition  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
cv2.setNumThreads(1)


class PeerRecognizer(Recognizer):
    """Detector + RapidOCR's engine as shipped (its own preprocessing and CTC decoding, text only) + rules:
    upper case, separators dropped, then look-alike swaps tried until the text fits a known plate format."""

    def __init__(self, base: Recognizer, runtime: str = "onnxruntime") -> None:
        super().__init__(base.detector, base.reader, base.decoder, replace(base.options, widen=0.0), base.top)
        from rapidocr import RapidOCR

        params: dict[str, Any] = {"Global.log_level": "error"}
        if runtime == "openvino":  # RapidOCR's own OpenVINO engine, at its defaults, one thread
            from rapidocr import EngineType

            params |= {"Rec.engine_type": EngineType.OPENVINO, "EngineConfig.openvino.inference_num_threads": 1,
                       "EngineConfig.openvino.enable_cpu_pinning": False}  # fmt: skip
        else:
            params |= {"EngineConfig.onnxruntime.intra_op_num_threads": 1,
                       "EngineConfig.onnxruntime.inter_op_num_threads": 1}  # fmt: skip
        self._engine = RapidOCR(params=params)

    def read_plates(self, plates: Sequence[np.ndarray]) -> list[Recognition | None]:
        out: list[Recognition | None] = []
        for plate in plates:
            result = self._engine(np.ascontiguousarray(plate[:, :, ::-1]), use_det=False, use_cls=False, use_rec=True)
            text = "".join(getattr(result, "txts", None) or ())
            scores = getattr(result, "scores", None)
            score = float(scores[0]) if scores else 0.0
            cleaned = peer_rules(text)
            out.append(Recognition((Candidate(cleaned, score),)) if cleaned else None)
        return out


_SWAPS = {c: sorted(cls - {c}) for cls in LOOKALIKE_CLASSES for c in cls}


def peer_rules(text: str) -> str:
    """The usual plate post-processing: keep A-Z0-9, then the first look-alike variant fitting a format."""
    kept = re.sub(r"[^A-Z0-9]", "", text.upper())
    if not kept:
        return ""
    variants = [kept]
    if len(kept) > 7:
        variants += [kept[1:], kept[:-2], kept[1:-2]]  # EU band letter, French departement number
    for variant in variants:
        for fmt in FORMATS[:-1]:  # not the catch-all personalised format
            if fmt.pattern.match(variant):
                return variant
            fixed = "".join(_fix(variant, i) for i in range(len(variant)))
            if fmt.pattern.match(fixed):
                return fixed
    try:
        return normalize_plate(kept[:10])
    except ValueError:
        return ""


def _fix(text: str, i: int) -> str:
    """Digits in the middle block, letters around it: the most common rule of thumb for EU plates."""
    ch = text[i]
    want_digit = 0 < i < len(text) - 1 and any(c.isdigit() for c in text[max(0, i - 1) : i + 2])
    options = [c for c in [ch, *_SWAPS.get(ch, [])] if c.isdigit() == want_digit]
    return options[0] if options else ch


@dataclass(frozen=True)
class Stack:
    """What to build: `name` (`cordon` or `peer`), `reader`, `engines` (where its models run), `live` (as
    video and edge mode run: no detection retry at 960 px, no wider second reading), `size` (the detector's
    input size) and `plate_model` (a plate reader file instead of the committed one)."""

    name: str
    reader: str
    engines: Engines
    live: bool = False
    size: int = 640
    plate_model: Path | None = None


def build(stack: Stack) -> Recognizer:
    extras: dict[str, Any] = {"retry_size": None, "widen": 0.0} if stack.live else {}
    plate_model = stack.plate_model if stack.name == "cordon" else None
    reader: Any = stack.reader
    base = build_recognizer(reader, engines=stack.engines, input_size=stack.size, plate_model=plate_model, **extras)
    return PeerRecognizer(base, stack.engines.general_reader.runtime) if stack.name == "peer" else base


def engines_for(stack: str, runtime: str, precision: str, peer_runtime: str) -> Engines:
    """Cordon's engine as asked (default: the fastest here); the peer's: its detector on onnxruntime int8 (or
    OpenVINO as Cordon would choose it) and RapidOCR's engine on the same runtime, at its defaults."""
    if stack == "peer":
        return Engines.uniform(choose_engine("openvino") if peer_runtime == "openvino" else Engine())
    return choose_engines(runtime, precision)


def _frame(path: Path) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A dev photograph as a 1280×720 camera frame."""
    return np.asarray(cv2.resize(load_image(path), (1280, 720)), dtype=np.uint8)


def _speed_process(stack: Stack, paths: list[str], start: Any, results: Any) -> None:
    """One of the two throughput processes: build the stack, load and warm up, wait for the other, then read
    its frames and report (frames, seconds): loading the models is not counted."""
    recognizer = build(stack)
    frames = [_frame(Path(p)) for p in paths]
    recognizer.recognize(frames[0])
    start.wait()
    started = time.perf_counter()
    for frame in frames:
        recognizer.recognize(frame)
    results.put((len(frames), time.perf_counter() - started))


def speed(stack: Stack, recognizer: Recognizer, paths: list[Path]) -> tuple[float, float, float, float]:
    """(median wall ms per image on one core, median CPU ms, mean CPU ms, images/s on two processes).

    The CPU time of this single-threaded process is what an image costs a core; on a machine shared with
    other work it is the steadier figure (wall time also counts waiting for the core)."""
    frames = [_frame(p) for p in paths]
    recognizer.recognize(frames[0])  # warm-up
    times, cpu = [], []
    for frame in frames:
        started, started_cpu = time.perf_counter(), time.process_time()
        recognizer.recognize(frame)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    halves = [[str(p) for p in paths[0::2]], [str(p) for p in paths[1::2]]]
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_speed_process, args=(stack, half, start, results)) for half in halves]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    rate = sum(n for n, _ in reports) / max(seconds for _, seconds in reports)
    return statistics.median(times), statistics.median(cpu), statistics.fmean(cpu), rate


class StageClock:
    """CPU time per stage of a recognizer, by wrapping each stage's method on the instance (detector, each
    reader, each decoder, each text-line finder); `report` gives ms per image."""

    def __init__(self, recognizer: Recognizer) -> None:
        self.spent: dict[str, float] = {}
        if recognizer.detector is not None:
            self._wrap(recognizer.detector, "detect", "detector")
        for member in recognizer.members:
            self._wrap(member.reader, "read", f"reader {member.reader.name}")
            self._wrap(member.decoder, "decode", f"decoder ({member.reader.name})")
            if member.line_finder is not None:
                self._wrap(member.line_finder, "lines", "text-line finder")

    def _wrap(self, target: Any, method: str, stage: str) -> None:
        inner = getattr(target, method)
        self.spent.setdefault(stage, 0.0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[stage] += time.process_time() - started

        object.__setattr__(target, method, timed)  # frozen dataclasses (the decoder) too

    def report(self, recognizer: Recognizer, frames: list[np.ndarray[Any, np.dtype[np.uint8]]]) -> list[str]:
        for stage in self.spent:
            self.spent[stage] = 0.0
        started = time.process_time()
        for frame in frames:
            recognizer.recognize(frame)
        total = (time.process_time() - started) * 1000 / len(frames)
        lines = [f"   {stage}: {spent * 1000 / len(frames):.1f} ms" for stage, spent in self.spent.items()]
        named = sum(self.spent.values()) * 1000 / len(frames)
        return [*lines, f"   rest (cropping, rectification, fusion): {total - named:.1f} ms", f"   all: {total:.1f} ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 images per set")
    parser.add_argument("--reader", default="auto", choices=["auto", "rapidocr", "plate", "both"])
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-second-look", action="store_true", help="Cordon without the text-line second look")
    parser.add_argument("--misses", action="store_true", help="list the misreads")
    live_help = "as for video and edge mode: no 960 px detection retry, no wider second reading"
    parser.add_argument("--live", action="store_true", help=live_help)
    parser.add_argument("--detector-size", type=int, default=640, help="the detector's input size (default 640)")
    parser.add_argument("--stages", action="store_true", help="CPU ms per image of each stage (mean, speed images)")
    grey_help = "accuracy on the images turned grey, as a monochrome (infrared) camera sees them"
    parser.add_argument("--grey", action="store_true", help=grey_help)
    parser.add_argument("--runtime", default="auto", choices=["auto", "onnxruntime", "openvino"])
    parser.add_argument("--precision", default="auto", choices=["auto", "int8", "bfloat16", "float32"])
    parser.add_argument("--peer-runtime", default="onnxruntime", choices=["onnxruntime", "openvino"])
    model_help = "a plate reader ONNX file for Cordon instead of the committed one (a zone's own)"
    parser.add_argument("--plate-model", type=Path, default=None, help=model_help)
    args = parser.parse_args()
    print_machine()
    eu = scoring.read_manifest(DATA / "plates-eu-dev")
    be = scoring.read_manifest(DATA / "be-crops-dev")
    if args.quick:
        eu, be = eu[:20], be[:20]
    speed_paths = [s.path for s in eu[: 20 if args.quick else 40]]
    results = {}
    for name in ("cordon", *(() if args.no_peer else ("peer",))):
        engines = engines_for(name, args.runtime, args.precision, args.peer_runtime)
        stack = Stack(name, args.reader, engines, args.live, args.detector_size, args.plate_model)
        recognizer = build(stack)
        if args.no_second_look:
            for member in recognizer.members:
                member.line_finder = None
        with OtherLoad() as other:
            scenes = scoring.scenes(recognizer, eu, monochrome if args.grey else None)
            crops = scoring.crops(recognizer, be, monochrome if args.grey else None)
            median_ms, cpu_ms, mean_cpu_ms, rate = speed(stack, recognizer, speed_paths)
        results[name] = (scenes, crops, cpu_ms, rate)
        readers = " + ".join(member.reader.name for member in recognizer.members)
        title = f"{name} ({readers})" if name == "cordon" else "peer (RapidOCR engine + rules)"
        title += f"; {engines.describe()}"
        print(f"\n## {title}")
        print(f"plates-eu-dev, end to end, exact top-1: {scenes.accuracy:6.1%}  ({len(eu)} images; a plate read "
              f"in {scenes.found:.0%}; calibration error {scenes.calibration_error():.3f})")  # fmt: skip
        print(f"be-crops-dev, --crop, exact top-1:       {crops.accuracy:6.1%}  ({len(be)} crops; "
              f"calibration error {crops.calibration_error():.3f})")  # fmt: skip
        print(f"1280x720, one core: {cpu_ms:.0f} ms CPU (median; mean {mean_cpu_ms:.0f}), {median_ms:.0f} ms wall "
              f"(median) per image; two cores: {rate:.1f} images/s   (other load {other.cores:.2f} cores)")  # fmt: skip
        if args.stages and name == "cordon":
            print(f"stages, CPU ms per image (mean over the {len(speed_paths)} speed images, one core):")
            print("\n".join(StageClock(recognizer).report(recognizer, [_frame(p) for p in speed_paths])))
        if args.misses:
            for name_, truth, read in scenes.misses() + crops.misses():
                print(f"   miss {name_}: {truth} read {read}")
    if "peer" in results:
        ours, peer = results["cordon"], results["peer"]
        print("\n## cordon / peer")
        print(f"accuracy eu-dev {ours[0].accuracy / max(peer[0].accuracy, 1e-9):.2f}x, "
              f"be-crops {ours[1].accuracy / max(peer[1].accuracy, 1e-9):.2f}x, "
              f"speed (1 core) {peer[2] / ours[2]:.2f}x, throughput (2 cores) {ours[3] / peer[3]:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
