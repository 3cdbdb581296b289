"""Build a YOLOv8 detector as an ONNX graph from the tensors of its training checkpoint, without torch or
ultralytics (their code never runs; see `torchfile.py` for how the checkpoint is read).

The graph covers the network up to the Detect head's raw maps: one output per stride (8, 16, 32), each
(1, 4·reg_max + classes, H/stride, W/stride) of logits. Decoding (DFL, anchors, NMS) is done in numpy on the
few cells whose class score passes the threshold (`detect.py`), which is cheaper than decoding every cell.

Supported layers are those of the YOLOv8 detection family: Conv (Conv2d + BatchNorm + SiLU, folded into one
Conv), C2f, Bottleneck, SPPF, nn.Upsample (nearest), Concat and Detect. Anything else raises `CheckpointError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from cordon.recognize.torchfile import CheckpointError, load_checkpoint

OPSET = 17
INPUT_NAME = "images"


@dataclass(frozen=True)
class YoloSpec:
    """What the decoder needs to know about a converted YOLOv8 graph."""

    strides: tuple[int, ...]
    reg_max: int
    class_names: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass
class _Graph:
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    counter: int = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, hint: str, value: npt.NDArray[Any]) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, n_out: int = 1, **attrs: Any) -> list[str]:
        outputs = [self.name(hint) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outputs, **attrs))
        return outputs


def _kind(module: Any) -> str:
    return type(module).__name__


def _child(module: Any, name: str) -> Any:
    try:
        return module.__dict__["_modules"][name]
    except KeyError:
        raise CheckpointError(f"{_kind(module)} has no sub-module {name!r}") from None


def _children(module: Any) -> list[Any]:
    return list(module.__dict__["_modules"].values())


def _param(module: Any, name: str) -> npt.NDArray[np.float32] | None:
    holder = module.__dict__.get("_parameters", {})
    value = holder.get(name) if name in holder else module.__dict__.get("_buffers", {}).get(name)
    return None if value is None else np.asarray(value, dtype=np.float32)


def _pair(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, tuple | list) else [int(value), int(value)]


def _conv2d(g: _Graph, x: str, conv: Any, bn: Any | None, act: bool) -> str:
    """A Conv2d (with its BatchNorm folded in), then SiLU when `act`."""
    weight = _param(conv, "weight")
    if weight is None:
        raise CheckpointError("Conv2d without weight")
    bias = _param(conv, "bias")
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=np.float32)
    if bn is not None:
        gamma, beta = _param(bn, "weight"), _param(bn, "bias")
        mean, var = _param(bn, "running_mean"), _param(bn, "running_var")
        if gamma is None or beta is None or mean is None or var is None:
            raise CheckpointError("BatchNorm2d without its statistics")
        scale = gamma / np.sqrt(var + float(bn.__dict__.get("eps", 1e-5)))
        weight = weight * scale[:, None, None, None]
        bias = (bias - mean) * scale + beta
    pads = _pair(conv.__dict__["padding"])
    (y,) = g.op(
        "Conv",
        [x, g.const("w", weight.astype(np.float32)), g.const("b", bias.astype(np.float32))],
        "conv",
        kernel_shape=_pair(conv.__dict__["kernel_size"]),
        strides=_pair(conv.__dict__["stride"]),
        pads=pads + pads,
        dilations=_pair(conv.__dict__["dilation"]),
        group=int(conv.__dict__["groups"]),
    )
    if not act:
        return y
    (sig,) = g.op("Sigmoid", [y], "sig")
    return g.op("Mul", [y, sig], "silu")[0]


def _conv_block(g: _Graph, x: str, module: Any) -> str:
    """ultralytics Conv: Conv2d + BatchNorm2d + SiLU (or Identity)."""
    act = _kind(_child(module, "act"))
    if act not in ("SiLU", "Identity"):
        raise CheckpointError(f"unsupported activation {act}")
    bn = module.__dict__["_modules"].get("bn")
    return _conv2d(g, x, _child(module, "conv"), bn, act == "SiLU")


def _c2f(g: _Graph, x: str, module: Any) -> str:
    hidden = int(module.__dict__["c"])
    y = _conv_block(g, x, _child(module, "cv1"))
    parts = g.op("Split", [y, g.const("split", np.array([hidden, hidden], dtype=np.int64))], "part", n_out=2, axis=1)
    for bottleneck in _children(_child(module, "m")):
        inner = _conv_block(g, _conv_block(g, parts[-1], _child(bottleneck, "cv1")), _child(bottleneck, "cv2"))
        if bottleneck.__dict__.get("add", False):
            inner = g.op("Add", [parts[-1], inner], "add")[0]
        parts.append(inner)
    (cat,) = g.op("Concat", parts, "cat", axis=1)
    return _conv_block(g, cat, _child(module, "cv2"))


def _sppf(g: _Graph, x: str, module: Any) -> str:
    pool = _child(module, "m").__dict__
    k, p = int(pool["kernel_size"]), int(pool["padding"])
    outs = [_conv_block(g, x, _child(module, "cv1"))]
    for _ in range(3):
        outs += g.op("MaxPool", [outs[-1]], "pool", kernel_shape=[k, k], strides=[1, 1], pads=[p, p, p, p])
    (cat,) = g.op("Concat", outs, "cat", axis=1)
    return _conv_block(g, cat, _child(module, "cv2"))


def _upsample(g: _Graph, x: str, module: Any) -> str:
    if module.__dict__.get("mode") != "nearest":
        raise CheckpointError("only nearest upsampling is supported")
    factor = float(module.__dict__["scale_factor"])
    scales = g.const("scales", np.array([1.0, 1.0, factor, factor], dtype=np.float32))
    return g.op("Resize", [x, "", scales], "up", mode="nearest", nearest_mode="floor")[0]


def _head_branch(g: _Graph, x: str, branch: Any) -> str:
    first, second, last = _children(branch)
    return _conv2d(g, _conv_block(g, _conv_block(g, x, first), second), last, None, act=False)


def _detect(g: _Graph, inputs: list[str], module: Any) -> list[str]:
    boxes, classes = _children(_child(module, "cv2")), _children(_child(module, "cv3"))
    outs = []
    for x, box_branch, cls_branch in zip(inputs, boxes, classes, strict=True):
        parts = [_head_branch(g, x, box_branch), _head_branch(g, x, cls_branch)]
        outs.append(g.op("Concat", parts, "head", axis=1)[0])
    return outs


def build_yolo_onnx(checkpoint: Path) -> tuple[onnx.ModelProto, YoloSpec]:
    """Read a YOLOv8 detection checkpoint and return its ONNX graph (float32) and decoding spec."""
    loaded = load_checkpoint(checkpoint)
    model = loaded.get("ema") or loaded.get("model") if isinstance(loaded, dict) else None
    if model is None or "_modules" not in model.__dict__:
        raise CheckpointError(f"{checkpoint}: no model in the checkpoint")
    layers = _children(_child(model, "model"))
    g = _Graph()
    values: list[str] = []
    current = INPUT_NAME
    outputs: list[str] = []
    detect: Any = None
    for index, layer in enumerate(layers):
        source = layer.__dict__.get("f", -1)
        sources = [values[s] if s >= 0 else (values[index + s] if values else current) for s in
                   (source if isinstance(source, list) else [source])]  # fmt: skip
        kind = _kind(layer)
        if kind == "Conv":
            current = _conv_block(g, sources[0], layer)
        elif kind == "C2f":
            current = _c2f(g, sources[0], layer)
        elif kind == "SPPF":
            current = _sppf(g, sources[0], layer)
        elif kind == "Upsample":
            current = _upsample(g, sources[0], layer)
        elif kind == "Concat":
            current = g.op("Concat", sources, "cat", axis=int(layer.__dict__.get("d", 1)))[0]
        elif kind == "Detect":
            outputs, detect = _detect(g, sources, layer), layer
            current = outputs[0]
        else:
            raise CheckpointError(f"layer {index}: unsupported layer type {kind}")
        values.append(current)
    if detect is None:
        raise CheckpointError(f"{checkpoint}: the model has no Detect head")
    names = model.__dict__.get("names") or {}
    class_names = tuple(str(names[k]) for k in sorted(names)) if isinstance(names, dict) else ()
    spec = YoloSpec(
        strides=tuple(int(s) for s in np.asarray(detect.__dict__["stride"]).ravel()),
        reg_max=int(detect.__dict__["reg_max"]),
        class_names=class_names,
        outputs=tuple(f"stride{int(s)}" for s in np.asarray(detect.__dict__["stride"]).ravel()),
    )
    renamed = [g.op("Identity", [out], "out")[0] for out in outputs]
    for node, final in zip(g.nodes[-len(renamed) :], spec.outputs, strict=True):
        node.output[0] = final
    del renamed
    graph = helper.make_graph(
        g.nodes,
        "yolov8_plate_detector",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, "height", "width"])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, "channels", f"{name}_h", f"{name}_w"])
            for name in spec.outputs
        ],
        g.initializers,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="cordon")
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    return onnx_model, spec
