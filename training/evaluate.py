"""Evaluate an ONNX reader on folders of real crops: exact plate accuracy (the reader's best symbol per
slot, no grammar), character accuracy, errors, and speed per crop on one thread. Needs no PyTorch.

``python -m training.evaluate ../shared/data/be-crops-dev .devdata/fr-crops``
``python -m training.evaluate --model runs/gpu/plate_reader.onnx ../shared/data/be-crops-dev``
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cordon.plates import edit_distance
from cordon.recognize.reader import MODEL_PATH, CordonReader
from training.realdata import load_crops


@dataclass(frozen=True)
class Score:
    folder: str
    total: int
    exact: int
    char_errors: int
    chars: int
    errors: tuple[tuple[str, str, str], ...]
    """(image, truth, read) for each miss."""

    @property
    def accuracy(self) -> float:
        return self.exact / self.total if self.total else 0.0

    def report(self) -> str:
        lines = [
            f"{self.folder}: exact {self.exact}/{self.total} = {100 * self.accuracy:.1f} %, "
            f"character error rate {100 * self.char_errors / max(self.chars, 1):.2f} %"
        ]
        lines += [f"  miss {name}: {truth} read as {read}" for name, truth, read in self.errors]
        return "\n".join(lines)


def score_folder(reader: CordonReader, folder: Path) -> Score:
    crops = load_crops(folder)
    read = reader.read_text([c.rgb for c in crops])
    errors = tuple((c.name, c.plate, r) for c, r in zip(crops, read, strict=True) if r != c.plate)
    char_errors = sum(edit_distance(c.plate, r) for c, r in zip(crops, read, strict=True))
    return Score(
        folder.name,
        len(crops),
        len(crops) - len(errors),
        char_errors,
        sum(len(c.plate) for c in crops),
        errors,
    )


def speed_ms(reader: CordonReader, folder: Path, rounds: int = 3) -> tuple[float, float]:
    """Milliseconds per crop on one thread: one at a time, and in one batch."""
    crops = [c.rgb for c in load_crops(folder)]
    reader.read(crops[:1])
    best_single = best_batch = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for crop in crops:
            reader.read([crop])
        best_single = min(best_single, (time.perf_counter() - start) / len(crops))
        start = time.perf_counter()
        reader.read(crops)
        best_batch = min(best_batch, (time.perf_counter() - start) / len(crops))
    return 1000 * best_single, 1000 * best_batch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Exact-plate accuracy of an ONNX reader on real crops")
    parser.add_argument("folders", type=Path, nargs="+", help="folders with crops and manifest.csv")
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    reader = CordonReader(args.model)  # onnxruntime, float32 reader, one thread
    totals: Counter[str] = Counter()
    for folder in args.folders:
        score = score_folder(reader, folder)
        totals["exact"] += score.exact
        totals["total"] += score.total
        print(score.report())
    print(f"all: exact {totals['exact']}/{totals['total']} = {100 * totals['exact'] / max(totals['total'], 1):.1f} %")
    if not args.no_speed:
        single, batch = speed_ms(reader, args.folders[0])
        print(f"speed, one thread: {single:.2f} ms per crop one at a time, {batch:.2f} ms per crop batched")


if __name__ == "__main__":
    main()
