"""Second stage: train the attention slot head on cached trunk features (see features.py), then export the
whole reader (trunk + head + softmax) to ONNX and score it on real crops.

``PYTHONPATH=src python -m training.train_head --checkpoint runs/gpu/checkpoint.pt --features runs/feat
--out runs/head --minutes 30 --real .devdata/be-crops-dev .devdata/fr-crops``

Shards written while it trains are picked up at the next epoch.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cordon.recognize.reader.preprocess import ALPHABET, best_text, preprocess
from training.export import export_onnx
from training.head import AttentionReader, SlotHead
from training.model import PlateReaderNet, parameter_count, trunk
from training.realdata import load_crops
from training.train import Log


def _shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.labels.npy"))


def _load(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    feats = [np.load(str(p).replace(".labels.npy", ".feats.npy")) for p in paths]
    labels = [np.load(p) for p in paths]
    return torch.from_numpy(np.concatenate(feats)), torch.from_numpy(np.concatenate(labels))


@torch.no_grad()
def _accuracy(head: SlotHead, feats: torch.Tensor, labels: list[str]) -> float:
    head.eval()
    logits = torch.cat([head(feats[i : i + 256].float()) for i in range(0, len(feats), 256)])
    head.train()
    return sum(best_text(p, ALPHABET) == t for p, t in zip(logits.numpy(), labels, strict=True)) / max(len(labels), 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the slot head on cached features")
    parser.add_argument("--checkpoint", type=Path, required=True, help="stage-one checkpoint (the trunk)")
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--validation", type=int, default=2, help="shards held out for validation")
    parser.add_argument("--real", type=Path, nargs="*", default=[])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    log = Log(args.out / "train_head.log")

    net = PlateReaderNet()
    net.load_state_dict(torch.load(args.checkpoint, map_location="cpu", weights_only=True)["model"])
    body = trunk(net).eval()
    head = SlotHead()
    log(f"head {parameter_count(head)} parameters, trunk {parameter_count(body)}")
    shards = _shards(args.features)
    val_feats, val_idx = _load(shards[: args.validation])
    val_labels = ["".join(ALPHABET[i] for i in row if ALPHABET[i] != "_") for row in val_idx.tolist()]
    real = {}
    with torch.no_grad():
        for folder in args.real:
            crops = load_crops(folder)
            real[folder.name] = (body(torch.from_numpy(preprocess([c.rgb for c in crops]))), [c.plate for c in crops])

    optimiser = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.02)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.02)
    budget = args.minutes * 60
    start = time.monotonic()
    step, epoch = 0, 0
    generator = torch.Generator().manual_seed(args.seed)
    while time.monotonic() - start < budget:
        feats, labels = _load(_shards(args.features)[args.validation :])
        order = torch.randperm(len(labels), generator=generator)
        running = 0.0
        for at in range(0, len(order) - args.batch + 1, args.batch):
            progress = (time.monotonic() - start) / budget
            if progress >= 1:
                break
            lr = args.lr * min(1.0, (step + 1) / 200) * (0.02 + 0.49 * (1 + math.cos(math.pi * progress)))
            for group in optimiser.param_groups:
                group["lr"] = lr
            index = order[at : at + args.batch]
            logits = head(feats[index].float())
            loss = loss_fn(logits.reshape(-1, len(ALPHABET)), labels[index].reshape(-1))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(head.parameters(), 2.0)
            optimiser.step()
            running = 0.95 * running + 0.05 * float(loss.detach()) if step else float(loss.detach())
            step += 1
        epoch += 1
        scores = [f"synthetic {100 * _accuracy(head, val_feats, val_labels):.1f} %"]
        scores += [f"{name} {100 * _accuracy(head, f, y):.1f} %" for name, (f, y) in real.items()]
        log(f"epoch {epoch} ({len(labels)} samples), step {step}, loss {running:.3f}: " + ", ".join(scores))
        torch.save({"head": head.state_dict(), "step": step}, args.out / "head.pt")
    export_onnx(AttentionReader(body, head.eval()), args.out / "plate_reader.onnx")
    log("exported")


if __name__ == "__main__":
    main()
