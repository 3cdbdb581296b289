"""The hotlist matching index: exact plates, look-alike keys, and deletion neighbourhoods for edit distance.

Built once from the hotlist entries, then asked for every read (50,000 a second), so a lookup is a handful of
dictionary probes whatever the number of entries:

- **exact**: normalised plate -> entries (every entry, whatever its list's mode);
- **look-alike**: look-alike key (:func:`cordon.plates.lookalike_key`) -> entries of lists matched by
  look-alike class or by edit distance;
- **edit distance** (symmetric delete): every string obtained by deleting up to k characters from an entry's
  look-alike key -> those keys. Two keys within edit distance k share at least one such deletion variant, so
  the read's own variants (8 probes for a 7-character plate and k = 1) find every candidate key, which is then
  verified with a bounded Levenshtein. Distance is counted between look-alike keys: a look-alike substitution
  (0/O, 8/B, ...) costs nothing, any other edit costs 1; so `fuzzy` finds everything `lookalike` finds.

The alternative, buckets of entries by length scanned with a bounded Levenshtein, costs one distance per entry
of three buckets for every read: with 20,000 entries it ran at about 10 reads/s where the deletion index ran
at about 100,000 (k = 1, one core). The neighbours of a key are remembered, since a vehicle is read at several
cameras within minutes.

>>> from datetime import UTC, datetime
>>> entry = HotlistEntry("stolen", "hl-1", "1ABC234", "BE", "stolen_vehicle", 1, "stolen",
...                      datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
>>> index = HotlistIndex([entry], lambda list_id: "fuzzy", max_distance=1)
>>> [(m.mode, m.distance) for m in index.match(("1A8C234",), datetime(2026, 6, 1, tzinfo=UTC))]
[('lookalike', 0)]
>>> [(m.mode, m.distance) for m in index.match(("1ABC2345",), datetime(2026, 6, 1, tzinfo=UTC))]
[('fuzzy', 1)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cordon.plates import edit_distance, lookalike_key
from cordon.reference import HotlistEntry

MatchMode = Literal["exact", "lookalike", "fuzzy"]

#: Modes from the strictest to the loosest; each mode also finds what the stricter ones find.
MODE_RANK: dict[MatchMode, int] = {"exact": 0, "lookalike": 1, "fuzzy": 2}

#: Look-alike keys whose edit-distance neighbours are remembered (a vehicle is read at several cameras within
#: minutes); the memory is dropped whole when full and whenever an entry is added.
NEAR_CACHE_SIZE = 100_000


@dataclass(frozen=True, slots=True)
class Match:
    """One entry matched by one read: how, and on what."""

    entry: HotlistEntry
    mode: MatchMode  # how it matched: the plate itself, its look-alike class, or within the edit distance
    candidate: int  # 0: the plate as read; k >= 1: the read's k-th candidate
    plate: str  # the normalised text that matched (the plate, or that candidate)
    distance: int  # edit distance between look-alike keys (0 for exact and look-alike matches)

    @property
    def rank(self) -> tuple[int, int, int]:
        """Lower is better: the strictest mode, then the plate before its candidates, then the distance."""
        return (MODE_RANK[self.mode], self.candidate, self.distance)


def deletion_variants(text: str, depth: int) -> set[str]:
    """`text` and every string made by deleting up to `depth` of its characters.

    >>> sorted(deletion_variants("ABC", 1))
    ['AB', 'ABC', 'AC', 'BC']
    """
    found = {text}
    layer = {text}
    for _ in range(depth):
        layer = {word[:i] + word[i + 1 :] for word in layer for i in range(len(word))}
        found |= layer
    return found


class HotlistIndex:
    """Hotlist entries indexed for matching a read's plate (and its candidates) by each list's mode."""

    def __init__(
        self, entries: Iterable[HotlistEntry], mode_of: Callable[[str], MatchMode], max_distance: int = 1
    ) -> None:
        if max_distance < 0:
            raise ValueError(f"max_distance must be >= 0, got {max_distance}")
        self._mode_of = mode_of
        self.max_distance = max_distance
        self._exact: dict[str, list[HotlistEntry]] = {}
        self._lookalike: dict[str, list[HotlistEntry]] = {}  # lists in `lookalike` or `fuzzy` mode
        self._fuzzy: dict[str, list[HotlistEntry]] = {}  # lists in `fuzzy` mode, by look-alike key
        self._deletions: dict[str, tuple[str, ...]] = {}  # deletion variant -> look-alike keys of `_fuzzy`
        self._near_cache: dict[str, tuple[tuple[str, int], ...]] = {}  # a plate is read at several cameras
        self.size = 0
        for entry in entries:
            self.add(entry)

    def add(self, entry: HotlistEntry) -> None:
        """Index one more entry (a list update; matching it against stored reads is the runner's job)."""
        mode = self._mode_of(entry.list_id)
        self._exact.setdefault(entry.plate, []).append(entry)
        self.size += 1
        self._near_cache.clear()
        if mode == "exact":
            return
        key = lookalike_key(entry.plate)
        self._lookalike.setdefault(key, []).append(entry)
        if mode == "fuzzy" and self.max_distance > 0:
            if key not in self._fuzzy:
                for variant in deletion_variants(key, self.max_distance):
                    self._deletions[variant] = (*self._deletions.get(variant, ()), key)  # mostly one key
            self._fuzzy.setdefault(key, []).append(entry)

    def match(self, plates: Sequence[str], at: datetime) -> list[Match]:
        """The entries valid at `at` that the plate as read (`plates[0]`) or its candidates (`plates[k]`, an
        empty string for a candidate to skip) match, each once with its best match, in entry order."""
        found: list[Match] = []
        keys: set[str] = set()
        for candidate, plate in enumerate(plates):
            if plate:
                found += self._matches(plate, candidate, at, keys)
        if len(found) <= 1:
            return found
        best: dict[tuple[str, str], Match] = {}
        for match in found:
            ident = (match.entry.list_id, match.entry.entry_id)
            known = best.get(ident)
            if known is None or match.rank < known.rank:
                best[ident] = match
        return [best[ident] for ident in sorted(best)]

    def _matches(self, plate: str, candidate: int, at: datetime, keys: set[str]) -> list[Match]:
        found = [Match(e, "exact", candidate, plate, 0) for e in self._exact.get(plate, ()) if e.valid_at(at)]
        if not self._lookalike:
            return found
        key = lookalike_key(plate)
        if key in keys:  # a look-alike of a better-ranked plate of the read: nothing new but exact hits
            return found
        keys.add(key)
        for entry in self._lookalike.get(key, ()):
            if entry.plate != plate and entry.valid_at(at):
                found.append(Match(entry, "lookalike", candidate, plate, 0))
        if self._deletions:
            for other, distance in self._near(key):
                found += [Match(e, "fuzzy", candidate, plate, distance) for e in self._fuzzy[other] if e.valid_at(at)]
        return found

    def _near(self, key: str) -> tuple[tuple[str, int], ...]:
        """Look-alike keys of `fuzzy` entries within the edit distance of `key` (itself excluded), with it."""
        cached = self._near_cache.get(key)
        if cached is None:
            if len(self._near_cache) >= NEAR_CACHE_SIZE:
                self._near_cache.clear()
            cached = self._near_cache[key] = self._search_near(key)
        return cached

    def _search_near(self, key: str) -> tuple[tuple[str, int], ...]:
        deletions, limit = self._deletions, self.max_distance
        near: set[str] = set()
        for variant in deletion_variants(key, limit):
            keys = deletions.get(variant)
            if keys is not None:
                near.update(keys)
        near.discard(key)  # same key: already a look-alike match
        out = []
        for other in near:
            distance = _within_one(key, other) if limit == 1 else edit_distance(key, other, limit)
            if distance <= limit:
                out.append((other, distance))
        return tuple(out)


def _within_one(a: str, b: str) -> int:
    """Levenshtein distance of two different strings when it is 1, else 2 (a fast path for k = 1)."""
    if len(a) == len(b):
        return 1 if sum(x != y for x, y in zip(a, b, strict=True)) == 1 else 2
    if len(a) < len(b):
        a, b = b, a
    if len(a) - len(b) != 1:
        return 2
    i = next((i for i in range(len(b)) if a[i] != b[i]), len(b))
    return 1 if a[i + 1 :] == b[i:] else 2
