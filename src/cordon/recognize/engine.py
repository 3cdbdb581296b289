"""Where the recognition models run: onnxruntime or OpenVINO, behind one small interface.

Every model of the pipeline (the plate detector, the two readers, the text-line finder) is an ONNX file; an
`Engine` opens it as a `Session` with one `run`, whichever runtime is chosen:

- **onnxruntime** (CPU provider): float32 arithmetic, and the plate detector's int8 graph (quantised once by
  `cordon.recognize.quantize`).
- **OpenVINO**: float32, or bfloat16 on a CPU that computes in it natively (Intel AMX or AVX-512 BF16: Xeon
  4th generation and later, AMD Zen 4). In bfloat16 a model's output layers still run in float32
  (`OpenVinoSession`).

Precision: `int8` is the detector's quantised graph (the other models run in float32); `bfloat16` needs
OpenVINO and such a CPU; `float32` is exact on either runtime.

`choose_engines()` (the default of `cordon recognize`) gives each model the engine that runs it fastest here
*without changing its readings* on the dev sets (docs/benchmarks.md §12 has the measurements). On a CPU with
native bfloat16:

| model | engine | why |
|---|---|---|
| plate detector | onnxruntime, int8 | OpenVINO bfloat16 moves boxes enough to lose 3 of 108 scenes |
| general reader (RapidOCR) | OpenVINO, bfloat16, float32 output layer | 2.5x faster, same readings |
| plate reader | onnxruntime, float32 | bfloat16 loses a crop; OpenVINO float32 is no faster |
| text-line finder | OpenVINO, float32 | 3x faster than onnxruntime, same output; bfloat16 loses scenes |

Elsewhere, and for any explicit `--runtime` or `--precision`, every model gets the same engine
(`choose_engine`).
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
    import openvino  # type: ignore[import-untyped,unused-ignore]

    return openvino.Core()


@lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """True when OpenVINO is installed and this CPU computes in bfloat16 natively (AMX, AVX-512 BF16)."""
    if not openvino_installed():
        return False
    return "BF16" in _openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@dataclass(frozen=True)
class Engine:
    """The runtime, the arithmetic and the CPU threads every model of a pipeline runs with.

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


