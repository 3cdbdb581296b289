"""Where the model files come from: installed Python packages (never a download at run time), converted once
into a cache folder.

- Plate detector: `best.pt` (YOLOv8n) from the `safelicensing` wheel (Apache-2.0), installed with
  `pip install --no-deps safelicensing` by `scripts/install` (its own dependencies, ultralytics and torch,
  are not wanted). It is found through its package folder without importing the package, and converted to
  ONNX by `yolo_onnx.build_yolo_onnx` on first use, then cached.
- General text reader: `PP-OCRv6_rec_small.onnx` shipped inside the `rapidocr` wheel (Apache-2.0).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cordon.errors import CordonError
from cordon.recognize.yolo_onnx import YoloSpec, build_yolo_onnx

DETECTOR_PACKAGE = "safelicensing"
DETECTOR_FILE = "best.pt"
READER_PACKAGE = "rapidocr"
READER_FILE = "models/PP-OCRv6_rec_small.onnx"
TEXT_DETECTOR_FILE = "models/PP-OCRv6_det_small.onnx"
CACHE_ENV = "CORDON_MODEL_CACHE"
Precision = Literal["int8", "float32"]


def _missing(message: str) -> CordonError:
    return CordonError("model_missing", message)


def package_file(package: str, relative: str, hint: str) -> Path:
    """A file inside an installed package's folder, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(f"the {package!r} package is not installed: {hint}")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / relative
        if candidate.is_file():
            return candidate
    raise _missing(f"{relative} is missing from the installed {package!r} package: {hint}")


def detector_checkpoint() -> Path:
    return package_file(
        DETECTOR_PACKAGE, DETECTOR_FILE, "run scripts/install, or `pip install --no-deps safelicensing==1.0.3`"
    )


def reader_model() -> Path:
    return package_file(READER_PACKAGE, READER_FILE, "run scripts/install, or `pip install rapidocr`")


def text_detector_model() -> Path:
    return package_file(READER_PACKAGE, TEXT_DETECTOR_FILE, "run scripts/install, or `pip install rapidocr`")


def default_cache_dir() -> Path:
    """`$CORDON_MODEL_CACHE`, else `./data/cache/models`."""
    return Path(os.environ.get(CACHE_ENV) or Path("data") / "cache" / "models")


@dataclass(frozen=True)
class ConvertedDetector:
    """A converted detector on disk: the ONNX file and what its decoder needs."""

    onnx_path: Path
    spec: YoloSpec


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def converted_detector(
    cache_dir: Path | None = None, checkpoint: Path | None = None, precision: Precision = "int8"
) -> ConvertedDetector:
    """The plate detector as ONNX, converted from its checkpoint on first use and cached (keyed by the
    checkpoint's hash, so a new package version converts again); `int8` also quantises it once."""
    source = checkpoint or detector_checkpoint()
    folder = cache_dir or default_cache_dir()
    stem = f"plate-detector-{_digest(source)}"
    onnx_path, spec_path = folder / f"{stem}.onnx", folder / f"{stem}.json"
    if onnx_path.is_file() and spec_path.is_file():
        raw = json.loads(spec_path.read_text())
        spec = YoloSpec(
            strides=tuple(raw["strides"]),
            reg_max=raw["reg_max"],
            class_names=tuple(raw["class_names"]),
            outputs=tuple(raw["outputs"]),
        )
    else:
        model, spec = build_yolo_onnx(source)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(onnx_path, model.SerializeToString())
        spec_json = {
            "strides": list(spec.strides),
            "reg_max": spec.reg_max,
            "class_names": list(spec.class_names),
            "outputs": list(spec.outputs),
            "source": str(source),
        }
        _write_atomically(spec_path, json.dumps(spec_json, indent=2).encode())
    if precision == "float32":
        return ConvertedDetector(onnx_path, spec)
    int8_path = folder / f"{stem}-int8.onnx"
    if not int8_path.is_file():
        from cordon.recognize.quantize import quantize_detector

        scratch = int8_path.with_suffix(f".{os.getpid()}.tmp")
        quantize_detector(onnx_path, scratch)
        scratch.replace(int8_path)
    return ConvertedDetector(int8_path, spec)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write then rename: a reader never sees half a file, and two processes converting at once agree."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def prepare(cache_dir: Path | None = None) -> ConvertedDetector:
    """Convert the detector now (the install step), so the first recognition does not wait for it."""
    converted = converted_detector(cache_dir)
    reader_model()  # fail early when the rapidocr wheel lacks its model
    return converted


if __name__ == "__main__":
    print(f"plate detector ready: {prepare().onnx_path}")  # noqa: T201
