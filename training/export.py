"""Export a trained checkpoint to ONNX (opset 17, dynamic batch) and check it against PyTorch.

``python -m training.export --checkpoint runs/x/checkpoint.pt --out src/cordon/recognize/reader/plate_reader.onnx``
(`--arch fc` for a stage-one slot checkpoint; the committed reader is the CTC one.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cordon.recognize.reader.preprocess import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS
from training.ctc import CtcReaderNet
from training.model import PlateReaderNet, WithSoftmax

OPSET = 17


def export_onnx(net: nn.Module, out: Path) -> None:
    """Write `net` (logits out; a softmax is added) to `out` as one self-contained ONNX file, and check it."""
    import onnx
    import onnxruntime as ort

    model = WithSoftmax(net).cpu().float().eval()
    dummy = torch.zeros(2, 1, INPUT_HEIGHT, INPUT_WIDTH)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (dummy,),
        str(out),
        input_names=["image"],
        output_names=["probs"],
        dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    proto.metadata_props.add(key="alphabet", value=ALPHABET)
    proto.metadata_props.add(key="slots", value=str(SLOTS))
    proto.metadata_props.add(key="decoding", value="ctc" if isinstance(net, CtcReaderNet) else "slots")
    onnx.save(proto, str(out))
    x = np.random.default_rng(0).normal(size=(5, 1, INPUT_HEIGHT, INPUT_WIDTH)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": x})[0]
    gap = float(np.abs(got - expected).max())
    if gap > 1e-3:
        raise RuntimeError(f"ONNX and PyTorch disagree by {gap}")
    print(f"exported {out} ({out.stat().st_size / 1e6:.2f} MB), max difference to PyTorch {gap:.2e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export a reader checkpoint to ONNX")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--arch", choices=("fc", "ctc"), default="ctc", help="the checkpoint's network")
    args = parser.parse_args(argv)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    net: nn.Module = CtcReaderNet() if args.arch == "ctc" else PlateReaderNet()
    net.load_state_dict(state["model"])
    export_onnx(net, args.out)


if __name__ == "__main__":
    main()
