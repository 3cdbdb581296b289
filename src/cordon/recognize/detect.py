"""Plate detection with a YOLOv8 graph under onnxruntime: letterbox, inference, decoding of the few cells that
pass the score threshold (DFL), non-maximum suppression."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from cordon.recognize.engine import PORTABLE, Engine
from cordon.recognize.stages import Box, Detection
from cordon.recognize.yolo_onnx import INPUT_NAME, YoloSpec


@dataclass(frozen=True)
class Letterbox:
    """How an image was scaled and padded to the network's input."""

    scale: float
    pad_x: int
    pad_y: int


def letterbox(image: npt.NDArray[np.uint8], size: int, stride: int = 32) -> tuple[npt.NDArray[np.float32], Letterbox]:
    """Scale the longer side to `size`, pad each side to a multiple of `stride` (grey 114, as in training);
    return the NCHW float input and the transform."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    pad_w, pad_h = (-new_w) % stride, (-new_h) % stride
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    left, top = pad_w // 2, pad_h // 2
    padded = cv2.copyMakeBorder(resized, top, pad_h - top, left, pad_w - left, cv2.BORDER_CONSTANT, value=(114,) * 3)
    tensor = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
    tensor *= 1 / 255
    return tensor, Letterbox(scale, left, top)


def _dfl(logits: npt.NDArray[np.float32], reg_max: int) -> npt.NDArray[np.float32]:
    """Expected distance per side from the distribution focal loss bins: (n, 4·reg_max) -> (n, 4)."""
    bins = logits.reshape(-1, 4, reg_max)
    bins = np.exp(bins - bins.max(axis=2, keepdims=True))
    bins /= bins.sum(axis=2, keepdims=True)
    result: npt.NDArray[np.float32] = (bins * np.arange(reg_max, dtype=np.float32)).sum(axis=2)
    return result


def nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], threshold: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first; boxes are (x1, y1, x2, y2)."""
    order = list(np.argsort(-scores))
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        best = order.pop(0)
        keep.append(int(best))
        if not order:
            break
        rest = np.array(order)
        ix = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        iy = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = ix * iy
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = [int(i) for i, overlap in zip(rest, iou, strict=True) if overlap < threshold]
    return keep


class YoloPlateDetector:
    """A YOLOv8 plate detector (converted ONNX graph, see `models.converted_detector`)."""

    name = "yolov8n-plate"

    def __init__(
        self,
        onnx_path: Path,
        spec: YoloSpec,
        input_size: int = 640,
        retry_size: int | None = None,
        score_threshold: float = 0.15,
        iou_threshold: float = 0.5,
        engine: Engine = PORTABLE,
    ) -> None:
        self.spec = spec
        self.input_size = input_size
        self.retry_size = retry_size
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self._session = engine.session(onnx_path)
        self._logit = float(np.log(score_threshold / (1 - score_threshold)))

    def detect(self, image: npt.NDArray[np.uint8]) -> list[Detection]:
        """Plates in the image, best first. With `retry_size`, an image where nothing is found is searched
        again at that larger input size (for still photographs: small or distant plates; not for video, where
        most frames are empty and the retry would only cost time)."""
        found = self._detect(image, self.input_size)
        if not found and self.retry_size is not None and max(image.shape[:2]) > self.input_size:
            found = self._detect(image, min(self.retry_size, max(image.shape[:2])))
        return found

    def _detect(self, image: npt.NDArray[np.uint8], size: int) -> list[Detection]:
        tensor, transform = letterbox(image, size, max(self.spec.strides))
        maps = self._session.run(list(self.spec.outputs), {INPUT_NAME: tensor})
        boxes, scores = [], []
        box_channels = 4 * self.spec.reg_max
        for raw, stride in zip(maps, self.spec.strides, strict=True):
            head = np.asarray(raw, dtype=np.float32)[0]
            logits = head[box_channels:].max(axis=0)  # best class per cell
            ys, xs = np.nonzero(logits > self._logit)
            if ys.size == 0:
                continue
            dist = _dfl(head[:box_channels, ys, xs].T, self.spec.reg_max)
            cx, cy = xs + 0.5, ys + 0.5
            corners = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1) * stride
            boxes.append(corners)
            scores.append(1 / (1 + np.exp(-logits[ys, xs])))
        if not boxes:
            return []
        all_boxes = np.concatenate(boxes).astype(np.float32)
        all_scores = np.concatenate(scores).astype(np.float32)
        height, width = image.shape[:2]
        found = []
        for index in nms(all_boxes, all_scores, self.iou_threshold):
            x1, y1, x2, y2 = all_boxes[index]
            left = int(np.clip((x1 - transform.pad_x) / transform.scale, 0, width - 1))
            top = int(np.clip((y1 - transform.pad_y) / transform.scale, 0, height - 1))
            right = int(np.clip(np.ceil((x2 - transform.pad_x) / transform.scale), left + 1, width))
            bottom = int(np.clip(np.ceil((y2 - transform.pad_y) / transform.scale), top + 1, height))
            found.append(Detection(Box(left, top, right - left, bottom - top), float(all_scores[index])))
        return found
