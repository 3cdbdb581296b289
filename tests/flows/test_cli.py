"""`cordon flows` as an analyst uses it: build from a reads file, figures, exports, charts, the scorer."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from cordon.cli import cli
from tests.conftest import DEMO_ZONE
from tests.simtown import SimulatedTown


def cordon(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def data(town_week: SimulatedTown, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flows-cli")
    out = cordon("flows", "build", "--reads", town_week.reads, "--zone", DEMO_ZONE, "--data", folder, "--finish")
    assert "flow records" in out.output
    assert list((folder / "flows-secret").iterdir()) == []  # every day closed, every secret destroyed
    return folder


def test_figures_as_json(data: Path) -> None:
    od = json.loads(cordon("flows", "od", "--zone", DEMO_ZONE, "--data", data, "--json").output)
    assert od["kind"] == "gates" and any(c["trips"] for c in od["cells"])
    day = ("--from", "2026-11-17", "--to", "2026-11-17")
    args = ("--zone", DEMO_ZONE, "--data", data, *day, "--granularity", "day", "--by", "camera", "--json")
    counts = json.loads(cordon("flows", "counts", *args).output)
    assert {row["start"][:10] for row in counts["rows"]} == {"2026-11-17"}
    assert cordon("flows", "through", "--zone", DEMO_ZONE, "--data", data).output.count("│") > 10


def test_exports(data: Path, tmp_path: Path, town_week: SimulatedTown) -> None:
    parquet, fiware, csv = tmp_path / "od.parquet", tmp_path / "counts.json", tmp_path / "through.csv"
    cordon("flows", "export", "od", "--zone", DEMO_ZONE, "--data", data, "--format", "parquet", "--out", parquet)
    table = pq.read_table(parquet)
    assert table.column_names == ["origin", "destination", "trips", "suppressed_days"]
    cordon("flows", "export", "counts", "--zone", DEMO_ZONE, "--data", data, "--format", "fiware", "--out", fiware)
    entities = json.loads(fiware.read_text())
    assert entities and all(e["type"] == "TrafficFlowObserved" and e["intensity"] >= 5 for e in entities)
    assert {e["laneDirection"] for e in entities} == {"forward", "backward"}
    cordon("flows", "export", "through", "--zone", DEMO_ZONE, "--data", data, "--out", csv)
    assert csv.read_text().startswith("origin,destination,trips,through,share,suppressed_days\n")
    plates = {json.loads(line)["read"]["licensePlate"] for line in town_week.reads.read_text().splitlines()[:500]}
    for output in (parquet.read_bytes(), fiware.read_bytes(), csv.read_bytes()):
        assert not any(p.encode() in output or p.replace("-", "").encode() in output for p in plates)


def test_charts(data: Path, tmp_path: Path) -> None:
    svg, png, profile = tmp_path / "od.svg", tmp_path / "trend.png", tmp_path / "profile.png"
    cordon(
        "flows", "chart", "od", "--zone", DEMO_ZONE, "--data", data, "--out", svg, "--data-json", tmp_path / "od.json"
    )
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert json.loads((tmp_path / "od.json").read_text())["figure"] == "od"
    cordon("flows", "chart", "travel-times", "--zone", DEMO_ZONE, "--data", data, "--out", png)
    cordon("flows", "chart", "profile", "--zone", DEMO_ZONE, "--data", data, "--out", profile)
    for image in (png, profile):
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_flow_store_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["flows", "od", "--zone", str(DEMO_ZONE), "--data", str(tmp_path)])
    assert result.exit_code != 0
    assert "no flow store" in str(result.exception)
