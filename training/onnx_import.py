"""The committed CTC reader's weights back from its ONNX file into `CtcReaderNet`, so that it can be trained
further (a zone's own plates, `train.py --init-onnx`) without the checkpoint it was exported from.

The export folded each batch norm into its convolution (a weight and a bias per convolution) and wrote the
LSTM in ONNX's layout. Here each convolution gets its folded weight, its batch norm becomes the identity
holding the folded bias (weight 1, mean 0, variance 1 - eps, so that normalising changes nothing), and the
LSTM's gates are put back in PyTorch's order: ONNX stores input, output, forget, cell; PyTorch input, forget,
cell, output. `check_round_trip` runs both on the same input.

``python -m training.onnx_import src/cordon/recognize/reader/plate_reader.onnx --out runs/shipped.pt``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from cordon.recognize.reader import check_model
from cordon.recognize.reader.preprocess import INPUT_HEIGHT, INPUT_WIDTH
from training.ctc import CtcReaderNet

_ONNX_TO_TORCH_GATES = (0, 2, 3, 1)
"""For PyTorch's gate k (input, forget, cell, output), the index of that gate in ONNX's (input, output, forget,
cell) layout."""


def _gates(matrix: npt.NDArray[np.float32], hidden: int) -> npt.NDArray[np.float32]:
    blocks = [matrix[i * hidden : (i + 1) * hidden] for i in range(4)]
    return np.concatenate([blocks[i] for i in _ONNX_TO_TORCH_GATES])


def load_onnx_reader(path: Path) -> CtcReaderNet:
    """A `CtcReaderNet` holding the weights of a CTC reader exported by `training/export.py`."""
    import onnx
    from onnx import numpy_helper

    check_model(path)  # what every plate reader must be (input, alphabet, output): the runtime's own check
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    if meta.get("decoding") != "ctc":
        raise ValueError(f"{path}: not a CTC reader (metadata decoding={meta.get('decoding')!r})")
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    lstms = [n for n in model.graph.node if n.op_type == "LSTM"]
    net = CtcReaderNet()
    conv_layers = [m for m in net.features if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.features if isinstance(m, nn.BatchNorm2d)]
    if len(convs) != len(conv_layers) or len(lstms) != net.rnn.num_layers:
        raise ValueError(f"{path}: {len(convs)} convolutions and {len(lstms)} LSTM layers, not CtcReaderNet's")
    state = net.state_dict()
    for index, node in enumerate(convs):
        prefix = f"features.{list(net.features).index(conv_layers[index])}"
        norm = f"features.{list(net.features).index(norms[index])}"
        state[f"{prefix}.weight"] = torch.from_numpy(weights[node.input[1]].copy())
        bias = weights[node.input[2]]
        state[f"{norm}.weight"] = torch.ones_like(state[f"{norm}.weight"])
        state[f"{norm}.bias"] = torch.from_numpy(bias.copy())
        state[f"{norm}.running_mean"] = torch.zeros_like(state[f"{norm}.running_mean"])
        state[f"{norm}.running_var"] = torch.full_like(state[f"{norm}.running_var"], 1 - norms[index].eps)
    hidden = net.rnn.hidden_size
    for layer, node in enumerate(lstms):
        w, r, b = (weights[name] for name in node.input[1:4])
        for direction, suffix in enumerate(("", "_reverse")):
            state[f"rnn.weight_ih_l{layer}{suffix}"] = torch.from_numpy(_gates(w[direction], hidden))
            state[f"rnn.weight_hh_l{layer}{suffix}"] = torch.from_numpy(_gates(r[direction], hidden))
            state[f"rnn.bias_ih_l{layer}{suffix}"] = torch.from_numpy(_gates(b[direction][: 4 * hidden], hidden))
            state[f"rnn.bias_hh_l{layer}{suffix}"] = torch.from_numpy(_gates(b[direction][4 * hidden :], hidden))
    matmul = next(n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights)
    state["classify.weight"] = torch.from_numpy(weights[matmul.input[1]].T.copy())
    bias_name = next(name for name in weights if name.endswith("classify.bias"))
    state["classify.bias"] = torch.from_numpy(weights[bias_name].copy())
    net.load_state_dict(state)
    return net


def check_round_trip(net: CtcReaderNet, path: Path, samples: int = 8) -> float:
    """Largest difference between the ONNX file's probabilities and the imported network's, on noise."""
    import onnxruntime as ort

    x = np.random.default_rng(0).normal(size=(samples, 1, INPUT_HEIGHT, INPUT_WIDTH)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"image": x})[0]
    net.eval()
    with torch.no_grad():
        got = torch.softmax(net(torch.from_numpy(x)), dim=-1).numpy()
    return float(np.abs(got - expected).max())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Import a CTC reader's ONNX file as a training checkpoint")
    parser.add_argument("onnx", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (train.py --resume takes it)")
    args = parser.parse_args(argv)
    net = load_onnx_reader(args.onnx)
    gap = check_round_trip(net, args.onnx)
    if gap > 1e-4:
        raise SystemExit(f"the imported network differs from {args.onnx} by {gap:.2e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": net.state_dict(), "step": 0, "frozen_norms": True}, args.out)  # train.py --resume keeps them
    print(f"imported {args.onnx} into {args.out}; largest difference to the ONNX file {gap:.2e}")


if __name__ == "__main__":
    main()
