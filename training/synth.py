"""Synthetic plate crops with their labels, deterministic by seed.

>>> crop, label = make_sample(7)
>>> crop.dtype, crop.ndim, crop.shape[2], label == make_sample(7)[1]
(dtype('uint8'), 3, 3, True)

Command line: write a contact sheet and a few crops to look at,
``python -m training.synth --count 48 --out /tmp/synth``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import numpy.typing as npt

from training.render import render_plate
from training.scene import photograph
from training.texts import FORMATS, PlateText, sample_text

Image = npt.NDArray[np.uint8]


def render_sample(text: PlateText, rng: np.random.Generator) -> Image:
    """One photographed crop of the plate `text`, RGB uint8."""
    infrared = rng.random() < 0.12
    height = int(rng.integers(56, 100))
    plate = render_plate(text, rng, height, infrared=infrared)
    return photograph(plate, rng, infrared)


def make_sample(seed: int, fmt: str | None = None) -> tuple[Image, str]:
    """The crop and label of sample number `seed` (of format `fmt`, or of one drawn by the format shares)."""
    rng = np.random.default_rng(seed)
    text = sample_text(rng, fmt)
    return render_sample(text, rng), text.label


def contact_sheet(samples: list[tuple[Image, str]], columns: int = 6) -> Image:
    import cv2

    from training.glyphs import draw_glyph

    tiles = []
    for crop, label in samples:
        tile = np.full((96, 224, 3), 255, np.uint8)
        tile[:64] = cv2.resize(crop, (224, 64), interpolation=cv2.INTER_AREA)
        for i, ch in enumerate(label):
            glyph = draw_glyph(ch, 22, 12, 2.5)
            tile[70:92, 4 + i * 16 : 16 + i * 16][glyph > 128] = 0
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> None:
    import cv2

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=sorted(FORMATS), default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    samples = [make_sample(args.seed + i, args.format) for i in range(args.count)]
    cv2.imwrite(str(args.out / "sheet.png"), cv2.cvtColor(contact_sheet(samples), cv2.COLOR_RGB2BGR))
    for i, (crop, label) in enumerate(samples[:12]):
        cv2.imwrite(str(args.out / f"{i:03d}_{label}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
