"""A zone's own real crops for training (`training.realdata`): labels checked before any training, and a reader
never scored on a crop it was trained on."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from training.realdata import load_crops, shared_crops, training_crops


def _folder(path: Path, rows: list[tuple[str, str]], seed: int = 0) -> Path:
    """A crop folder as `training/` reads it: PNG crops and manifest.csv (image,plate)."""
    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for name, _ in rows:
        cv2.imwrite(str(path / name), rng.integers(0, 255, (40, 160, 3), dtype=np.uint8))
    with (path / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "plate"])
        writer.writerows(rows)
    return path


def test_labels_are_normalised_and_named_by_folder(tmp_path: Path) -> None:
    one = _folder(tmp_path / "cam-north", [("a.png", "1-abc-234"), ("b.png", "AB 12 CD")])
    two = _folder(tmp_path / "cam-south", [("a.png", "2XYZ987")], seed=1)
    crops = training_crops([one, two])
    assert [(c.name, c.plate) for c in crops] == [
        ("cam-north/a.png", "1ABC234"),
        ("cam-north/b.png", "AB12CD"),
        ("cam-south/a.png", "2XYZ987"),
    ]


@pytest.mark.parametrize(
    ("plate", "reason"),
    [("1-ÄBC-234", "a character outside the reader's alphabet"), ("ABCDEFGHJKL", "too long"), ("", "empty")],
    ids=["umlaut", "too-long", "empty"],
)
def test_a_label_the_reader_cannot_learn_is_refused_at_its_line(tmp_path: Path, plate: str, reason: str) -> None:
    folder = _folder(tmp_path / "own", [("a.png", "1ABC234"), ("b.png", plate)])
    with pytest.raises(ValueError) as refused:
        training_crops([folder])
    assert f"{folder / 'manifest.csv'}, line 3" in str(refused.value) and reason in str(refused.value)


def test_a_crop_trained_on_is_found_among_the_scored_even_renamed(tmp_path: Path) -> None:
    trained = _folder(tmp_path / "train", [("a.png", "1ABC234"), ("b.png", "1ABC235")])
    scored = _folder(tmp_path / "score", [("x.png", "9ZZZ999"), ("y.png", "9ZZZ998")], seed=5)
    assert shared_crops(training_crops([trained]), load_crops(scored)) == []
    (scored / "y.png").write_bytes((trained / "b.png").read_bytes())  # the same crop under another name
    assert shared_crops(training_crops([trained]), load_crops(scored)) == ["y.png"]
