"""Reuse of generated samples on the training device: a pool of recent batches and a small random warp.

Making a plate costs a few milliseconds of CPU; a training step on a GPU costs far less per sample. Drawing
extra steps from the recent batches, each moved, scaled and turned a little and re-standardised (as the
reader's preprocessing standardises every crop), keeps the GPU busy without teaching it one frozen picture.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812


class ReplayPool:
    """A ring of the last `batches` batches, kept on `device`."""

    def __init__(self, batches: int, device: torch.device) -> None:
        self.batches = max(1, batches)
        self.device = device
        self.images: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None
        self.size = 0
        self.next = 0

    def add(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        n = len(labels)
        if self.images is None or self.labels is None:
            self.images = torch.empty((self.batches * n, *images.shape[1:]), dtype=images.dtype, device=self.device)
            self.labels = torch.empty((self.batches * n, *labels.shape[1:]), dtype=labels.dtype, device=self.device)
        at = self.next * n
        self.images[at : at + n] = images
        self.labels[at : at + n] = labels
        self.next = (self.next + 1) % self.batches
        self.size = min(self.size + n, self.batches * n)

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.images is None or self.labels is None:
            raise RuntimeError("the pool is empty")
        index = torch.randint(self.size, (n,), device=self.device)
        return self.images[index], self.labels[index]


def jitter(images: torch.Tensor) -> torch.Tensor:
    """Small random affine warps and noise, then per-image standardisation again."""
    n = images.shape[0]
    dev = images.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.empty(n, device=dev).uniform_(low, high)

    angle = uniform(-2.5, 2.5) * math.pi / 180
    sx, sy = uniform(0.94, 1.06), uniform(0.92, 1.08)
    shear = uniform(-0.08, 0.08)
    theta = torch.zeros(n, 2, 3, device=dev)
    theta[:, 0, 0] = sx * torch.cos(angle)
    theta[:, 0, 1] = -torch.sin(angle) * sy + shear
    theta[:, 1, 0] = torch.sin(angle) * sx
    theta[:, 1, 1] = sy * torch.cos(angle)
    theta[:, 0, 2] = uniform(-0.03, 0.03)
    theta[:, 1, 2] = uniform(-0.06, 0.06)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = out + torch.randn_like(out) * uniform(0.0, 0.15).view(n, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    std = out.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
    return (out - mean) / std
