"""Typefaces for the synthetic plates: the code-drawn monoline face, plus the DejaVu fonts that matplotlib's
wheel ships (Bitstream Vera / DejaVu licence, free to use), when matplotlib is installed.

No font file lives in this repository and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from training.glyphs import WIDTH_FACTOR, draw_glyph

_TTF_NAMES = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif-Bold.ttf",
)


@lru_cache(maxsize=1)
def ttf_fonts() -> tuple[Path, ...]:
    """The DejaVu font files inside the installed matplotlib, or none."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return ()
    folder = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
    return tuple(folder / name for name in _TTF_NAMES if (folder / name).is_file())


@lru_cache(maxsize=4096)
def _ttf_glyph(path: Path, ch: str) -> npt.NDArray[np.uint8]:
    from PIL import Image, ImageDraw, ImageFont  # only the trainer and the generator's tests use Pillow

    font = ImageFont.truetype(str(path), 96)
    canvas = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(canvas).text((20, 10), ch, fill=255, font=font)
    mask = np.asarray(canvas)
    ys, xs = np.nonzero(mask > 40)
    return np.ascontiguousarray(mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


@dataclass(frozen=True)
class Face:
    """One drawn typeface: either the monoline face (path None) with a stroke weight and slant, or a TTF."""

    path: Path | None
    weight: float
    """Stroke width as a share of the character height (monoline face only)."""
    slant: float
    aspect: float
    """Character width over height for a glyph of width factor 1."""

    def advance(self, ch: str) -> float:
        if self.path is None:
            return WIDTH_FACTOR.get(ch, 1.0)
        if ch in "I1":
            return 0.55 if ch == "1" else 0.35
        return 1.0

    def draw(self, ch: str, height: int, width: int) -> npt.NDArray[np.uint8]:
        """A coverage mask of (height, width) for `ch`."""
        if self.path is None:
            return draw_glyph(ch, height, width, stroke=max(1.0, self.weight * height), slant=self.slant)
        glyph = _ttf_glyph(self.path, ch)
        resized = cv2.resize(glyph, (max(1, width), max(1, height)), interpolation=cv2.INTER_AREA)
        return np.asarray(resized, dtype=np.uint8)


def random_face(rng: np.random.Generator) -> Face:
    fonts = ttf_fonts()
    if fonts and rng.random() < 0.3:
        return Face(fonts[int(rng.integers(len(fonts)))], 0.0, 0.0, float(rng.uniform(0.45, 0.65)))
    slant = float(rng.uniform(-0.03, 0.08)) if rng.random() < 0.1 else 0.0
    return Face(None, float(rng.uniform(0.09, 0.17)), slant, float(rng.uniform(0.42, 0.6)))
