"""The demo's live terminal summary."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cordon.feed import FeedStats
from cordon.plates import display_plate
from cordon.records import PlateRead
from cordon.rules import Decision
from cordon.runtime import Runtime


class LiveStats:
    """Counts what the store received (fed by the read bus) and what the rules concluded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.stored = 0
        self.by_camera: Counter[str] = Counter()
        self.latest: deque[PlateRead] = deque(maxlen=8)
        self.decisions: Counter[tuple[str, str]] = Counter()
        self.latest_decisions: deque[str] = deque(maxlen=6)
        self._window: deque[tuple[float, int]] = deque()

    def on_stored(self, reads: Sequence[PlateRead]) -> None:
        now = time.monotonic()
        with self._lock:
            self.stored += len(reads)
            self.by_camera.update(read.observed_by for read in reads)
            self.latest.extend(reads)
            self._window.append((now, len(reads)))
            while self._window and now - self._window[0][0] > 5:
                self._window.popleft()

    def on_decision(self, decision: Decision) -> None:
        with self._lock:
            for alert in decision.alerts:
                self.decisions[(alert.rule_id, f"alert {alert.category}")] += 1
                self.latest_decisions.append(f"{alert.date_observed:%d %H:%M} ALERT {alert.message}")
            for violation in decision.violations:
                self.decisions[(violation.rule_id, f"violation -> {violation.route.value}")] += 1
                plate = display_plate(violation.plate)
                self.latest_decisions.append(f"{violation.date_observed:%d %H:%M} {violation.legal_basis} {plate}")
            for command in decision.commands:
                self.decisions[(command.device_id, f"command {command.action.value}")] += 1
            for finding in decision.findings:
                self.decisions[(finding.rule_id, finding.kind)] += 1

    def rate(self) -> float:
        with self._lock:
            if not self._window:
                return 0.0
            span = max(time.monotonic() - self._window[0][0], 1.0)
            return sum(n for _, n in self._window) / span


def render(stats: LiveStats, runtime: Runtime, feed: FeedStats, url: str) -> Group:
    """One frame of the summary."""
    elapsed = time.monotonic() - stats.started
    simulated = f"{stats.latest[-1].date_observed:%a %d %b %H:%M} UTC" if stats.latest else "-"
    head = Table.grid(padding=(0, 3))
    head.add_row(
        Text(f"running {elapsed:.0f} s", style="bold", no_wrap=True),
        f"town time {simulated}",
        f"sent {feed.sent}",
        f"stored {stats.stored}",
        f"{stats.rate():7.1f} reads/s",
    )
    rejected = Table("camera", "reason", "refused", title="Refused reads (camera health)", expand=True)
    for row in runtime.ingest.rejection_counts():
        rejected.add_row(row.camera_id, row.reason, str(row.count))
    busiest = Table("camera", "reads", title="Busiest cameras", expand=True)
    for camera, count in stats.by_camera.most_common(6):
        busiest.add_row(camera, str(count))
    latest = Table("time (UTC)", "camera", "lane", "plate", "conf", title="Latest reads", expand=True)
    for read in reversed(stats.latest):
        conf = f"{read.confidence:.2f}" if read.confidence is not None else "-"
        latest.add_row(f"{read.date_observed:%H:%M:%S}", read.observed_by, read.lane_id or "-",
                       display_plate(read.plate), conf)  # fmt: skip
    side = Table.grid(expand=True)
    side.add_row(busiest, rejected)
    rules = Table("rule", "outcome", "count", title="Rules: alerts, violations and findings", expand=True)
    with stats._lock:
        for (rule, kind), count in sorted(stats.decisions.items()):
            rules.add_row(rule, kind, str(count))
        recent = list(stats.latest_decisions)
    footer = Text("\n".join(recent) if recent else "", style="bold red")
    title = f"Cordon demo: a simulated town, live (API {url})"
    return Group(Panel(head, title=title), side, rules, footer, latest)
