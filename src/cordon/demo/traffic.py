"""Live traffic for `cordon demo`: vehicles enter the zone at a gate, may pass inner cameras, and leave.

Deterministic for a seed. Each passage becomes what a camera would post (Cordon JSON), with the camera's
imperfections: an occasional look-alike misread with lower confidence, and now and then a corrupt read
that ingest must refuse. A fuller simulator with ground truth replaces this generator later.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cordon.config import ZoneConfig
from cordon.records import Movement
from cordon.timeutil import isoformat_z

_LOOKALIKE_SWAPS = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z"}
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def belgian_plate(rng: random.Random) -> tuple[str, str]:
    """A current-format Belgian plate as printed (`1-ABC-234`), and its country."""
    letters = "".join(rng.choice(_LETTERS) for _ in range(3))
    return f"{rng.choice('12')}-{letters}-{rng.randint(0, 999):03d}", "BE"


def foreign_plate(rng: random.Random) -> tuple[str, str]:
    """A neighbour's plate: NL side code 7, FR SIV, or DE."""
    country = rng.choice(("NL", "FR", "DE"))
    letters = "".join(rng.choice(_LETTERS) for _ in range(3))
    if country == "NL":
        return f"{rng.randint(10, 99)}-{letters}-{rng.randint(1, 9)}", country
    if country == "FR":
        return f"{letters[:2]}-{rng.randint(100, 999)}-{letters[1:]}", country
    return f"{rng.choice(('K', 'AC', 'D'))} {letters[:2]} {rng.randint(1, 9999)}", country


@dataclass(order=True, frozen=True, slots=True)
class Passage:
    """A vehicle passing a camera lane at an instant."""

    at: datetime
    camera_id: str = field(compare=False)
    lane_id: str = field(compare=False)
    plate: str = field(compare=False)
    country: str = field(compare=False)


class DemoTraffic:
    """Generates passages in time order for a zone; `take_due(now)` yields what cameras see by `now`."""

    def __init__(self, zone: ZoneConfig, seed: int = 1, vehicles_per_minute: float = 240.0) -> None:
        self.rng = random.Random(seed)
        self.rate_per_s = vehicles_per_minute / 60
        self.entries = [(c.id, lane.id) for c in zone.cameras for lane in c.lanes if lane.movement == Movement.ENTRY]
        self.exits = [(c.id, lane.id) for c in zone.cameras for lane in c.lanes if lane.movement == Movement.EXIT]
        self.inner = [
            (c.id, c.lanes[0].id)
            for c in zone.cameras
            if c.kind == "fixed" and c.lanes[0].movement == Movement.INTERNAL
        ]
        if not self.entries or not self.exits:
            raise ValueError("the demo zone needs entry and exit lanes")
        self._queue: list[Passage] = []
        self._next_arrival: datetime | None = None
        self._event_counter = 0

    def _spawn(self, at: datetime) -> None:
        plate, country = belgian_plate(self.rng) if self.rng.random() < 0.9 else foreign_plate(self.rng)
        camera, lane = self.rng.choice(self.entries)
        heapq.heappush(self._queue, Passage(at, camera, lane, plate, country))
        moment = at
        for inner in self.rng.sample(self.inner, k=min(len(self.inner), self.rng.choice((0, 0, 1, 2)))):
            moment += timedelta(seconds=self.rng.uniform(20, 240))
            heapq.heappush(self._queue, Passage(moment, *inner, plate, country))
        if self.rng.random() < 0.93:  # the rest stay in town past the end of the demo
            stay = timedelta(seconds=self.rng.expovariate(1 / 300))
            exit_camera, exit_lane = self.rng.choice(self.exits)
            heapq.heappush(self._queue, Passage(moment + stay + timedelta(seconds=30), exit_camera, exit_lane,
                                                plate, country))  # fmt: skip

    def take_due(self, now: datetime) -> Iterator[Passage]:
        """Every passage that happened up to `now`, in time order."""
        if self._next_arrival is None:
            self._next_arrival = now
        while self._next_arrival <= now:
            self._spawn(self._next_arrival)
            self._next_arrival += timedelta(seconds=self.rng.expovariate(self.rate_per_s))
        while self._queue and self._queue[0].at <= now:
            yield heapq.heappop(self._queue)

    def camera_message(self, passage: Passage) -> dict[str, Any]:
        """What the camera posts for a passage, with its imperfections."""
        self._event_counter += 1
        text, confidence = passage.plate, round(self.rng.uniform(0.86, 0.995), 3)
        candidates: list[dict[str, Any]] = []
        roll = self.rng.random()
        if roll < 0.04:  # look-alike misread: the truth is the second candidate
            positions = [i for i, ch in enumerate(text) if ch in _LOOKALIKE_SWAPS]
            if positions:
                i = self.rng.choice(positions)
                text = text[:i] + _LOOKALIKE_SWAPS[text[i]] + text[i + 1 :]
                confidence = round(self.rng.uniform(0.55, 0.8), 3)
                candidates = [{"plate": passage.plate, "confidence": round(confidence - 0.1, 3)}]
        elif roll < 0.05:  # a corrupt read from a faulty camera: ingest refuses it
            text = text.replace("-", "#", 1) if "-" in text else text + "#"
        return {
            "observedBy": passage.camera_id,
            "eventId": f"{passage.camera_id}-{self._event_counter:08d}",
            "dateObserved": isoformat_z(passage.at),
            "licensePlate": text,
            "country": passage.country,
            "confidence": confidence,
            "candidates": candidates,
            "laneId": passage.lane_id,
            "direction": "towards",
            "vehicleType": self.rng.choices(("car", "van", "lorry", "motorcycle"), (85, 9, 4, 2))[0],
        }
