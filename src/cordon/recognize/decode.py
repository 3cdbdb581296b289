"""From what a reader saw (`SlotProbs`) to ranked plate candidates, with the country grammars as a prior.

Each candidate is scored as log P(characters | reader) + log prior(format) + a penalty per character left
out at either end (EU band letters, validity stickers, screws read as `1`). Look-alikes (0/O/D/Q, 1/I/L/T,
2/Z, 5/S, 6/G, 8/B: `cordon.plates.LOOKALIKE_CLASSES`) get a floor of `lookalike_floor` times their mate's
probability, so a confident `0` at a letter position still becomes `O`, at a known price; other
substitutions are floored far lower. A string that fits no format keeps its plain reader score with the
lowest prior: the grammar is a prior, never a filter. Confidences are a softmax over the candidates' scores
divided by `temperature` (calibration, see docs/recognition.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from cordon.plate_grammar import ALPHABET
from cordon.plates import LOOKALIKE_CLASSES, MAX_PLATE_LENGTH, matching_formats
from cordon.recognize.grammar import shape_tables
from cordon.recognize.stages import PAD, Candidate, SlotProbs
from cordon.traffic_mix import TrafficMix

_INDEX = {c: i for i, c in enumerate(ALPHABET)}
PRIMARY_LOOKALIKES = ("O0", "I1", "B8", "S5", "Z2", "G6")
"""The pairs readers confuse most; the other members of a class (D, Q, L, T) get a third of their floor."""


def _lookalike_weights() -> npt.NDArray[np.float32]:
    """(alphabet, alphabet): how much of character j's probability character i inherits as a floor."""
    weights = np.zeros((len(ALPHABET), len(ALPHABET)), dtype=np.float32)
    for cls in LOOKALIKE_CLASSES:
        for a in cls:
            for b in cls:
                if a != b and a in _INDEX and b in _INDEX:
                    primary = any(set(pair) == {a, b} for pair in PRIMARY_LOOKALIKES)
                    weights[_INDEX[a], _INDEX[b]] = 1.0 if primary else 1 / 3
    return weights


_LOOKALIKE_WEIGHTS = _lookalike_weights()
_MARGIN = 12.0
"""Shapes scoring this far (in nats) below the best candidate so far cannot reach the top-N."""


