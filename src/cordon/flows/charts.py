"""Charts a planner looks at: the daily profile, the OD matrix as a heat map, the travel-time trend.

matplotlib is imported only when a chart is drawn, with the Agg backend (no display, no GUI toolkit). Each
function takes a figure's typed result and returns the image bytes (`png` or `svg`); the same results are the
JSON a dashboard would draw from.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal

from cordon.flows.models import ODOut, ProfileOut, TravelTimesOut

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ChartFormat = Literal["png", "svg"]


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _bytes(figure: Figure, fmt: ChartFormat) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()


def profile_chart(profile: ProfileOut, fmt: ChartFormat = "png") -> bytes:
    """Mean passages per local hour, one line per kind of day."""
    figure = _figure(8, 4.5)
    axes = figure.add_subplot()
    kinds = sorted({p.day_type for p in profile.points})
    for kind in kinds:
        points = [p for p in profile.points if p.day_type == kind]
        label = _weekday(kind) if profile.kind == "weekly" else kind
        axes.plot([p.hour for p in points], [p.mean for p in points], marker="o", markersize=3, label=label)
    where = profile.camera or "all cameras"
    axes.set_title(
        f"{profile.kind.capitalize()} profile, {where}, {profile.period.first_day} to {profile.period.last_day}"
    )
    axes.set_xlabel("local hour")
    axes.set_ylabel("mean passages per hour")
    axes.set_xticks(range(0, 24, 2))
    axes.grid(alpha=0.3)
    axes.legend()
    return _bytes(figure, fmt)


def od_heatmap(od: ODOut, fmt: ChartFormat = "png") -> bytes:
    """Trips per origin (rows) and destination (columns); suppressed or empty cells are left blank."""
    import numpy as np

    places = od.places
    index = {place: n for n, place in enumerate(places)}
    grid: Any = np.full((len(places), len(places)), np.nan)
    for cell in od.cells:
        if cell.trips is not None and cell.origin in index and cell.destination in index:
            grid[index[cell.origin], index[cell.destination]] = cell.trips
    size = max(5.0, 0.45 * len(places) + 3)
    figure = _figure(size + 1.5, size)
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(grid), cmap="viridis")
    axes.set_xticks(range(len(places)), places, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(places)), places, fontsize=8)
    axes.set_xlabel("destination (exit)")
    axes.set_ylabel("origin (entry)")
    axes.set_title(f"Origin-destination ({od.kind}), {od.period.first_day} to {od.period.last_day}, k={od.period.k}")
    figure.colorbar(image, ax=axes, label="trips")
    return _bytes(figure, fmt)


def travel_time_chart(times: TravelTimesOut, fmt: ChartFormat = "png", kind: str = "section") -> bytes:
    """Daily median (solid) and 85th percentile (dashed) travel time, one colour per section or gate pair."""
    figure = _figure(8, 4.5)
    axes = figure.add_subplot()
    for row in (r for r in times.rows if r.kind == kind and r.trend):
        label = row.origin if kind == "section" else f"{row.origin} → {row.destination}"
        days = [p.day for p in row.trend]
        (line,) = axes.plot(days, [p.median_s / 60 for p in row.trend], marker="o", markersize=3, label=label)
        axes.plot(days, [p.p85_s / 60 for p in row.trend], linestyle="--", color=line.get_color())
    axes.set_title(f"Travel time per day ({kind}): median, and p85 dashed")
    axes.set_ylabel("minutes")
    axes.tick_params(axis="x", rotation=45)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7)
    return _bytes(figure, fmt)


def _weekday(day_type: str) -> str:
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    return names[int(day_type) - 1] if day_type.isdigit() else day_type
