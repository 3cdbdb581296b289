"""Text lines inside a plate crop, rectified: RapidOCR's text detector (PP-OCRv6 det small, a DB segmentation
network shipped in the `rapidocr` wheel) marks text pixels, each region's rotated rectangle is grown by the
DB unclip ratio, and each line is warped flat. This undoes rotation and most of the perspective of plates seen
at an angle, and separates the plate's characters from small print (dealer names, stickers, band letters)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from cordon.recognize.engine import PORTABLE, Engine

Image = npt.NDArray[np.uint8]

WORK_HEIGHT = 128
"""The crop is scaled to this height for the detector (plate characters then stand about 60 px tall)."""
MAX_WIDTH = 640
PIXEL_THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6


def _ordered(points: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    sums, diffs = points.sum(axis=1), np.diff(points, axis=1)[:, 0]
    return np.array(
        [points[np.argmin(sums)], points[np.argmin(diffs)], points[np.argmax(sums)], points[np.argmax(diffs)]],
        dtype=np.float32,
    )


class TextLineFinder:
    """Finds and flattens the text lines of a plate crop; the lines of the plate's characters come back in
    reading order (top line first), small print left out."""

    def __init__(self, model_path: Path, engine: Engine = PORTABLE, min_height_share: float = 0.55) -> None:
        self._session = engine.session(model_path)
        self._input = self._session.input_names[0]
        self.min_height_share = min_height_share

    def lines(self, crop: Image) -> list[Image]:
        height, width = crop.shape[:2]
        if height < 8 or width < 16:
            return []
        scale = WORK_HEIGHT / height
        work_w = int(min(MAX_WIDTH, max(32, round(width * scale / 32) * 32)))
        scale_x, scale_y = work_w / width, WORK_HEIGHT / height
        resized = cv2.resize(crop[:, :, ::-1], (work_w, WORK_HEIGHT), interpolation=cv2.INTER_LINEAR)  # BGR
        tensor = (resized.astype(np.float32) * (2 / 255) - 1.0).transpose(2, 0, 1)[None]
        probs = np.asarray(self._session.run(None, {self._input: np.ascontiguousarray(tensor)})[0])[0, 0]
        mask = cv2.dilate((probs > PIXEL_THRESHOLD).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        boxes = []
        for contour in contours:
            if len(contour) < 4:
                continue
            (cx, cy), (bw, bh), angle = cv2.minAreaRect(contour)
            if min(bw, bh) < 4:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            region = mask[y : y + h, x : x + w].astype(bool)
            if float(probs[y : y + h, x : x + w][region].mean()) < BOX_THRESHOLD:
                continue
            grow = bw * bh * UNCLIP_RATIO / (2 * (bw + bh))  # DB's unclip distance
            corners = np.asarray(cv2.boxPoints(((cx, cy), (bw + 2 * grow, bh + 2 * grow), angle)), dtype=np.float32)
            corners[:, 0] /= scale_x
            corners[:, 1] /= scale_y
            boxes.append(_ordered(corners.astype(np.float32)))
        return self._flatten(crop, boxes)

    def _flatten(self, crop: Image, boxes: list[npt.NDArray[np.float32]]) -> list[Image]:
        if not boxes:
            return []
        heights = [float(np.linalg.norm(b[3] - b[0])) for b in boxes]
        tallest = max(heights)
        kept = [b for b, h in zip(boxes, heights, strict=True) if h >= self.min_height_share * tallest]
        # Boxes whose centres lie within 0.6 line heights of each other are one line (DB splits at dashes).
        rows: dict[int, list[npt.NDArray[np.float32]]] = {}
        for box in kept:
            rows.setdefault(round(float(box[:, 1].mean()) / (0.6 * tallest)), []).append(box)
        quads = [
            _ordered(np.asarray(cv2.boxPoints(cv2.minAreaRect(np.concatenate(rows[key]))), dtype=np.float32))
            for key in sorted(rows)
        ]
        lines = []
        for quad in quads:
            w = int(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
            h = int(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
            if w < 6 or h < 6:
                continue
            target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
            matrix = cv2.getPerspectiveTransform(quad, target)
            flat = cv2.warpPerspective(crop, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            lines.append(np.asarray(flat, dtype=np.uint8))
        return lines
