"""Where the recognition models run: onnxruntime or OpenVINO, behind one small interface.

Every model of the pipeline (the plate detector, the two readers, the text-line finder) is an ONNX file; an
`Engine` opens it as a `Session` with one `run`, whichever runtime is chosen:

- **onnxruntime** (CPU provider): float32 arithmetic, and the plate detector's int8 graph (quantised once by
  `cordon.recognize.quantize`).
- **OpenVINO**: float32, or bfloat16 on a CPU that computes in it natively (Intel AMX or AVX-512 BF16: Xeon
  4th generation and later, AMD Zen 4).

Precision: `int8` is the detector's quantised graph (the other models run in float32); `bfloat16` needs
OpenVINO and such a CPU; `float32` is exact on either runtime.

`choose_engines()` (the default of `cordon recognize`) gives each model the fastest engine measured that keeps
its readings on the dev sets, but for the general reader's bfloat16, kept for its time (docs/models.md, "Where
the models run", has the measurements). On a CPU with native bfloat16:

| model | engine | why |
|---|---|---|
| plate detector | onnxruntime, int8 | in bfloat16 its boxes move enough to lose 3 of 108 scenes |
| general reader (RapidOCR) | OpenVINO, bfloat16 | 3.4x faster; same still readings, 1 of 108 live scenes lost |
| plate reader | onnxruntime, float32 | bfloat16 loses a Belgian crop; OpenVINO float32 is no faster |
| text-line finder | OpenVINO, float32 | 3.6x faster than onnxruntime, the same output; bfloat16 loses 3 scenes |

Elsewhere, and for any named `--runtime` or `--precision`, every model gets the same engine (`choose_engine`).
"""

from __future__ import annotations

import importlib.util
import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from cordon.errors import CordonError

RuntimeName = Literal["onnxruntime", "openvino"]
PrecisionName = Literal["int8", "bfloat16", "float32"]
RUNTIMES: tuple[str, ...] = ("auto", "onnxruntime", "openvino")
PRECISIONS: tuple[str, ...] = ("auto", "int8", "bfloat16", "float32")


