"""Zone files: the examples are valid; every kind of mistake is reported at its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cordon.cli import cli
from cordon.config import ConfigError, load_zone, parse_zone
from cordon.config.zone import ZoneConfig
from cordon.records import Movement
from tests.conftest import DEMO_ZONE, ROOT, SMALL_ZONE

SMALL = SMALL_ZONE.read_text()


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return found[occurrence - 1]


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_is_valid(path: Path) -> None:
    zone = load_zone(path)
    assert zone.cameras


def test_demo_zone_closes_the_town() -> None:
    zone = load_zone(DEMO_ZONE)
    assert len(zone.gates) >= 12
    for gate in zone.gates:
        movements = {lane.movement for cam in gate.cameras for lane in zone.camera(cam).lanes}  # type: ignore[union-attr]
        assert {Movement.ENTRY, Movement.EXIT} <= movements, f"gate {gate.id} is not watched both ways"
    assert {s.speed_limit_kmh for s in zone.sections} == {50, 90}
    assert any(c.kind == "mobile" for c in zone.cameras)


def test_camera_lookup_and_lanes() -> None:
    zone = load_zone(SMALL_ZONE)
    camera = zone.camera("cam-north")
    assert camera is not None
    assert camera.movement_of("1") is Movement.ENTRY
    assert camera.movement_of("2") is Movement.EXIT
    assert camera.movement_of("9") is None
    assert zone.camera("nope") is None


# (what is changed in the small zone, the text on the line the error must point at, expected message part)
MISTAKES = [
    pytest.param(("speed_limit_kmh: 30", "speed_limit_kmh: 300"), "speed_limit_kmh: 300", "less than or equal to 130",
                 id="out-of-range"),
    pytest.param(("    lon: 4.0312\n", "    lon: 4.0312\n    colour: red\n"), "colour: red", "unknown field",
                 id="unknown-field"),
    pytest.param(("    legal_regime: camera_act\n", ""), "- id: cam-school", "legal_regime: required field missing",
                 id="missing-field"),
    pytest.param(("    site: school\n", "    site: schol\n"), "site: schol", "unknown site 'schol'",
                 id="unknown-site"),
    pytest.param(("exit_camera: cam-school", "exit_camera: cam-south"), "exit_camera: cam-south",
                 "unknown camera 'cam-south'", id="unknown-camera"),
    pytest.param(("sections: [noordstraat]", "sections: [nord]"), "sections: [nord]", "unknown section 'nord'",
                 id="rule-reference"),
    pytest.param(("{id: hotlists, type: hotlist}", "{id: hotlists, type: hotlistt}"), "type: hotlistt",
                 "hotlistt", id="unknown-rule-type"),
    pytest.param(("retention_days: 30", "retention_days: 400"), "retention_days: 400", "less than or equal to 365",
                 id="retention-over-12-months"),
    pytest.param(("  - id: cam-school\n", "  - id: cam-north\n"), "  - id: cam-north", "duplicate id 'cam-north'",
                 id="duplicate-id"),
    pytest.param(("heading: 180\n", "heading: 180\n    heading: 90\n"), "heading: 90", "duplicate key",
                 id="duplicate-key"),
    pytest.param(("movement: entry}", "movement: sideways}"), "movement: sideways", "'entry', 'exit' or 'internal'",
                 id="bad-enum"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "at", "message"), MISTAKES)
def test_mistakes_are_reported_at_their_line(change: tuple[str, str], at: str, message: str) -> None:
    old, new = change
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    with pytest.raises(ConfigError) as caught:
        parse_zone(text, "zone.yaml")
    issues = caught.value.issues
    assert any(message in issue.message or message in issue.render("zone.yaml") for issue in issues), issues
    expected_line = line_of(text, at)
    assert expected_line in {issue.line for issue in issues}, (expected_line, issues)
    assert str(caught.value).startswith("zone.yaml:")


def test_yaml_syntax_error_has_a_line() -> None:
    text = SMALL.replace("heading: 180", "heading: [180")
    with pytest.raises(ConfigError) as caught:
        parse_zone(text, "zone.yaml")
    assert caught.value.issues[0].line is not None
    assert "YAML syntax" in caught.value.issues[0].message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a list\n", "just text\n"])
def test_not_a_zone_document(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_zone(text)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_zone(tmp_path / "absent.yaml")


def test_validate_command_ok() -> None:
    result = CliRunner().invoke(cli, ["config", "validate", str(DEMO_ZONE)])
    assert result.exit_code == 0, result.output
    assert "valid zone 'pz-demo'" in result.output


def test_validate_command_reports_lines_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("site: school\n", "site: schol\n").replace("length_m: 800", "length_m: -1"))
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "validate", str(bad)])
    assert result.exit_code != 0
    # the console script prints ConfigError itself; through click directly it surfaces as the exception
    assert isinstance(result.exception, ConfigError)
    rendered = str(result.exception)
    assert f"{bad}:{line_of(bad.read_text(), 'length_m: -1')}: sections[0].length_m" in rendered


def test_every_zone_field_is_described() -> None:
    """Strict configuration: a field without a description is a defect (the schema is the reference)."""
    schema = ZoneConfig.model_json_schema()
    undocumented = []
    for name, definition in {"ZoneConfig": schema, **schema.get("$defs", {})}.items():
        for field, spec in definition.get("properties", {}).items():
            if "description" not in spec:
                undocumented.append(f"{name}.{field}")
    assert not undocumented
