"""Plate images on disk, addressed by their SHA-256, with a size limit and a format check."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


class ImageRejected(ValueError):
    """An image Cordon will not keep (too large, not an image); `reason` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image kept on disk."""

    sha256: str
    content_type: str
    size: int


def sniff_content_type(data: bytes) -> str | None:
    """`image/jpeg`, `image/png`, `image/webp` from the file's first bytes, else None."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(data: bytes, max_bytes: int) -> StoredImage:
    """Validate an image and compute its address, without writing it (pure)."""
    if len(data) > max_bytes:
        raise ImageRejected("image_too_large", f"image of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ImageRejected("image_format", "image is not a JPEG, PNG or WebP file")
    return StoredImage(hashlib.sha256(data).hexdigest(), content_type, len(data))


class ImageStore:
    """Images under `root/ab/abcdef...` by content hash: the same image is stored once."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, sha256: str) -> Path:
        """Where an image with this hash lives."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> StoredImage:
        """Write an image durably (fsync, then atomic rename) unless it is already there."""
        image = check_image(data, self.max_bytes)
        target = self.path_of(image.sha256)
        if target.exists():
            return image
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{image.sha256}.{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return image

    def get(self, sha256: str) -> bytes | None:
        """The image's bytes, or None when it is not (or no longer) stored."""
        path = self.path_of(sha256)
        return path.read_bytes() if path.exists() else None
