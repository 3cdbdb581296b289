"""Real plate crops: a folder of crops with `manifest.csv` (image,plate[,format]), to score a reader on or, for
a zone with its own (lawfully held, licensed) plates, to train it further (`train.py --train-real`).

`be-crops-dev` is already such a folder. `plates-eu-dev` holds whole photographs with a plate box each; this
module cuts them as a detector would (each side moved by a seeded random share of the box, mostly outwards),
one crop per photograph, so the same seed always gives the same crops:

``python -m training.realdata --images ../shared/data/plates-eu-dev --out .devdata/fr-crops``
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Crop:
    name: str
    plate: str
    format: str
    rgb: Image


def load_crops(folder: Path) -> list[Crop]:
    """Every crop listed in `folder/manifest.csv`, in manifest order, as RGB."""
    crops = []
    with (folder / "manifest.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            bgr = cv2.imread(str(folder / row["image"]), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read {folder / row['image']}")
            rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            crops.append(Crop(row["image"], row["plate"], row.get("format", ""), rgb))
    return crops


def training_crops(folders: Sequence[Path]) -> list[Crop]:
    """Every crop of `folders` for training, each label checked: the plate normalised (upper case, separators
    dropped) and refused, naming its folder and line, when the reader cannot learn it (a character outside
    its alphabet, more characters than its slots). Nothing is trained on a wrong label."""
    from cordon.plates import normalize_plate
    from cordon.recognize.reader.preprocess import encode_label

    crops: list[Crop] = []
    for folder in folders:
        for line, crop in enumerate(load_crops(folder), start=2):  # line 1 is the header
            try:
                plate = normalize_plate(crop.plate)
                encode_label(plate)
            except ValueError as exc:  # cordon.plates.InvalidPlate included
                raise ValueError(f"{folder / 'manifest.csv'}, line {line}: {exc}") from None
            crops.append(Crop(f"{folder.name}/{crop.name}", plate, crop.format, crop.rgb))
    return crops


def shared_crops(trained: Sequence[Crop], scored: Sequence[Crop]) -> list[str]:
    """Names of the scored crops whose pixels are also among the trained ones (a copy under another name or in
    another folder counts): a reader must never be scored on what it was trained on."""
    seen = {_pixels(crop) for crop in trained}
    return [crop.name for crop in scored if _pixels(crop) in seen]


def _pixels(crop: Crop) -> str:
    return hashlib.sha256(str(crop.rgb.shape).encode() + crop.rgb.tobytes()).hexdigest()


def cut_plates(images: Path, out: Path, seed: int = 0) -> int:
    """Cut one jittered crop per annotated plate of `images/manifest.csv` into `out`; return the count."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with (images / "manifest.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            bgr = cv2.imread(str(images / row["image"]), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read {images / row['image']}")
            x, y, w, h = (int(row[k]) for k in ("x", "y", "w", "h"))
            rng = np.random.default_rng([seed, zlib.crc32(row["image"].encode())])
            dx0, dx1 = (rng.uniform(-0.02, 0.08, 2) * w).tolist()
            dy0, dy1 = (rng.uniform(-0.04, 0.2, 2) * h).tolist()
            x0, x1 = max(0, round(x - dx0)), min(bgr.shape[1], round(x + w + dx1))
            y0, y1 = max(0, round(y - dy0)), min(bgr.shape[0], round(y + h + dy1))
            name = Path(row["image"]).stem + ".png"
            cv2.imwrite(str(out / name), bgr[y0:y1, x0:x1])
            rows.append({"image": name, "plate": row["plate"], "format": row.get("format", "")})
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "plate", "format"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Cut plate crops out of annotated photographs")
    parser.add_argument("--images", type=Path, required=True, help="folder with manifest.csv image,plate,x,y,w,h")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{cut_plates(args.images, args.out, args.seed)} crops written to {args.out}")


if __name__ == "__main__":
    main()
