"""Image files: each bad kind refused with a message a person understands, before any costly decoding."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from cordon.recognize.images import ImageError, decode_image, monochrome


def _jpeg_claiming(width: int, height: int) -> bytes:
    """The start of a JPEG whose frame header (SOF0) claims a size; no pixels follow."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"GIF89a\x01\x00\x01\x00", "unsupported format"),
        (b"%PDF-1.7", "unsupported format"),
        (_jpeg_claiming(60_000, 50_000), "image too large: 60000×50000 pixels"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "corrupt or truncated JPEG file"),
    ],
)
def test_bad_images_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        decode_image(data)


def test_images_come_back_as_rgb() -> None:
    bgr = np.zeros((20, 30, 3), np.uint8)
    bgr[..., 0] = 255  # blue in OpenCV's order
    ok, png = cv2.imencode(".png", bgr)
    assert ok
    rgb = decode_image(png.tobytes())
    assert rgb.shape == (20, 30, 3) and rgb[0, 0].tolist() == [0, 0, 255]


def test_monochrome_gives_three_equal_grey_channels() -> None:
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 2] = 200  # pure blue: dark in grey, as an EU band is
    grey = monochrome(rgb)
    assert grey.shape == rgb.shape and grey.dtype == np.uint8 and grey.flags["C_CONTIGUOUS"]
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert 0 < int(grey[0, 0, 0]) < 40
