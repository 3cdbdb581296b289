"""`cordon demo`: a simulated town feeding a real Cordon through its real ingest path."""

from importlib.resources import as_file, files
from pathlib import Path


def demo_zone_path() -> Path:
    """The demo zone shipped inside the package (also linked as examples/demo-zone.yaml)."""
    with as_file(files("cordon.demo") / "demo-zone.yaml") as path:
        return Path(path)
