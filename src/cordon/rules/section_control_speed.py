"""The arithmetic and the law of section control (trajectcontrole), as pure functions.

Average speed = surveyed distance / (exit time - entry time). The Belgian margin: minus 6 km/h up to 100 km/h,
minus 6 % above, rounded down to the whole km/h; a violation is a corrected speed above the limit. In 30 and
50 km/h zones a corrected excess of at most 20 km/h may go to a municipal GAS-5 fine, anything else to the
prosecutor. Speeds are exact fractions, so a boundary (57 km/h in a 50 zone, 129 at 120) never hangs on a float.

>>> corrected_speed(Fraction(57)), corrected_speed(Fraction(129))
(51, 121)
>>> route_for(71, 50, gas_eligible=True)
<Route.PROSECUTOR: 'prosecutor'>
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

from cordon.config.zone import Section, ZoneConfig
from cordon.records import Route

#: The margin: 6 km/h up to this measured speed, 6 % above it.
MARGIN_SWITCH_KMH = 100
MARGIN_KMH = 6
MARGIN_SHARE = Fraction(6, 100)
#: The largest corrected excess a municipal GAS-5 fine may handle (30 and 50 km/h zones).
GAS_MAX_EXCESS_KMH = 20
GAS_ZONE_LIMITS = (30, 50)


def average_speed(length_m: float, duration_us: int) -> Fraction:
    """km/h, exactly, over a duration in microseconds (which must be positive)."""
    if duration_us <= 0:
        raise ValueError("a section is driven in a positive time")
    return Fraction(length_m) * 3_600_000 / duration_us


def corrected_speed(measured_kmh: Fraction) -> int:
    """The speed after the margin, rounded down to the whole km/h."""
    if measured_kmh <= MARGIN_SWITCH_KMH:
        return math.floor(measured_kmh - MARGIN_KMH)
    return math.floor(measured_kmh * (1 - MARGIN_SHARE))


def margin_applied(measured_kmh: Fraction) -> str:
    """The margin as the violation states it."""
    return f"{MARGIN_KMH} km/h" if measured_kmh <= MARGIN_SWITCH_KMH else f"{MARGIN_SHARE * 100} %"


def gas_eligible(section: Section) -> bool:
    """Whether the section's violations may go to GAS-5: as configured, else true in 30 and 50 km/h zones."""
    if section.gas_eligible is not None:
        return section.gas_eligible
    return section.speed_limit_kmh in GAS_ZONE_LIMITS


def route_for(corrected_kmh: int, limit_kmh: int, gas_eligible: bool) -> Route | None:
    """GAS-5 for a small excess where allowed, the prosecutor otherwise; None when within the limit."""
    if corrected_kmh <= limit_kmh:
        return None
    if gas_eligible and corrected_kmh - limit_kmh <= GAS_MAX_EXCESS_KMH:
        return Route.GAS
    return Route.PROSECUTOR


def legal_basis(limit_kmh: int, route: Route) -> str:
    """The rule of law broken, and where it is sanctioned."""
    where = "GAS-5 municipal fine" if route is Route.GAS else "procureur des Konings"
    return f"Wegcode art. 11: speed limit {limit_kmh} km/h, average speed over a section; {where}"


def clock_in_tolerance(offset_s: float | None, tolerance_s: float) -> bool:
    """A clock vouches for a time only when its offset is known and at most the camera's tolerance."""
    return offset_s is not None and abs(offset_s) <= tolerance_s


@dataclass(frozen=True, slots=True)
class Measurement:
    """What is timed: one section, or a chain of sections from its first entry to its last exit."""

    id: str
    sections: tuple[str, ...]
    entry_camera: str
    exit_camera: str
    length_m: float
    limit_kmh: int
    gas_eligible: bool

    @property
    def chain(self) -> bool:
        return len(self.sections) > 1


def measurements(zone: ZoneConfig, controlled: Collection[str] = ()) -> tuple[Measurement, ...]:
    """Every controlled section (all when `controlled` is empty), then every chain of them (`next_section`).

    A chain is timed over its whole length only when it is contiguous (each section ends at the camera the next
    one starts at) and has one speed limit: an average over stretches with different limits proves nothing.
    """
    by_id = {s.id: s for s in zone.sections if not controlled or s.id in controlled}
    out = [
        Measurement(s.id, (s.id,), s.entry_camera, s.exit_camera, s.length_m, s.speed_limit_kmh, gas_eligible(s))
        for s in by_id.values()
    ]
    followers = {s.next_section for s in by_id.values() if s.next_section is not None}
    for head in by_id.values():
        if head.id in followers or head.next_section is None:
            continue
        chain = [head]
        while (following := chain[-1].next_section) in by_id and by_id[following] not in chain:  # no cycles
            chain.append(by_id[following])
        contiguous = all(a.exit_camera == b.entry_camera for a, b in pairwise(chain))
        one_limit = len({s.speed_limit_kmh for s in chain}) == 1
        if len(chain) < 2 or not contiguous or not one_limit or chain[0].entry_camera == chain[-1].exit_camera:
            continue
        out.append(
            Measurement(
                id="+".join(s.id for s in chain),
                sections=tuple(s.id for s in chain),
                entry_camera=chain[0].entry_camera,
                exit_camera=chain[-1].exit_camera,
                length_m=sum(s.length_m for s in chain),
                limit_kmh=chain[0].speed_limit_kmh,
                gas_eligible=all(gas_eligible(s) for s in chain),
            )
        )
    return tuple(out)