class Session(Protocol):
    """One loaded model. `run` is safe to call from several threads at once."""

    @property
    def input_names(self) -> tuple[str, ...]: ...

    @property
    def metadata(self) -> Mapping[str, str]:
        """The ONNX file's metadata properties (e.g. a reader's character list)."""
        ...

    def run(self, outputs: Sequence[str] | None, feeds: Mapping[str, npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        """The named outputs (all, in the model's order, for None) for these inputs; fresh arrays."""
        ...


def _engine_error(message: str) -> CordonError:
    return CordonError("engine_unavailable", message)


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


@lru_cache(maxsize=1)
def _openvino_core() -> Any:
    """OpenVINO's runtime, loaded once; `CordonError("engine_unavailable")` when it cannot load here."""
    try:
        import openvino  # type: ignore[import-untyped,unused-ignore]

        return openvino.Core()
    except (ImportError, OSError, RuntimeError) as exc:
        raise _engine_error(f"the openvino runtime cannot load on this machine: {exc}") from None


@lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """True when OpenVINO is installed and loads, and this CPU computes in bfloat16 natively (AMX, AVX-512
    BF16)."""
    if not openvino_installed():
        return False
    try:
        return "BF16" in _openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except CordonError:
        return False


@dataclass(frozen=True)
class Engine:
    """The runtime, the arithmetic and the CPU threads a model runs with.

    `threads` is the model's intra-op thread count (1: one camera per core). The default is the portable
    choice (onnxruntime, int8 detector); `choose_engines` picks each model's for this machine."""

    runtime: RuntimeName = "onnxruntime"
    precision: PrecisionName = "int8"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.runtime not in ("onnxruntime", "openvino"):
            raise ValueError(f"unknown runtime {self.runtime!r}: choose onnxruntime or openvino")
        if self.precision not in ("int8", "bfloat16", "float32"):
            raise ValueError(f"unknown precision {self.precision!r}: choose int8, bfloat16 or float32")
        if self.threads < 1:
            raise ValueError("threads must be at least 1")
        if self.precision == "bfloat16" and self.runtime != "openvino":
            raise ValueError("bfloat16 runs under openvino only; onnxruntime takes int8 or float32")

    @property
    def detector_graph(self) -> Literal["int8", "float32"]:
        """Which of the converted detector's graphs to load (`cordon.recognize.models.converted_detector`)."""
        return "int8" if self.precision == "int8" else "float32"

    def describe(self) -> str:
        return f"{self.runtime}, {self.precision}, {self.threads} thread{'s' if self.threads > 1 else ''}"

    def session(self, model: Path | bytes) -> Session:
        """Open an ONNX model (a file, or its bytes) on this engine."""
        if self.runtime == "openvino":
            return OpenVinoSession(model, self.threads, bfloat16=self.precision == "bfloat16")
        return OrtSession(model, self.threads)


PORTABLE = Engine()
"""onnxruntime with the int8 detector, one thread: runs the same everywhere (the stages' default)."""


@dataclass(frozen=True)
class Engines:
    """The engine of each model of the pipeline."""

    detector: Engine = PORTABLE
    general_reader: Engine = PORTABLE
    plate_reader: Engine = PORTABLE
    text_lines: Engine = PORTABLE

    @classmethod
    def uniform(cls, engine: Engine) -> Engines:
        return cls(engine, engine, engine, engine)

    def describe(self) -> str:
        """One line for logs and benchmarks, e.g. `onnxruntime, int8, 1 thread`."""
        parts = {
            "detector": self.detector,
            "general reader": self.general_reader,
            "plate reader": self.plate_reader,
            "text lines": self.text_lines,
        }
        if len(set(parts.values())) == 1:
            return self.detector.describe()
        return "; ".join(f"{role}: {engine.describe()}" for role, engine in parts.items())


def choose_engines(runtime: str = "auto", precision: str = "auto", threads: int = 1) -> Engines:
    """Each model's engine: the table of the module docstring for `auto`/`auto` on a CPU with native
    bfloat16, else `choose_engine(runtime, precision, threads)` for every model."""
    if runtime == "auto" and precision == "auto" and native_bfloat16():
        return Engines(
            detector=Engine("onnxruntime", "int8", threads),
            general_reader=Engine("openvino", "bfloat16", threads),
            plate_reader=Engine("onnxruntime", "float32", threads),
            text_lines=Engine("openvino", "float32", threads),
        )
    return Engines.uniform(choose_engine(runtime, precision, threads))


def choose_engine(runtime: str = "auto", precision: str = "auto", threads: int = 1) -> Engine:
    """One engine for these choices. `auto` runtime: OpenVINO where the CPU has native bfloat16 and bfloat16 is
    wanted, else onnxruntime; `auto` precision: bfloat16 under OpenVINO on such a CPU, else int8.

    Raises `CordonError("engine_unavailable")` for a choice this machine cannot run (OpenVINO not installed,
    bfloat16 on a CPU without it) and `ValueError` for an unknown name."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == "bfloat16" and runtime == "onnxruntime":
        raise _engine_error(
            "bfloat16 runs under openvino only: choose runtime openvino or auto, or precision int8 or float32"
        )
    if runtime == "openvino" and not openvino_installed():
        raise _engine_error("the openvino runtime is not installed: run scripts/install, or `pip install openvino`")
    if precision == "bfloat16" and not native_bfloat16():
        raise _engine_error(
            "this CPU has no native bfloat16 (Intel AMX or AVX-512 BF16)"
            + ("" if openvino_installed() else ", or openvino is not installed")
            + ": choose --precision int8 or float32"
        )
    if runtime == "auto":
        fast = native_bfloat16() and precision in ("auto", "bfloat16")
        chosen: RuntimeName = "openvino" if fast else "onnxruntime"
    else:
        chosen = runtime  # type: ignore[assignment]
    if precision == "auto":
        precise: PrecisionName = "bfloat16" if chosen == "openvino" and native_bfloat16() else "int8"
    else:
        precise = precision  # type: ignore[assignment]
    return Engine(chosen, precise, threads)


def _name(model: Path | bytes) -> str:
    return str(model) if isinstance(model, Path) else f"a {len(model)}-byte model"


class _Loaded:
    """What both sessions know of their model: its data inputs and its metadata."""

    _inputs: tuple[str, ...] = ()
    _metadata: Mapping[str, str] = {}

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def metadata(self) -> Mapping[str, str]:
        return self._metadata


class OrtSession(_Loaded):
    """An onnxruntime CPU session with a fixed number of threads, all graph optimisations on."""

    def __init__(self, model: Path | bytes, threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        source = str(model) if isinstance(model, Path) else model
        try:
            self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's load errors (InvalidProtobuf, Fail, ...) derive from Exception only
            raise ValueError(f"onnxruntime cannot load {_name(model)}: {exc}") from None
        self._inputs = tuple(i.name for i in self._session.get_inputs())
        self._metadata = dict(self._session.get_modelmeta().custom_metadata_map)

    def run(self, outputs: Sequence[str] | None, feeds: Mapping[str, npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        return [np.asarray(x) for x in self._session.run(None if outputs is None else list(outputs), dict(feeds))]


class OpenVinoSession(_Loaded):
    """An OpenVINO CPU model compiled for latency (one stream, `threads` threads, not pinned to a core); one
    inference request per calling thread. `bfloat16`: the CPU's bfloat16 arithmetic (performance mode), else
    float32 throughout (accuracy mode)."""

    def __init__(self, model: Path | bytes, threads: int = 1, bfloat16: bool = False) -> None:
        import onnx

        try:
            proto = onnx.load(str(model)) if isinstance(model, Path) else onnx.load_from_string(model)
        except Exception as exc:  # protobuf's DecodeError and onnx's own: not an ONNX model
            raise ValueError(f"openvino cannot load {_name(model)}: not an ONNX model ({exc})") from None
        self._metadata = {p.key: p.value for p in proto.metadata_props}
        constants = {t.name for t in proto.graph.initializer}
        self._inputs = tuple(i.name for i in proto.graph.input if i.name not in constants)
        self._outputs = tuple(o.name for o in proto.graph.output)  # OpenVINO may rename them: kept by position
        self._position = {name: k for k, name in enumerate(self._outputs)}
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": False,  # pinned, two processes of one thread would share one core
            "EXECUTION_MODE_HINT": "PERFORMANCE" if bfloat16 else "ACCURACY",
            "INFERENCE_PRECISION_HINT": "bf16" if bfloat16 else "f32",
        }
        core = _openvino_core()
        try:
            # Core.read_model, not openvino.convert_model: that one is a tool that reports usage over the network.
            network = core.read_model(str(model) if isinstance(model, Path) else io.BytesIO(model))
            self._compiled = core.compile_model(network, "CPU", config)
        except RuntimeError as exc:  # OpenVINO's conversion and compilation errors
            raise ValueError(f"openvino cannot load {_name(model)}: {exc}") from None
        self._local = threading.local()

    def run(self, outputs: Sequence[str] | None, feeds: Mapping[str, npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        results = request.infer([feeds[name] for name in self._inputs])  # copies the outputs: no shared buffers
        wanted = self._outputs if outputs is None else outputs
        return [np.asarray(results[self._position[name]]) for name in wanted]
