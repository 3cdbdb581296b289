"""Scoring a recogniser on an annotated set (a folder with `manifest.csv`): exact top-1 plate accuracy, for
full scenes (end to end) or plate crops (reader only), with the calibration of the confidences. Shared by
`bench/recognition.py` and the tests."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cordon.recognize.images import load_image
from cordon.recognize.pipeline import Image, Recognizer
from cordon.recognize.stages import Box, Recognition

Prepare = Callable[[Image], Image]
"""A change applied to each image before recognition (for example to grey, as a monochrome camera sees it)."""


@dataclass(frozen=True)
class Sample:
    """One annotated image: the plate's text and, for scenes, its box."""

    path: Path
    plate: str
    box: Box | None = None


def read_manifest(folder: Path) -> list[Sample]:
    """`manifest.csv` of a set: `image,plate[,x,y,w,h,...]`."""
    with (folder / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Sample(
            folder / row["image"],
            row["plate"],
            Box(int(row["x"]), int(row["y"]), int(row["w"]), int(row["h"])) if row.get("x") else None,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    read: str | None
    confidence: float

    @property
    def exact(self) -> bool:
        return self.read == self.sample.plate


@dataclass(frozen=True)
class Score:
    """Exact top-1 accuracy over a set, and how well the confidences match it."""

    outcomes: tuple[Outcome, ...]

    @property
    def accuracy(self) -> float:
        return sum(o.exact for o in self.outcomes) / max(1, len(self.outcomes))

    @property
    def found(self) -> float:
        """Share of samples where some plate was read (right or wrong)."""
        return sum(o.read is not None for o in self.outcomes) / max(1, len(self.outcomes))

    def calibration_error(self, bins: int = 5) -> float:
        """Expected calibration error of the top-1 confidence (0: confidences are accuracies)."""
        total = 0.0
        for b in range(bins):
            low, high = b / bins, (b + 1) / bins
            group = [o for o in self.outcomes if low <= o.confidence < high or (b == bins - 1 and o.confidence == 1)]
            if group:
                accuracy = sum(o.exact for o in group) / len(group)
                confidence = sum(o.confidence for o in group) / len(group)
                total += len(group) * abs(accuracy - confidence)
        return total / max(1, len(self.outcomes))

    def misses(self) -> list[tuple[str, str, str | None]]:
        return [(o.sample.path.name, o.sample.plate, o.read) for o in self.outcomes if not o.exact]


def pick(found: Sequence[Recognition], truth: Box | None) -> Recognition | None:
    """The reading of the annotated plate: the recognition on its box, else the most confident one."""
    if truth is not None:
        on_plate = [r for r in found if r.box is not None and r.box.iou(truth) >= 0.3]
        if on_plate:
            return max(on_plate, key=lambda r: r.box.iou(truth) if r.box is not None else 0.0)
    return max(found, key=lambda r: r.best.confidence, default=None)


def score(samples: Sequence[Sample], recognise: Callable[[Sample], list[Recognition]]) -> Score:
    """Run `recognise` on every sample and compare its reading with the annotation."""
    outcomes = []
    for sample in samples:
        chosen = pick(recognise(sample), sample.box)
        outcomes.append(
            Outcome(sample, chosen.best.plate if chosen else None, chosen.best.confidence if chosen else 0.0)
        )
    return Score(tuple(outcomes))


def scenes(recognizer: Recognizer, samples: Sequence[Sample], prepare: Prepare | None = None) -> Score:
    """End to end on full images (each passed through `prepare` first, when given: another camera's look)."""
    load = _loader(prepare)
    return score(samples, lambda s: recognizer.recognize(load(s.path)))


def crops(recognizer: Recognizer, samples: Sequence[Sample], prepare: Prepare | None = None) -> Score:
    """Reader only, on plate crops (each passed through `prepare` first, when given)."""
    load = _loader(prepare)
    return score(samples, lambda s: [r] if (r := recognizer.read_crop(load(s.path))) is not None else [])


def _loader(prepare: Prepare | None) -> Callable[[Path], Image]:
    return load_image if prepare is None else lambda path: prepare(load_image(path))
