"""The grammar decoder's cost: CPU milliseconds per reading decoded with the default country grammars.

Readings are drawn at random (seeded), 6 to 9 characters: "sure" ones (one character per slot near 0.9, as a
reader gives for a clear plate) and "unsure" ones (flat distributions, as for a blurred plate, where many more
shapes stay within reach of the best candidate). No peer: this is one stage of the pipeline; the whole
pipeline against its peer is `bench/recognition.py`.

Run: .venv/bin/python bench/decode.py
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before numpy loads: one core

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_machine
from cordon.plate_grammar import ALPHABET, shapes
from cordon.recognize.decode import GrammarDecoder
from cordon.recognize.stages import SlotProbs


def readings(kind: str, count: int, seed: int) -> list[SlotProbs]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        length = int(rng.integers(6, 10))
        if kind == "sure":
            probs = rng.dirichlet(np.full(len(ALPHABET), 0.3), size=length) * 0.1
            probs[np.arange(length), rng.integers(0, len(ALPHABET), length)] += 0.9
        else:
            probs = rng.dirichlet(np.full(len(ALPHABET), 0.05), size=length)
        out.append(SlotProbs(ALPHABET, probs.astype(np.float32)))
    return out


def main() -> None:
    print_machine()
    decoder = GrammarDecoder()
    print(f"\nformats' shapes: {len(shapes())}")
    for kind in ("sure", "unsure"):
        batch = readings(kind, 300, seed=1)
        for slots in batch[:20]:
            decoder.decode(slots)  # warm-up: shape tables, regular expressions
        rounds = []
        for _ in range(5):
            started = time.process_time()
            for slots in batch:
                decoder.decode(slots)
            rounds.append((time.process_time() - started) * 1000 / len(batch))
        print(f"{kind:>6} readings: {statistics.median(rounds):.2f} ms CPU per decode (median of 5 rounds of 300)")


if __name__ == "__main__":
    main()
