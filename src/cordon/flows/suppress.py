"""Small-cell suppression: no published figure rests on fewer than k passages or trips.

Three rules, applied to the *atoms* of a figure: its cells for one local day (a day's 15-minute counts at one
lane, a day's trips between two gates, ...). Every published number is an atom or a sum of published atoms.

1. **Primary**: an atom below k is suppressed (published as null, flagged).
2. **Complementary**: within each parent (the same atom one level up: the hour of a quarter, the day of an
   hour, all classes of a lane), if the suppressed children add up to less than k, more children are
   suppressed, smallest first, until they reach k: a parent total minus its published children can then never
   give away a group smaller than k.
3. **Sums of published atoms only**: totals over several days add up only the published day atoms, and
   periods are whole local days. Two overlapping queries therefore differ by a sum of published atoms, never by
   a small cell; that is what makes the suppression survive differencing between overlapping periods.

Split figures (a share: through / all, heavy / all) publish a day atom only when both parts are 0 or ≥ k.
This is not a complete answer to every combination of figures (that is the NP-hard cell-suppression problem);
docs/flows.md says what is and is not covered.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def primary(values: Mapping[K, int], k: int) -> set[K]:
    """Atoms below k (zero atoms say nothing about anyone and stay)."""
    return {key for key, value in values.items() if 0 < value < k}


Groups = dict[Hashable, list[K]]


def _groups(values: Mapping[K, int], parent: Callable[[K], Hashable]) -> Groups[K]:
    groups: Groups[K] = {}
    for key in values:
        groups.setdefault(parent(key), []).append(key)
    return groups


def _complete(
    values: Mapping[K, int],
    suppressed: set[K],
    parent: Callable[[K], Hashable],
    groups: dict[Hashable, list[K]],
    k: int,
) -> bool:
    """Grow `suppressed` within the parents it touches; returns whether it grew."""
    grew = False
    for group in {parent(key) for key in suppressed}:
        children = groups[group]
        hidden = sum(values[c] for c in children if c in suppressed)
        if hidden == 0 or hidden >= k:
            continue
        for child in sorted((c for c in children if c not in suppressed), key=lambda c: (values[c], repr(c))):
            suppressed.add(child)
            grew = True
            hidden += values[child]
            if hidden >= k:
                break
    return grew


def complementary(values: Mapping[K, int], suppressed: set[K], parent: Callable[[K], Hashable], k: int) -> set[K]:
    """`suppressed` grown so that, in every parent, the suppressed children add up to 0 or at least k."""
    grown = set(suppressed)
    _complete(values, grown, parent, _groups(values, parent), k)
    return grown


def protect(values: Mapping[K, int], k: int, parents: Sequence[Callable[[K], Hashable]] = ()) -> set[K]:
    """Primary suppression, then complementary suppression along each parent, repeated until it settles."""
    suppressed = primary(values, k)
    grouped = [(parent, _groups(values, parent)) for parent in parents]
    for _ in range(8):
        grew = False
        for parent, groups in grouped:
            grew = _complete(values, suppressed, parent, groups, k) or grew
        if not grew:
            break
    return suppressed


def split_publishable(part: int, whole: int, k: int) -> bool:
    """Whether a share `part / whole` may be published: the whole and both of its parts are 0 or ≥ k.

    >>> split_publishable(3, 40, 5), split_publishable(0, 40, 5), split_publishable(36, 40, 5)
    (False, True, False)
    """
    rest = whole - part
    return whole >= k and (part == 0 or part >= k) and (rest == 0 or rest >= k)
