"""The plate reader network (PyTorch): a small VGG-style CNN and one softmax per character slot.

Input (N, 1, 64, 192) from `cordon.recognize.reader.preprocess`; output logits (N, SLOTS, len(ALPHABET)).
Fixed slots instead of CTC: the reader's contract (`SlotProbs`) is one distribution per slot, and the decoder
weighs each slot's look-alikes against the country formats.
"""

from __future__ import annotations

import torch
from torch import nn

from cordon.recognize.reader.preprocess import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateReaderNet(nn.Module):
    def __init__(self, slots: int = SLOTS, classes: int = len(ALPHABET), width: int = 1) -> None:
        super().__init__()
        c1, c2, c3, c4 = 24 * width, 48 * width, 64 * width, 128 * width
        self.slots, self.classes = slots, classes
        self.features = nn.Sequential(
            *_block(1, c1),
            nn.MaxPool2d(2),  # 32 x 96
            *_block(c1, c2),
            nn.MaxPool2d(2),  # 16 x 48
            *_block(c2, c3),
            *_block(c3, c3),
            nn.MaxPool2d(2),  # 8 x 24
            *_block(c3, c4),
            *_block(c4, c4),
            nn.MaxPool2d(2),  # 4 x 12
            nn.Conv2d(c4, 48, 1, bias=False),
            nn.BatchNorm2d(48),
            nn.ReLU(inplace=True),
        )
        cells = (INPUT_HEIGHT // 16) * (INPUT_WIDTH // 16)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.15), nn.Linear(48 * cells, slots * classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.features(x))
        return logits.view(-1, self.slots, self.classes)


class WithSoftmax(nn.Module):
    """What is exported: probabilities, rows summing to 1."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x).float(), dim=-1)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def trunk(net: PlateReaderNet) -> nn.Sequential:
    """The convolutional body without its 1x1 bottleneck: (N, 128, 4, 12) feature maps."""
    return nn.Sequential(*list(net.features.children())[:-3])
