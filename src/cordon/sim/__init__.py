"""A simulated town with ground truth: traffic over days, the cameras' imperfection, and what the rules should find.

Public API (what `cordon sim`, the replayer, `cordon demo` and `cordon eval` use):

- `Simulation(zone, SimSettings(...), NoiseSettings(...)).run()` yields `Chunk`s: `reads` (`Delivery`: the
  camera's JSON and when it reaches Cordon, in delivery order) and `truth` (typed `TruthRecord`s);
- `NoiseSettings` (`.off()` for the exact truth), `load_noise("off" | "default" | path)`, `SimSettings`;
- `read_deliveries(path)`, `replay_offsets(deliveries, speed)`, `read_truth(path)`, `write_fixtures(...)`: the
  files and their replay (see `cordon.sim.output`);
- `corrected_speed`, `section_route`: the Belgian section-control margin and routing, as the truth applies them.
"""

from cordon.sim.engine import Chunk, Progress, Simulation
from cordon.sim.events import corrected_speed, section_route
from cordon.sim.noise import Delivery
from cordon.sim.output import (
    delivery_line,
    read_deliveries,
    read_truth,
    replay_offsets,
    truth_line,
    write_fixtures,
    write_reads,
    write_truth,
)
from cordon.sim.settings import (
    ActorSettings,
    CameraNoise,
    NoiseSettings,
    PatternSettings,
    SimSettings,
    TrafficMix,
    default_end,
    load_noise,
)
from cordon.sim.truth import RECORD_TYPES, TruthRecord, record_from_json

__all__ = [
    "RECORD_TYPES",
    "ActorSettings",
    "CameraNoise",
    "Chunk",
    "Delivery",
    "NoiseSettings",
    "PatternSettings",
    "Progress",
    "SimSettings",
    "Simulation",
    "TrafficMix",
    "TruthRecord",
    "corrected_speed",
    "default_end",
    "delivery_line",
    "load_noise",
    "read_deliveries",
    "read_truth",
    "record_from_json",
    "replay_offsets",
    "section_route",
    "truth_line",
    "write_fixtures",
    "write_reads",
    "write_truth",
]
