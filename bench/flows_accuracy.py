"""Flows figures against the simulator's truth over several seeds, by cell size: what `cordon flows score` gives
for one seed, gathered over many, so that a claim on a cell size does not rest on one draw of the noise.

For each seed: simulate the demo zone (default noise) and score the flows pipeline's figures against the truth
(`cordon.flows.score.score_flows`, the same code as `cordon flows score`). Then, per band of cell size (true
trips of the gate pair over the period), the largest and the mean error over every seed's cells, the mean
signed error (a bias shows there; sampling noise averages out), and the sampling noise the binomial model
predicts for the band's smallest cell (`sd`: a trip is seen with probability p, the product of the two gates'
rates of linking reads, so the expanded count's relative standard deviation is sqrt((1 - p) / (p n))).

Run: .venv/bin/python bench/flows_accuracy.py                 (4 seeds of 3 days, 20,000 vehicles a day: ~5 min)
     .venv/bin/python bench/flows_accuracy.py --quick         (2 seeds of 1 day, 5,000 vehicles a day)
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, print_machine
from cordon.config import load_zone
from cordon.flows.score import Errors, FlowScore, score_flows
from cordon.sim import NoiseSettings, SimSettings, Simulation, write_reads, write_truth

END = datetime(2026, 11, 27, tzinfo=UTC)
BANDS = ((200, 300), (300, 500), (500, 1000), (1000, 10**9))


def scored(seed: int, days: float, vehicles: int, folder: Path) -> FlowScore:
    zone = load_zone(DEMO_ZONE)
    settings = SimSettings(seed=seed, days=days, end=END, vehicles_per_day=vehicles)
    simulation = Simulation(zone, settings, NoiseSettings())
    reads, truth = folder / f"reads-{seed}.jsonl", folder / f"truth-{seed}.jsonl"
    chunks = list(simulation.run())
    with reads.open("wb") as handle:
        write_reads((d for c in chunks for d in c.reads), handle)
    with truth.open("wb") as handle:
        write_truth((t for c in chunks for t in c.truth), handle)
    return score_flows(zone, reads, truth, min_truth=min(b[0] for b in BANDS))


def joined(parts: list[Errors]) -> Errors:
    out = Errors()
    for part in parts:
        out.values += part.values
        out.signed += part.signed
        out.sizes += part.sizes
    return out


def show(name: str, errors: Errors, unit: str, scale: float, p: float | None) -> None:
    """Errors by band of cell size; `p` None for a comparison with no sampling in it (it should be exact)."""
    print(f"{name}")
    for low, high in BANDS:
        keep = [i for i, n in enumerate(errors.sizes) if low <= n < high]
        if not keep:
            continue
        values = [errors.values[i] * scale for i in keep]
        signed = sum(errors.signed[i] for i in keep) / len(keep) * scale
        band = f"{low:,}-{high:,}" if high < 10**9 else f">= {low:,}"
        line = (f"  cells {band:>11} trips: {len(keep):4d}   max {max(values):5.2f} {unit}   mean "
                f"{sum(values) / len(values):5.2f}   mean signed {signed:+5.2f}")  # fmt: skip
        if p is not None:
            sd = math.sqrt((1 - p) / (p * low)) * scale * (0.5 if unit == "points" else 1.0)
            line += f"   sampling sd at {low:,}: {sd:4.2f}{' (share 0.5)' if unit == 'points' else ''}"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--vehicles-per-day", type=int, default=20_000)
    parser.add_argument("--p", type=float, default=0.924,
                        help="Chance a trip is seen at both ends, for the sampling figure (default noise: "
                             "(0.97 capture x 0.991 linking reads)^2).")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="2 seeds of 1 day, 5,000 vehicles a day.")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.days, args.vehicles_per_day = args.seeds[:2], 1.0, 5000
    print_machine()
    print(f"# seeds {args.seeds}, {args.days:g} days of {args.vehicles_per_day:,} vehicles a day, default noise")
    scores: list[FlowScore] = []
    with tempfile.TemporaryDirectory(prefix="cordon-bench-flows-accuracy-") as tmp:
        for seed in args.seeds:
            started = time.perf_counter()
            scores.append(scored(seed, args.days, args.vehicles_per_day, Path(tmp)))
            od, through = max(scores[-1].od.values, default=0), max(scores[-1].through.values, default=0)
            took = time.perf_counter() - started
            print(f"seed {seed}: OD cells >= 200 trips max {od * 100:.2f} %, through share max "
                  f"{through * 100:.2f} points  ({took:.0f} s)")  # fmt: skip
    show("OD expanded vs all true trips", joined([s.od for s in scores]), "%", 100, args.p)
    show("OD vs true trips read at both ends by linking reads", joined([s.od_seen for s in scores]), "%", 100, None)
    show("through share vs truth over the published days", joined([s.through for s in scores]), "points", 100, args.p)
    show("through share vs truth over every day", joined([s.through_all_days for s in scores]), "points", 100, args.p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