class OrtSession:
    """An onnxruntime CPU session with a fixed number of threads, all graph optimisations on."""

    def __init__(self, model: Path | bytes, threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        source = str(model) if isinstance(model, Path) else model
        self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self._inputs = tuple(i.name for i in self._session.get_inputs())
        self._metadata = dict(self._session.get_modelmeta().custom_metadata_map)

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def metadata(self) -> Mapping[str, str]:
        return self._metadata

    def run(self, outputs: Sequence[str] | None, feeds: Mapping[str, npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        return [np.asarray(x) for x in self._session.run(None if outputs is None else list(outputs), dict(feeds))]


_PASS_THROUGH = frozenset(
    {"Identity", "Cast", "Softmax", "LogSoftmax", "Sigmoid", "Add", "Concat", "Reshape", "Transpose", "Squeeze",
     "Unsqueeze", "Flatten"}
)  # fmt: skip
_LAYERS = frozenset({"MatMul", "Gemm", "Conv"})


def output_layer_inputs(proto: Any) -> list[str]:
    """The tensors that feed each output's last layer (the last matrix product or convolution on the way to
    an output, past softmax, casts, reshapes, bias additions and concatenations), in graph order; [] when
    some output has none."""
    constants = {t.name for t in proto.graph.initializer}
    constants |= {out for node in proto.graph.node if node.op_type == "Constant" for out in node.output}
    producer = {out: node for node in proto.graph.node for out in node.output}
    found: list[str] = []
    pending = [o.name for o in proto.graph.output]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        node = producer.get(name)
        if node is None or node.op_type not in _PASS_THROUGH | _LAYERS:
            return []
        data = [i for i in node.input if i and i not in constants]
        if node.op_type in _LAYERS:
            found.extend(i for i in data[:1] if i not in found)
        else:
            pending.extend(data)
    order = {out: k for k, node in enumerate(proto.graph.node) for out in node.output}
    return sorted(found, key=lambda n: order.get(n, -1))


def _conv_input_ranks(proto: Any) -> dict[str, int]:
    weights = {t.name: len(t.dims) for t in proto.graph.initializer}
    return {n.input[0]: weights[n.input[1]] for n in proto.graph.node if n.op_type == "Conv" and n.input[1] in weights}


class OpenVinoSession:
    """An OpenVINO CPU model compiled for latency (one stream, `threads` threads); one inference request per
    calling thread.

    `bfloat16`: the CPU's bfloat16 arithmetic for the model's body, but its output layers (`output_layer_inputs`)
    run as a second, float32 model. A bfloat16 number carries 2-3 significant digits: the body's features
    survive that, but logits rounded so can swap the two best characters of a plate (docs/benchmarks.md §12).
    Else float32 throughout."""

    def __init__(self, model: Path | bytes, threads: int = 1, bfloat16: bool = False) -> None:
        import onnx

        proto = onnx.load(str(model)) if isinstance(model, Path) else onnx.load_from_string(model)
        self._metadata = {p.key: p.value for p in proto.metadata_props}
        constants = {t.name for t in proto.graph.initializer}
        self._inputs = tuple(i.name for i in proto.graph.input if i.name not in constants)
        self._outputs = tuple(o.name for o in proto.graph.output)
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": False,  # pinned, two processes of one thread would share one core
        }
        exact = config | {"EXECUTION_MODE_HINT": "ACCURACY", "INFERENCE_PRECISION_HINT": "f32"}
        fast = config | {"EXECUTION_MODE_HINT": "PERFORMANCE", "INFERENCE_PRECISION_HINT": "bf16"}
        split = output_layer_inputs(proto) if bfloat16 else []
        if split:
            known = {v.name for v in proto.graph.value_info}
            ranks = _conv_input_ranks(proto)
            proto.graph.value_info.extend(  # a layer's data input is float; a convolution's has its weights' rank
                onnx.helper.make_tensor_value_info(
                    name, onnx.TensorProto.FLOAT, [None] * ranks[name] if name in ranks else None
                )
                for name in split
                if name not in known
            )
            extractor = onnx.utils.Extractor(proto)
            body = extractor.extract_model(list(self._inputs), split)
            head = extractor.extract_model(split, list(self._outputs))
            first = _Stage(body, fast)
            self._stages: tuple[_Stage, ...] = (first, _Stage(head, exact, first.output_shapes()))
        else:
            self._stages = (_Stage(proto, fast if bfloat16 else exact),)
        self._local = threading.local()

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._inputs

    @property
    def metadata(self) -> Mapping[str, str]:
        return self._metadata

    def run(self, outputs: Sequence[str] | None, feeds: Mapping[str, npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        requests = getattr(self._local, "requests", None)
        if requests is None:
            requests = self._local.requests = [stage.compiled.create_infer_request() for stage in self._stages]
        values: dict[str, npt.NDArray[Any]] = dict(feeds)
        for stage, request in zip(self._stages, requests, strict=True):
            results = request.infer([values[name] for name in stage.inputs])  # copies the outputs, no views
            values |= {name: np.asarray(results[k]) for k, name in enumerate(stage.outputs)}
        wanted = self._outputs if outputs is None else outputs
        return [values[name] for name in wanted]


class _Stage:
    """An ONNX model, in memory, compiled for OpenVINO's CPU plugin; its ONNX input and output names in order
    (OpenVINO may name a tensor differently, e.g. after an Identity it removed)."""

    def __init__(self, proto: Any, config: Mapping[str, Any], input_shapes: Mapping[str, Any] | None = None) -> None:
        constants = {t.name for t in proto.graph.initializer}
        self.inputs = [i.name for i in proto.graph.input if i.name not in constants]
        self.outputs = [o.name for o in proto.graph.output]
        # Core.read_model, not openvino.convert_model: the latter is a tool that reports usage over the network.
        network = _openvino_core().read_model(io.BytesIO(proto.SerializeToString()))
        if input_shapes:  # a head model's inputs take the shapes the body computes (known dimensions included)
            network.reshape({k: input_shapes[name] for k, name in enumerate(self.inputs)})
        self.compiled = _openvino_core().compile_model(network, "CPU", dict(config))

    def output_shapes(self) -> dict[str, Any]:
        return {name: port.get_partial_shape() for name, port in zip(self.outputs, self.compiled.outputs, strict=True)}
