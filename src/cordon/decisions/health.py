"""The cordon's health: how often a gate's passages find no partner (DESIGN.md §4, zone closure).

Each zone-closure finding involves one or two gate passages: a `stay` pairs an entry with an exit (both
passages are paired), an `unpaired_exit` or `unpaired_entry` is one passage whose partner no camera saw. The
gap rate of a gate in an hour is its unpaired passages over all its passages concluded in that hour. A rising
rate at one gate points at a camera that misses plates or a road that is not watched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cordon.config.zone import ZoneConfig
from cordon.records import Finding

UNPAIRED = frozenset({"unpaired_exit", "unpaired_entry"})


class GapRate(BaseModel):
    """One gate, one hour."""

    model_config = ConfigDict(frozen=True)

    gate_id: str = Field(description="Gate id of the zone file.")
    hour: AwareDatetime = Field(description="Start of the hour (UTC).")
    passages: int = Field(description="Gate passages concluded in that hour (paired or not).")
    gaps: int = Field(description="Of those, passages with no partner.")
    rate: float = Field(description="gaps / passages.")


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def gap_rates(findings: Iterable[Finding], zone: ZoneConfig) -> list[GapRate]:
    """Gap rate per gate and hour from zone-closure findings, ordered by hour then gate."""
    gate_of = {camera: gate.id for gate in zone.gates for camera in gate.cameras}
    passages: Counter[tuple[datetime, str]] = Counter()
    gaps: Counter[tuple[datetime, str]] = Counter()
    for finding in findings:
        if finding.kind != "stay" and finding.kind not in UNPAIRED:
            continue
        hour = _hour(finding.date_observed)
        cameras = [finding.camera_id]
        entry_camera = finding.facts.get("entry_camera")
        if finding.kind == "stay" and isinstance(entry_camera, str):
            cameras.append(entry_camera)
        for camera in cameras:
            gate = gate_of.get(camera)
            if gate is None:
                continue
            passages[(hour, gate)] += 1
            if finding.kind in UNPAIRED:
                gaps[(hour, gate)] += 1
    return [
        GapRate(gate_id=gate, hour=hour, passages=count, gaps=gaps[(hour, gate)], rate=gaps[(hour, gate)] / count)
        for (hour, gate), count in sorted(passages.items())
    ]
