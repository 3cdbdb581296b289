"""Crop and rectify a plate for the reader: a margin around the detector's box, the small rotation of the
characters undone, the blue EU band (country letters) cut off, two-line plates split into their lines.
All cheap image operations (OpenCV), each a pure function of its input."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from cordon.recognize.stages import Box

Image = npt.NDArray[np.uint8]

TWO_LINE_ASPECT = 1.7
"""A plate crop narrower than this (width / height) is taken as two lines (motorcycles, square plates)."""


def crop(image: Image, box: Box, margin: float = 0.08) -> Image:
    """The box with a margin (a fraction of its height on every side), clipped to the image."""
    height, width = image.shape[:2]
    pad = max(1, round(box.h * margin))
    x1, y1 = max(0, box.x - pad), max(0, box.y - pad)
    x2, y2 = min(width, box.x2 + pad), min(height, box.y2 + pad)
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def widened(box: Box, fraction: float, width: int) -> Box:
    """The box grown by `fraction` of its width on the left and on the right, clipped to an image `width` wide.

    >>> widened(Box(100, 50, 80, 20), 0.5, 1000)
    Box(x=60, y=50, w=160, h=20)
    >>> widened(Box(10, 50, 80, 20), 0.5, 120)
    Box(x=0, y=50, w=120, h=20)
    """
    grow = round(box.w * fraction)
    left, right = max(0, box.x - grow), min(width, box.x2 + grow)
    return Box(left, box.y, right - left, box.h)


def deskew(plate: Image, max_angle: float = 20.0) -> Image:
    """Undo a small in-plane rotation: the angle of the long edges of the characters' bounding region (dark
    or bright strokes), found by a minimum-area rectangle over strong gradients. Unchanged when unsure."""
    gray = cv2.cvtColor(plate, cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    if height < 12 or width < 24:
        return plate
    edges = cv2.Canny(gray, 60, 180)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=max(10, width // 4), minLineLength=width // 2,
                            maxLineGap=max(3, width // 30))  # fmt: skip
    if lines is None:
        return plate
    angles = []
    for x1, y1, x2, y2 in np.asarray(lines).reshape(-1, 4):
        angle = float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))
        if abs(angle) <= max_angle:
            angles.append(angle)
    if not angles:
        return plate
    angle = float(np.median(angles))
    if abs(angle) < 1.5:
        return plate
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    rotated = cv2.warpAffine(plate, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(rotated, dtype=np.uint8)


def _band_end(blue: npt.NDArray[np.bool_], width: int) -> int:
    """How many columns from the left edge a blue band covers (0: none): a run of columns at least half as
    blue as the bluest column of the first 12 % of the width, ending within the first 16 %."""
    share = blue.mean(axis=0)
    head = share[: max(1, int(width * 0.12))]
    peak = float(head.max())
    if peak < 0.3:
        return 0
    threshold = peak / 2
    end = int(np.argmax(head >= threshold))
    start = end
    while end < int(width * 0.16) and share[end] >= threshold:
        end += 1
    return end if end - start >= max(2, width // 40) else 0


def cut_eu_band(plate: Image) -> Image:
    """Cut the blue EU band (stars, country letters) off the left of a plate, when there is one."""
    width = plate.shape[1]
    if width < 20:
        return plate
    hsv = cv2.cvtColor(plate, cv2.COLOR_RGB2HSV)
    # OpenCV hue is 0-180: blue is about 100-130; the band is saturated and not too dark.
    blue = (hsv[..., 0] >= 95) & (hsv[..., 0] <= 135) & (hsv[..., 1] >= 90) & (hsv[..., 2] >= 50)
    if blue.mean() > 0.45:  # a blue plate (old NL, some reversed colour plates): keep all
        return plate
    # Only the left band is cut: cutting the French region band on the right as well lost more characters
    # than it saved on the dev sets; the decoder drops its digits (a departement number) when they do not fit.
    left = _band_end(blue, width)
    return np.ascontiguousarray(plate[:, left:]) if left else plate


def split_lines(plate: Image) -> list[Image]:
    """One crop per text line: two for a squarish plate (split at the emptiest row between 30 % and 70 % of
    the height), else the plate itself."""
    height, width = plate.shape[:2]
    if height == 0 or width / height >= TWO_LINE_ASPECT:
        return [plate]
    gray = cv2.cvtColor(plate, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ink = gray.std(axis=1)  # a row between two lines is flat
    low, high = int(height * 0.3), max(int(height * 0.7), int(height * 0.3) + 1)
    cut = low + int(np.argmin(ink[low:high]))
    top, bottom = plate[:cut], plate[cut:]
    if top.shape[0] < 6 or bottom.shape[0] < 6:
        return [plate]
    return [np.ascontiguousarray(top), np.ascontiguousarray(bottom)]
