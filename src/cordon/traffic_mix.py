"""A zone's traffic mix: the share of its traffic each plate format has, and the one rule that picks a plate's
format (and so its country) from it.

Many texts fit several countries' layouts: `AB1234` is a Luxembourg plate and a Dutch side-code-1 plate,
`12AB34` a Dutch and a French one. Wherever Cordon must name one format, it takes the format under which this
very string is the likeliest: the format's share of traffic over the number of strings of that length the
format has (`likeliest_format`). The same rule serves the recogniser's decoder, the vote over a video track
and ingest, for a camera that sends no country. A zone near the Dutch border sets its own mix (zone file
`traffic_mix`, `cordon recognize --traffic-mix`); the default is a Belgian zone's.

>>> TrafficMix().country_of("AB1234"), TrafficMix().with_entries({"NL": 0.2}).country_of("AB1234")
('LU', 'NL')
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from cordon.plate_grammar import format_strings
from cordon.plates import FORMATS, PlateFormat, matching_formats, normalize_plate

DEFAULT_SHARES: dict[str, float] = {
    "BE current": 0.60,
    "BE 1973-2008": 0.02,
    "BE 2008-2010": 0.03,
    "BE current (index 3-9)": 0.005,
    "BE personalised 2010-2014": 0.002,
    "BE temporary": 0.003,
    "BE personalised": 0.0005,
    "LU numeric": 0.002,
    "LU old": 0.002,
}
"""Assumed share of traffic by format in a Belgian zone near a border (set per zone when known); formats not
listed share their country's share in `DEFAULT_COUNTRY_SHARES` equally (the fourteen Dutch side codes split
the Dutch share; each does not get all of it)."""
DEFAULT_COUNTRY_SHARES: dict[str, float] = {
    "BE": 0.01,
    "NL": 0.05,
    "FR": 0.04,
    "DE": 0.03,
    "LU": 0.01,
    "PL": 0.01,
    "ES": 0.004,
    "CZ": 0.002,
    "BG": 0.002,
    "CH": 0.002,
}
NO_FORMAT_SHARE = 0.0002
"""The catch-alls (`BE personalised`, and no format at all) stand for far more strings than any real format,
so each string of theirs is far less likely: their shares sit well below their share of traffic."""
REFERENCE_FORMAT = "BE current"
"""Priors are given relative to this format's share (its prior is 0)."""


@dataclass(frozen=True)
class TrafficMix:
    """Shares of traffic by format and by country; every method is pure."""

    shares: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))
    country_shares: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COUNTRY_SHARES))
    no_format_share: float = NO_FORMAT_SHARE
    _unlisted: Counter[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unlisted = Counter(fmt.country for fmt in FORMATS if fmt.name not in self.shares)
        object.__setattr__(self, "_unlisted", unlisted)  # frozen: computed once, here

    def with_entries(self, entries: Mapping[str, float]) -> TrafficMix:
        """This mix with a zone's own entries (checked by `check_traffic_mix`): each key a country code (its
        formats without a share of their own split it) or a format name of `cordon.plates.FORMATS`, each value
        a share of traffic.

        >>> TrafficMix().with_entries({"NL": 0.2}).share("NL sidecode 1", "NL") == 0.2 / 14
        True
        """
        formats = {fmt.name for fmt in FORMATS}
        shares, countries = dict(self.shares), dict(self.country_shares)
        for key, share in check_traffic_mix(entries).items():
            (shares if key in formats else countries)[key] = share
        return replace(self, shares=shares, country_shares=countries)

    def share(self, format_name: str, country: str) -> float:
        """The assumed share of traffic of a format: its own, else an equal part of its country's."""
        share = self.shares.get(format_name)
        if share is None:
            share = self.country_shares.get(country, 0.01) / max(1, self._unlisted.get(country, 1))
        return share

    def prior(self, format_name: str, country: str) -> float:
        """Log prior of a format, relative to `REFERENCE_FORMAT`."""
        return math.log(self.share(format_name, country) / self.shares.get(REFERENCE_FORMAT, 0.6))

    @property
    def no_format_prior(self) -> float:
        """Log prior of a text that fits no format, relative to `REFERENCE_FORMAT`."""
        return math.log(self.no_format_share / self.shares.get(REFERENCE_FORMAT, 0.6))

    def likeliest_format(self, plate: str) -> PlateFormat | None:
        """Of the formats a plate fits, the one under which this very string is the likeliest: the format's
        share of traffic over the number of strings it has of that length. `AB1234` is Luxembourg's in the
        default mix and Dutch (side code 1) in a zone that gives the Netherlands a fifth of its traffic;
        `ABC123` is the Belgian 1973-2008 series rather than one of the far more numerous German strings.
        None when it fits no format; InvalidPlate when the text cannot be a plate."""
        normalised = normalize_plate(plate)
        formats = matching_formats(normalised)
        if len(formats) < 2:
            return formats[0] if formats else None
        length = len(normalised)
        return max(formats, key=lambda fmt: self.share(fmt.name, fmt.country) / format_strings(fmt.name, length))

    def country_of(self, plate: str) -> str | None:
        """The ISO 3166 alpha-2 country of `likeliest_format`; None when the plate fits no format."""
        fmt = self.likeliest_format(plate)
        return fmt.country if fmt is not None else None


def check_traffic_mix(entries: Mapping[str, float] | Iterable[tuple[str, float]]) -> dict[str, float]:
    """Entries of a traffic mix as given (a zone file, the command line), checked: keys are country codes that
    have formats (any case) or format names, values shares of traffic above 0 and at most 1, each key once.
    Raises ValueError, naming the first bad entry.

    >>> check_traffic_mix({"nl": 0.2, "BE current": 0.5})
    {'NL': 0.2, 'BE current': 0.5}
    """
    countries = {fmt.country for fmt in FORMATS}
    formats = {fmt.name for fmt in FORMATS}
    checked: dict[str, float] = {}
    for raw_key, share in entries.items() if isinstance(entries, Mapping) else entries:
        key = raw_key.strip()
        entry = f"{raw_key}={share}"
        if key.upper() in countries and key not in formats:
            key = key.upper()
        elif key not in formats:
            known = ", ".join(sorted(countries))
            raise ValueError(f"traffic mix entry {entry!r}: {key!r} is neither a country with formats ({known}) "
                             "nor a format name (docs/plate-formats.md)")  # fmt: skip
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise ValueError(f"traffic mix entry {entry!r}: a share is a number above 0 and at most 1")
        if key in checked:
            raise ValueError(f"traffic mix entry {entry!r}: {key} is given twice")
        checked[key] = float(share)
    return checked


def parse_traffic_mix(text: str) -> dict[str, float]:
    """`NL=0.2, DE=0.05, BE current=0.5` as checked entries for `TrafficMix.with_entries`. Raises ValueError,
    naming the first bad entry.

    >>> parse_traffic_mix("nl=0.2, BE current=0.5")
    {'NL': 0.2, 'BE current': 0.5}
    """
    pairs: list[tuple[str, float]] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        key, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or not key:
            raise ValueError(f"traffic mix entry {entry!r}: write COUNTRY=SHARE or FORMAT NAME=SHARE")
        try:
            pairs.append((key, float(value)))
        except ValueError:
            raise ValueError(f"traffic mix entry {entry!r}: {value!r} is not a number") from None
    if not pairs:
        raise ValueError("the traffic mix is empty: write e.g. NL=0.2,DE=0.05")
    return check_traffic_mix(pairs)
