"""The slot head: attention from one learned query per character slot to the trunk's feature cells.

A fully connected head cannot find "the k-th character" when plates put their characters at varying places
(it has no way to count); self-attention over the 4 x 12 cells tells each cell where it stands among the
characters, and each slot's query then picks its own character, one line or two. Written with plain
layers (linear, matmul, softmax, layer norm) so that the ONNX export is straightforward.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cordon.recognize.reader.preprocess import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        n, tq, d = x.shape
        tk = context.shape[1]
        h = self.heads
        q = self.q(x).view(n, tq, h, d // h).transpose(1, 2)
        k, v = self.kv(context).view(n, tk, 2, h, d // h).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        mixed: torch.Tensor = self.out((weights @ v).transpose(1, 2).reshape(n, tq, d))
        return mixed


class Block(nn.Module):
    """Pre-norm attention block: self-attention, cross-attention when a context is given, then an MLP."""

    def __init__(self, dim: int, heads: int, cross: bool) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.cross = Attention(dim, heads) if cross else None
        self.norm_x, self.norm_c = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        y = self.norm1(x)
        x = x + self.drop(self.attn(y, y))
        if self.cross is not None and context is not None:
            x = x + self.drop(self.cross(self.norm_x(x), self.norm_c(context)))
        out: torch.Tensor = x + self.drop(self.mlp(self.norm2(x)))
        return out


class SlotHead(nn.Module):
    def __init__(
        self,
        channels: int = 128,
        dim: int = 64,
        heads: int = 4,
        encoders: int = 1,
        decoders: int = 2,
        slots: int = SLOTS,
    ) -> None:
        super().__init__()
        cells = (INPUT_HEIGHT // 16) * (INPUT_WIDTH // 16)
        self.proj = nn.Linear(channels, dim)
        self.position = nn.Parameter(torch.randn(1, cells, dim) * 0.02)
        self.encoder = nn.ModuleList([Block(dim, heads, cross=False) for _ in range(encoders)])
        self.queries = nn.Parameter(torch.randn(1, slots, dim) * 0.02)
        self.decoder = nn.ModuleList([Block(dim, heads, cross=True) for _ in range(decoders)])
        self.norm = nn.LayerNorm(dim)
        self.classify = nn.Linear(dim, len(ALPHABET))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, C, 4, 12) feature maps to (N, SLOTS, len(ALPHABET)) logits."""
        tokens = self.proj(features.flatten(2).transpose(1, 2)) + self.position
        for block in self.encoder:
            tokens = block(tokens)
        slots = self.queries.expand(features.shape[0], -1, -1)
        for block in self.decoder:
            slots = block(slots, tokens)
        logits: torch.Tensor = self.classify(self.norm(slots))
        return logits


class AttentionReader(nn.Module):
    """The reader as exported: the convolutional trunk, then the slot head; logits out."""

    def __init__(self, body: nn.Module, head: SlotHead) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.body(x))
        return logits
