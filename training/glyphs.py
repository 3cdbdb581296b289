"""A monoline plate typeface drawn by code, in the manner of DIN 1451 / FE-Schrift that plates use.

Each glyph is a list of strokes in a box 1 wide and 2 high (y down); arcs are given by centre, radii and
angles in degrees (0 right, 90 down). Drawing them with a varying stroke width, width and slant gives many
plausible plate faces with no font file at all.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

Point = tuple[float, float]
Stroke = list[Point]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, steps: int = 12) -> Stroke:
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in np.linspace(a0, a1, steps).tolist()
    ]


def _stadium(left: float = 0.0, right: float = 1.0) -> Stroke:
    r = (right - left) / 2
    c = left + r
    return [*_arc(c, r, r, r, 180, 360), *_arc(c, 2 - r, r, r, 0, 180), (left, r)]


_BOWL_TOP = _arc(0.5, 0.5, 0.5, 0.5, 270, 450)

GLYPHS: dict[str, list[Stroke]] = {
    "0": [_stadium()],
    "1": [[(0.15, 0.45), (0.65, 0.0), (0.65, 2.0)]],
    "2": [[*_arc(0.5, 0.5, 0.5, 0.5, 190, 380), (0.0, 2.0), (1.0, 2.0)]],
    "3": [[(0.05, 0.0), (0.95, 0.0), (0.4, 0.85), *_arc(0.45, 1.42, 0.55, 0.58, 270, 500)]],
    "4": [[(0.78, 2.0), (0.78, 0.0), (0.0, 1.45), (1.0, 1.45)]],
    "5": [[(0.92, 0.0), (0.1, 0.0), (0.04, 0.92), *_arc(0.48, 1.4, 0.52, 0.6, 232, 505)]],
    "6": [_arc(0.5, 1.42, 0.5, 0.58, 0, 360), [(0.02, 1.35), (0.62, 0.0)]],
    "7": [[(0.0, 0.0), (1.0, 0.0), (0.3, 2.0)]],
    "8": [_arc(0.5, 0.47, 0.42, 0.47, 0, 360), _arc(0.5, 1.47, 0.5, 0.53, 0, 360)],
    "9": [_arc(0.5, 0.58, 0.5, 0.58, 0, 360), [(0.98, 0.65), (0.38, 2.0)]],
    "A": [[(0.0, 2.0), (0.5, 0.0), (1.0, 2.0)], [(0.17, 1.35), (0.83, 1.35)]],
    "B": [
        [(0.0, 1.0), (0.0, 0.0), (0.55, 0.0), *_arc(0.55, 0.48, 0.4, 0.48, 270, 450), (0.0, 0.96)],
        [(0.0, 0.96), (0.55, 0.96), *_arc(0.55, 1.48, 0.45, 0.52, 270, 450), (0.0, 2.0), (0.0, 0.9)],
    ],
    "C": [[*_arc(0.5, 0.5, 0.5, 0.5, 340, 180), (0.0, 1.5), *_arc(0.5, 1.5, 0.5, 0.5, 180, 20)]],
    "D": [
        [(0.0, 0.0), (0.45, 0.0), *_arc(0.45, 0.55, 0.55, 0.55, 270, 360), *_arc(0.45, 1.45, 0.55, 0.55, 0, 90)],
        [(0.45, 2.0), (0.0, 2.0), (0.0, 0.0)],
    ],
    "E": [[(1.0, 0.0), (0.0, 0.0), (0.0, 2.0), (1.0, 2.0)], [(0.0, 1.0), (0.8, 1.0)]],
    "F": [[(1.0, 0.0), (0.0, 0.0), (0.0, 2.0)], [(0.0, 1.0), (0.8, 1.0)]],
    "G": [
        [*_arc(0.5, 0.5, 0.5, 0.5, 340, 180), (0.0, 1.5), *_arc(0.5, 1.5, 0.5, 0.5, 180, 0), (1.0, 1.05), (0.55, 1.05)]
    ],
    "H": [[(0.0, 0.0), (0.0, 2.0)], [(1.0, 0.0), (1.0, 2.0)], [(0.0, 1.0), (1.0, 1.0)]],
    "I": [[(0.5, 0.0), (0.5, 2.0)]],
    "J": [[(1.0, 0.0), (1.0, 1.5), *_arc(0.5, 1.5, 0.5, 0.5, 0, 170)]],
    "K": [[(0.0, 0.0), (0.0, 2.0)], [(1.0, 0.0), (0.0, 1.25)], [(0.32, 0.88), (1.0, 2.0)]],
    "L": [[(0.0, 0.0), (0.0, 2.0), (1.0, 2.0)]],
    "M": [[(0.0, 2.0), (0.0, 0.0), (0.5, 1.3), (1.0, 0.0), (1.0, 2.0)]],
    "N": [[(0.0, 2.0), (0.0, 0.0), (1.0, 2.0), (1.0, 0.0)]],
    "O": [_stadium()],
    "P": [[(0.0, 2.0), (0.0, 0.0), (0.5, 0.0), *_BOWL_TOP, (0.0, 1.0)]],
    "Q": [_stadium(), [(0.6, 1.5), (1.05, 2.1)]],
    "R": [[(0.0, 2.0), (0.0, 0.0), (0.5, 0.0), *_BOWL_TOP, (0.0, 1.0)], [(0.45, 1.0), (1.0, 2.0)]],
    "S": [[*_arc(0.5, 0.5, 0.5, 0.5, 340, 130), *_arc(0.5, 1.5, 0.5, 0.5, 310, 520)]],
    "T": [[(0.0, 0.0), (1.0, 0.0)], [(0.5, 0.0), (0.5, 2.0)]],
    "U": [[(0.0, 0.0), (0.0, 1.5), *_arc(0.5, 1.5, 0.5, 0.5, 180, 0), (1.0, 0.0)]],
    "V": [[(0.0, 0.0), (0.5, 2.0), (1.0, 0.0)]],
    "W": [[(0.0, 0.0), (0.22, 2.0), (0.5, 0.6), (0.78, 2.0), (1.0, 0.0)]],
    "X": [[(0.0, 0.0), (1.0, 2.0)], [(1.0, 0.0), (0.0, 2.0)]],
    "Y": [[(0.0, 0.0), (0.5, 1.0), (1.0, 0.0)], [(0.5, 1.0), (0.5, 2.0)]],
    "Z": [[(0.0, 0.0), (1.0, 0.0), (0.0, 2.0), (1.0, 2.0)]],
}

WIDTH_FACTOR = {"I": 0.12, "1": 0.7, "M": 1.2, "W": 1.3, "O": 1.1, "Q": 1.1}
"""Relative advance of narrow and wide glyphs (1 for the rest)."""


def draw_glyph(ch: str, height: int, width: int, stroke: float, slant: float = 0.0) -> npt.NDArray[np.uint8]:
    """The glyph as a uint8 coverage mask of (height, width), strokes `stroke` pixels wide."""
    mask = np.zeros((height, width), np.uint8)
    half = stroke / 2
    inner_w = max(width - stroke, 1.0)
    inner_h = max(height - stroke, 1.0)
    shift = 4  # cv2 fixed-point: sub-pixel precision for anti-aliased strokes
    for line in GLYPHS[ch]:
        pts = []
        for x, y in line:
            px = half + x * inner_w + slant * (2.0 - y) / 2.0 * inner_h
            py = half + y / 2.0 * inner_h
            pts.append((round(px * (1 << shift)), round(py * (1 << shift))))
        cv2.polylines(
            mask,
            [np.array(pts, np.int32)],
            isClosed=False,
            color=255,
            thickness=max(1, round(stroke)),
            lineType=cv2.LINE_AA,
            shift=shift,
        )
    return mask
