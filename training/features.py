"""Cache the frozen trunk's feature maps of synthetic samples, to train a reader head on a CPU quickly.

``PYTHONPATH=src python -m training.features --checkpoint runs/gpu/checkpoint.pt --out runs/feat/shard0 --start 0
--count 20000``: writes features (float16, N x C x 4 x 12) and labels (int64, N x SLOTS) as .npy files.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from cordon.recognize.reader.preprocess import encode_label, preprocess  # noqa: E402
from training.model import PlateReaderNet, trunk  # noqa: E402
from training.synth import make_sample  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Cache trunk features of synthetic samples")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--chunk", type=int, default=2000, help="samples per saved file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    net = PlateReaderNet()
    net.load_state_dict(torch.load(args.checkpoint, map_location="cpu", weights_only=True)["model"])
    body = trunk(net).eval()
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    for first in range(args.start, args.start + args.count, args.chunk):
        target = args.out / f"{first:09d}"
        if (target.with_suffix(".labels.npy")).exists():
            continue
        samples = [make_sample(args.seed * 10**9 + i) for i in range(first, first + args.chunk)]
        labels = np.stack([encode_label(label) for _, label in samples])
        feats = []
        with torch.no_grad():
            for at in range(0, len(samples), 100):
                batch = torch.from_numpy(preprocess([c for c, _ in samples[at : at + 100]]))
                feats.append(body(batch).half().numpy())
        np.save(target.with_suffix(".feats.npy"), np.concatenate(feats))
        np.save(target.with_suffix(".labels.npy"), labels)
        done = first + args.chunk - args.start
        print(f"{done} samples, {done / (time.monotonic() - began):.1f}/s", flush=True)


if __name__ == "__main__":
    main()
