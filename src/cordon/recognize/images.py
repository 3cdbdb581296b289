"""Image files in, RGB arrays out, with one clear error per bad file (empty, corrupt, huge, unsupported)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"})
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000
"""A 40-megapixel image is already larger than any ANPR camera's frame; bigger files are refused, not
decoded (a decompression bomb would otherwise take the process's memory)."""

_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"RIFF", "WebP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"P5", "PGM"),
    (b"P6", "PPM"),
)


class ImageError(ValueError):
    """This file cannot be read as an image; the message says why, for a person."""


def _dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG or JPEG header, without decoding the pixels."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> npt.NDArray[np.uint8]:
    """Encoded image bytes to an RGB uint8 array, or `ImageError`."""
    if not data:
        raise ImageError("empty file")
    kind = next((name for magic, name in _SIGNATURES if data.startswith(magic)), None)
    if kind is None:
        raise ImageError("unsupported format (not JPEG, PNG, BMP, WebP, TIFF or PGM/PPM)")
    size = _dimensions(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageError(f"image too large: {size[0]}×{size[1]} pixels, at most {max_pixels:,} allowed")
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if decoded is None or decoded.size == 0:
        raise ImageError(f"corrupt or truncated {kind} file")
    height, width = decoded.shape[:2]
    if height * width > max_pixels:
        raise ImageError(f"image too large: {width}×{height} pixels, at most {max_pixels:,} allowed")
    return np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def load_image(path: Path, max_pixels: int = MAX_PIXELS) -> npt.NDArray[np.uint8]:
    """An image file as RGB, or `ImageError` saying what is wrong with it."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageError(f"file too large: {size:,} bytes, at most {MAX_FILE_BYTES:,}")
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None
    return decode_image(data, max_pixels)


def expand_paths(items: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the image files inside folders (recursively, sorted)."""
    for item in items:
        if item.is_dir():
            yield from sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield item


def monochrome(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The RGB image in grey, three equal channels: what a monochrome (infrared) camera gives the pipeline.
    Used to measure how the pipeline fares on such cameras (`bench/recognition.py --grey`, the dev-set tests)."""
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(np.repeat(luma[..., None], 3, axis=2))
