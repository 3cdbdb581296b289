"""The CTC plate reader (PyTorch): a convolutional trunk that keeps the width, two rows of columns read as
one sequence by a bidirectional LSTM, one distribution per column over the alphabet with PAD as the CTC
blank.

Why: the slot readers (`model.py`, `head.py`) must learn where the k-th character stands, and on real plates
they double and drop characters when characters sit elsewhere than on synthetic ones. A CTC reader
classifies what each column shows and needs no count: the same glyph reads the same wherever it stands.
The trunk pools the height down to two rows and the sequence is the top row's columns then the bottom
row's, so a two-line plate is read top line first and a one-line plate in whichever row the network
chooses. The runtime turns the columns into `SlotProbs` (`cordon.recognize.ctc`).

Input (N, 1, 64, 192) from `cordon.recognize.reader.preprocess`; output logits (N, 2 * 48, len(ALPHABET)).
"""

from __future__ import annotations

import torch
from torch import nn

from cordon.recognize.ctc import runs
from cordon.recognize.reader.preprocess import ALPHABET
from cordon.recognize.stages import PAD

BLANK = ALPHABET.index(PAD)
ROWS = 2


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CtcReaderNet(nn.Module):
    def __init__(self, classes: int = len(ALPHABET), hidden: int = 128) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv(1, 32),
            nn.MaxPool2d(2),  # 32 x 96
            *_conv(32, 64),
            nn.MaxPool2d(2),  # 16 x 48
            *_conv(64, 96),
            *_conv(96, 96),
            nn.MaxPool2d((2, 1)),  # 8 x 48
            *_conv(96, 128),
            *_conv(128, 128),
            nn.MaxPool2d((2, 1)),  # 4 x 48
            *_conv(128, 160),
            nn.MaxPool2d((2, 1)),  # 2 x 48
            nn.Dropout2d(0.1),
        )
        self.rnn = nn.LSTM(160, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1)
        self.classify = nn.Linear(2 * hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.features(x)  # (N, C, ROWS, W)
        sequence = maps.permute(0, 2, 3, 1).flatten(1, 2)  # (N, ROWS * W, C): top row, then bottom row
        with torch.autocast(x.device.type, enabled=False):  # the LSTM in float32 under mixed precision
            out, _ = self.rnn(sequence.float())
        logits: torch.Tensor = self.classify(out)
        return logits


def ctc_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CTC loss of (N, T, C) logits against PAD-filled slot labels (N, SLOTS)."""
    log_probs = torch.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T, N, C)
    lengths = (labels != BLANK).sum(dim=1)
    steps = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long, device=logits.device)
    targets = labels[labels != BLANK]  # concatenated, as CTCLoss accepts
    return nn.functional.ctc_loss(log_probs, targets, steps, lengths, blank=BLANK, zero_infinity=True)


def greedy_text(logits: torch.Tensor) -> list[str]:
    """Best path per sample: the best symbol per column, repeats merged, blanks dropped."""
    best = logits.argmax(dim=-1).cpu().numpy()
    return ["".join(ALPHABET[symbol] for _, _, symbol in runs(row, BLANK)) for row in best]
