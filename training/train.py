"""Train the plate reader on synthetic plates made on the fly, then export it to ONNX and score it on real crops.

GPU (mixed precision, data made by every CPU core):
``PYTHONPATH=src python -m training.train --out runs/gpu --minutes 6 --real .devdata/be-crops-dev .devdata/fr-crops``
CPU only (slow; the same code): ``PYTHONPATH=src python -m training.train --out runs/cpu --device cpu --steps 60000``

The learning rate follows a cosine over the planned steps; with ``--minutes`` the plan is fixed from the
speed measured over the first steps, and training stops at the budget whatever happens, so the export always
runs. Samples are numbered and made from their number, so the data stream is the same for a given ``--seed``
whatever the number of workers.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread per data worker; the workers are the parallelism

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from cordon.recognize.reader.preprocess import ALPHABET, best_text, encode_label, preprocess, preprocess_one  # noqa: E402
from cordon.recognize.stages import PAD  # noqa: E402
from training.ctc import CtcReaderNet, ctc_loss, greedy_text  # noqa: E402
from training.export import export_onnx  # noqa: E402
from training.head import AttentionReader, SlotHead  # noqa: E402
from training.model import PlateReaderNet, parameter_count, trunk  # noqa: E402
from training.onnx_import import load_onnx_reader  # noqa: E402
from training.realdata import load_crops, shared_crops, training_crops  # noqa: E402
from training.replay import ReplayPool, jitter  # noqa: E402
from training.synth import make_sample  # noqa: E402

VALIDATION_OFFSET = 10**12
"""Synthetic validation samples are numbered from here, far from any training sample."""


class SyntheticPlates(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    def __init__(self, seed: int, length: int, offset: int = 0) -> None:
        self.base = seed * 10**9 + offset
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        crop, label = make_sample(self.base + index)
        return torch.from_numpy(preprocess_one(crop)[None]), torch.from_numpy(encode_label(label))


def label_text(indexes: torch.Tensor) -> str:
    return "".join(ALPHABET[i] for i in indexes.tolist() if ALPHABET[i] != PAD)


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        line = f"[{time.monotonic() - self.start:7.1f}s] {message}"
        print(line, flush=True)
        with self.path.open("a") as handle:
            handle.write(line + "\n")


def training_mode(net: nn.Module, frozen_norms: bool) -> None:
    """Train mode; with `frozen_norms`, the batch norms stay in eval mode (their running statistics, not the
    batch's): a network imported from ONNX has its batch norms folded into the convolutions (`onnx_import`)."""
    net.train()
    if frozen_norms:
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()


@torch.no_grad()
def exact_accuracy(
    net: nn.Module, images: torch.Tensor, labels: list[str], device: torch.device, frozen_norms: bool = False
) -> float:
    net.eval()
    hits = 0
    for start in range(0, len(labels), 256):
        logits = net(images[start : start + 256].to(device)).float().cpu()
        if isinstance(net, CtcReaderNet):
            texts = greedy_text(logits)
        else:
            texts = [best_text(p, ALPHABET) for p in logits.numpy()]
        hits += sum(read == t for read, t in zip(texts, labels[start : start + 256], strict=True))
    training_mode(net, frozen_norms)
    return hits / max(len(labels), 1)


def build_net(arch: str, init_trunk: Path | None, init_head: Path | None, device: torch.device) -> nn.Module:
    """`fc`: the trunk with the fully connected slot head (stage one). `attention`: the trunk with the attention
    slot head, trained together end to end; the trunk may start from a stage-one checkpoint and the head
    from a stage-two one (`train_head.py`). `ctc`: the CTC reader (`ctc.py`), from scratch."""
    if arch == "ctc":
        return CtcReaderNet().to(device)
    base = PlateReaderNet()
    if init_trunk is not None:
        base.load_state_dict(torch.load(init_trunk, map_location="cpu", weights_only=True)["model"])
    if arch == "fc":
        return base.to(device)
    head = SlotHead()
    if init_head is not None:
        head.load_state_dict(torch.load(init_head, map_location="cpu", weights_only=True)["head"])
    return AttentionReader(trunk(base), head).to(device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train Cordon's plate reader")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--minutes", type=float, default=None, help="wall-clock budget for training")
    parser.add_argument("--steps", type=int, default=20000, help="steps when no --minutes is given")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="PyTorch threads on CPU")
    parser.add_argument("--reuse", type=int, default=1, help="steps per fresh batch (>1: replay from a pool)")
    parser.add_argument("--pool", type=int, default=64, help="batches kept for replay")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--real", type=Path, nargs="*", default=[], help="folders of real crops to score")
    parser.add_argument("--resume", type=Path, default=None, help="checkpoint to start from")
    parser.add_argument("--arch", choices=("fc", "attention", "ctc"), default="ctc", help="see build_net")
    parser.add_argument("--init-trunk", type=Path, default=None, help="stage-one checkpoint for the trunk")
    parser.add_argument("--init-head", type=Path, default=None, help="stage-two head.pt for the attention head")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--init-onnx", type=Path, default=None,
                        help="start from a CTC reader's ONNX file (the shipped one: a zone's fine-tuning)")  # fmt: skip
    parser.add_argument("--train-real", type=Path, nargs="*", default=[],
                        help="folders of the zone's own real crops (manifest.csv image,plate) to train on")  # fmt: skip
    parser.add_argument("--real-share", type=float, default=0.25,
                        help="share of each batch taken from --train-real crops (slightly warped) [0.25]")  # fmt: skip
    args = parser.parse_args(argv)
    if not 0 < args.real_share < 1:
        parser.error("--real-share must be between 0 and 1")
    if args.init_onnx is not None and (args.arch != "ctc" or args.resume is not None):
        parser.error("--init-onnx starts a CTC reader (--arch ctc) and replaces --resume")

    torch.manual_seed(args.seed)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    log = Log(args.out / "train.log")
    net = build_net(args.arch, args.init_trunk, args.init_head, device)
    frozen_norms = args.init_onnx is not None
    if args.resume is not None:
        resumed = torch.load(args.resume, map_location=device, weights_only=True)
        net.load_state_dict(resumed["model"])
        frozen_norms = bool(resumed.get("frozen_norms", False))  # a network that came from an ONNX file
    try:  # a bad file or folder stops the run here, with its reason, before any step
        if args.init_onnx is not None:
            net = load_onnx_reader(args.init_onnx).to(device)
            log(f"started from {args.init_onnx} (batch norms folded and frozen)")
        real = {folder.name: load_crops(folder) for folder in args.real}
        own = training_crops(args.train_real)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    training_mode(net, frozen_norms)
    for name, crops in real.items():
        shared = shared_crops(own, crops)
        if shared:
            raise SystemExit(f"{len(shared)} crops of {name} are also trained on (--train-real), e.g. {shared[0]}: "
                             "a reader must not be scored on what it learnt")  # fmt: skip
    own_images = torch.from_numpy(preprocess([c.rgb for c in own])).to(device) if own else None
    own_labels = torch.from_numpy(np.stack([encode_label(c.plate) for c in own])).to(device) if own else None
    if own:
        log(f"{len(own)} real crops to train on from {', '.join(map(str, args.train_real))}, "
            f"{args.real_share:.0%} of each batch")  # fmt: skip
    gpu = device.type == "cuda"
    if not gpu:
        torch.set_num_threads(args.threads)
    log(f"device {device} ({torch.cuda.get_device_name() if gpu else 'cpu'}), {parameter_count(net)} parameters")
    if gpu:
        torch.backends.cudnn.benchmark = True
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch accepts it; its stubs omit it

    total = 10**9  # far more samples than any run will draw
    loader = DataLoader(
        SyntheticPlates(args.seed, total),
        batch_size=args.batch,
        num_workers=args.workers,
        worker_init_fn=_worker_init,
        pin_memory=gpu,
        persistent_workers=args.workers > 0,
        prefetch_factor=8 if args.workers > 0 else None,
        drop_last=True,
    )
    validation = DataLoader(
        SyntheticPlates(args.seed, 1024, VALIDATION_OFFSET), batch_size=128, num_workers=args.workers
    )
    val_batches = list(validation)
    val_images = torch.cat([x for x, _ in val_batches])
    val_labels = [label_text(y) for _, ys in val_batches for y in ys]
    real_sets = {
        name: (torch.from_numpy(preprocess([c.rgb for c in crops])), [c.plate for c in crops])
        for name, crops in real.items()
    }

    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    planned = args.steps
    warmup = 300 if args.resume is None and args.init_trunk is None and args.init_onnx is None else 100
    start = time.monotonic()
    budget = args.minutes * 60 if args.minutes is not None else math.inf
    step, seen, running = 0, 0, 0.0

    def evaluate() -> None:
        scores = [f"synthetic {100 * exact_accuracy(net, val_images, val_labels, device, frozen_norms):.1f} %"]
        scores += [
            f"{n} {100 * exact_accuracy(net, x, y, device, frozen_norms):.1f} %" for n, (x, y) in real_sets.items()
        ]
        log(f"step {step}/{planned}: loss {running:.3f}, exact " + ", ".join(scores))

    pool = ReplayPool(args.pool, device)
    done = False
    for fresh_images, fresh_labels in loader:
        fresh_images = fresh_images.to(device, non_blocking=True)
        fresh_labels = fresh_labels.to(device, non_blocking=True)
        pool.add(fresh_images, fresh_labels)
        seen += len(fresh_labels)
        for repeat in range(args.reuse):
            elapsed = time.monotonic() - start
            if step == 500 and repeat == 0:
                log(f"{step / elapsed:.1f} steps/s, {seen / elapsed:.0f} fresh samples/s")
            # Progress through the cosine: by steps, or by the clock when a budget is given.
            progress = elapsed / budget if args.minutes is not None else step / planned
            if progress >= 1.0:
                done = True
                break
            if repeat == 0:
                images, labels = fresh_images, fresh_labels
            else:  # earlier samples again, moved a little, so that a slow generator does not starve the GPU
                images, labels = pool.draw(len(fresh_labels))
                images = jitter(images)
            if own_images is not None and own_labels is not None:  # the zone's own crops, each time warped anew
                count = max(1, round(args.real_share * len(labels)))
                chosen = torch.randint(len(own_images), (count,), device=device)
                images = torch.cat([jitter(own_images[chosen]), images[count:]])
                labels = torch.cat([own_labels[chosen], labels[count:]])
            lr = args.lr * min(1.0, (step + 1) / warmup) * (0.01 + 0.495 * (1 + math.cos(math.pi * progress)))
            for group in optimiser.param_groups:
                group["lr"] = lr
            if gpu:
                images = images.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=gpu):
                logits = net(images)
            if args.arch == "ctc":
                loss = ctc_loss(logits, labels)
            else:
                loss = loss_fn(logits.float().reshape(-1, len(ALPHABET)), labels.reshape(-1))
            optimiser.zero_grad(set_to_none=True)
            torch.autograd.backward(loss)
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimiser.step()
            if step % 50 == 0:  # reading the loss waits for the GPU: not every step
                running = float(loss.detach())
            step += 1
            if step % args.eval_every == 0:
                evaluate()
                torch.save(
                    {"model": net.state_dict(), "step": step, "frozen_norms": frozen_norms}, args.out / "checkpoint.pt"
                )
        if done:
            break
    if step == 0 or step % args.eval_every:  # else the loop has just scored this step
        evaluate()
    log(f"trained {step} steps, {seen} samples in {time.monotonic() - start:.0f} s")
    net = net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    torch.save({"model": net.state_dict(), "step": step, "frozen_norms": frozen_norms}, args.out / "checkpoint.pt")
    export_onnx(net.cpu(), args.out / "plate_reader.onnx")
    log("exported")


if __name__ == "__main__":
    main()