@dataclass(frozen=True)
class GrammarDecoder:
    """Decodes `SlotProbs` into candidates; all knobs are explicit and have defaults."""

    mix: TrafficMix = field(default_factory=TrafficMix)
    """The zone's traffic mix: each format's prior, and the format a candidate is given."""
    lookalike_floor: float = 0.1
    other_floor: float = 1e-4
    drop_penalty: float = -3.0
    max_drop: int = 2
    temperature: float = 1.0
    _priors_by_length: dict[int, npt.NDArray[np.float64]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        priors = {
            length: np.array([self.mix.prior(shape.fmt.name, shape.fmt.country) for shape in table.shapes])
            for length, table in shape_tables().items()
        }
        object.__setattr__(self, "_priors_by_length", priors)  # frozen: computed once, here

    def with_mix(self, entries: Mapping[str, float]) -> GrammarDecoder:
        """This decoder with a zone's own traffic-mix entries (`TrafficMix.with_entries`)."""
        return replace(self, mix=self.mix.with_entries(entries))

    def decode(self, slots: SlotProbs, top: int = 5) -> tuple[Candidate, ...]:
        probs = character_rows(slots)
        if len(probs) == 0:
            return ()
        scored: dict[str, float] = {}
        floored = self._floor(probs)
        logs = np.log(floored)
        n = len(probs)
        for lead in range(min(self.max_drop, n - 1) + 1):
            for trail in range(min(self.max_drop, n - 1 - lead) + 1):
                window = logs[lead : n - trail]
                penalty = self.drop_penalty * (lead + trail)
                self._score_window(window, penalty, scored)
        return self._rank(scored, top)

    def _floor(self, probs: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        # floor[r, i] = max_j probs[r, j] * weight[i, j]: a look-alike inherits part of its mate's probability.
        inherited = (probs[:, None, :] * _LOOKALIKE_WEIGHTS[None]).max(axis=2) * self.lookalike_floor
        out: npt.NDArray[np.float32] = np.maximum(np.maximum(probs, inherited), self.other_floor).astype(np.float32)
        return out

    def _score_window(self, logs: npt.NDArray[np.float32], penalty: float, scored: dict[str, float]) -> None:
        length = len(logs)
        if length > MAX_PLATE_LENGTH:
            return
        plain = "".join(ALPHABET[i] for i in logs.argmax(axis=1))
        base = penalty + float(logs.max(axis=1).sum())
        _keep(scored, plain, base + self._best_prior(plain))
        table = shape_tables().get(length)
        if table is None:
            return
        masked = np.where(table.masks, logs[None], -np.inf)  # (shapes, length, alphabet)
        best_idx = _last_argmax(masked)
        best = np.take_along_axis(masked, best_idx[..., None], axis=2)[..., 0]
        np.put_along_axis(masked, best_idx[..., None], -np.inf, axis=2)
        second_idx = _last_argmax(masked)  # the runner-up of each position, ties broken as a stable sort would
        second = np.take_along_axis(masked, second_idx[..., None], axis=2)[..., 0]
        priors = self._shape_priors(length)
        totals = best.sum(axis=1) + penalty + priors
        # Only shapes that can reach the top candidates are spelled out (the rest cost a string each).
        reachable = np.nonzero(totals >= max(scored.values(), default=-np.inf) - _MARGIN)[0]
        if reachable.size == 0:
            return
        loss = np.where(np.isfinite(second[reachable]), best[reachable] - second[reachable], np.inf)
        # Runner-up: the cheapest single change within the shape (gives top-N its second reading).
        rows = np.arange(reachable.size)
        pos = loss.argmin(axis=1)
        changed = loss[rows, pos]
        codes = _CODES[best_idx[reachable]]
        alt_codes = codes.copy()
        alt_codes[rows, pos] = _CODES[second_idx[reachable, pos]]
        texts, alts = codes.tobytes().decode("ascii"), alt_codes.tobytes().decode("ascii")
        for k, s in enumerate(reachable.tolist()):
            text = texts[k * length : (k + 1) * length]
            check = table.checked[s]
            pattern = table.shapes[s].fmt.pattern
            if not check or pattern.match(text):
                _keep(scored, text, float(totals[s]))
            if np.isfinite(changed[k]):
                alt = alts[k * length : (k + 1) * length]
                if not check or pattern.match(alt):
                    _keep(scored, alt, float(totals[s] - changed[k]))

    def _shape_priors(self, length: int) -> npt.NDArray[np.float64]:
        return self._priors_by_length[length]

    def _best_prior(self, text: str) -> float:
        formats = matching_formats(text)
        return max((self.mix.prior(f.name, f.country) for f in formats), default=self.mix.no_format_prior)

    def _rank(self, scored: dict[str, float], top: int) -> tuple[Candidate, ...]:
        if not scored:
            return ()
        texts = sorted(scored, key=lambda t: -scored[t])
        values = np.array([scored[t] for t in texts]) / self.temperature
        weights = np.exp(values - values.max())
        weights /= weights.sum()
        out = []
        for text, weight in zip(texts[:top], weights[:top], strict=False):
            fmt = self.mix.likeliest_format(text)
            out.append(
                Candidate(
                    plate=text,
                    confidence=round(float(weight), 4),
                    country=fmt.country if fmt else None,
                    format_name=fmt.name if fmt else None,
                    score=round(scored[text], 4),
                )
            )
        return tuple(out)


_CODES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
"""ALPHABET as ASCII codes: a row of indexes becomes a string in one `tobytes`."""


def _last_argmax(values: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
    """The index of the largest value along the last axis, the last one among equals."""
    last = values.shape[-1] - 1
    result: npt.NDArray[np.intp] = last - values[..., ::-1].argmax(axis=-1)
    return result


def _keep(scored: dict[str, float], text: str, value: float) -> None:
    if value > scored.get(text, -np.inf):
        scored[text] = value


def character_rows(slots: SlotProbs) -> npt.NDArray[np.float32]:
    """The slots that hold a character (PAD not the most likely), as distributions over `ALPHABET`.

    Works with any reader alphabet: columns are matched by symbol, lower case counted as upper case, symbols
    outside `ALPHABET` ignored."""
    columns = np.full(len(ALPHABET), -1)
    pad_column = slots.alphabet.find(PAD)
    for j, symbol in enumerate(slots.alphabet):
        if symbol.upper() in _INDEX and columns[_INDEX[symbol.upper()]] < 0:
            columns[_INDEX[symbol.upper()]] = j
    probs = np.asarray(slots.probs, dtype=np.float32)
    rows = probs if pad_column < 0 else probs[probs.argmax(axis=1) != pad_column]
    out = np.where(columns[None] >= 0, rows[:, np.maximum(columns, 0)], 0.0).astype(np.float32)
    mass = out.sum(axis=1, keepdims=True)
    keep = mass[:, 0] > 0
    result: npt.NDArray[np.float32] = (out[keep] / mass[keep]).astype(np.float32)
    return result
