"""The command line as a user meets it: the real console script in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cordon.store import migrate as migrations
from tests.conftest import DEMO_ZONE, SMALL_ZONE

CORDON = [sys.executable, "-m", "cordon"]


def run(
    *args: str | Path, data: Path | None = None, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env, "COLUMNS": "200"}
    if data is not None:
        environment["CORDON_DATA_DIR"] = str(data)
    result = subprocess.run([*CORDON, *map(str, args)], capture_output=True, text=True, env=environment, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def recent(seconds: int = 60) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("cordon, version")
    out = run("--help").stdout
    for command in ("serve", "demo", "config", "db", "ingest", "reads", "cameras"):
        assert command in out


def test_config_validate_exit_codes(tmp_path: Path) -> None:
    assert "valid zone" in run("config", "validate", DEMO_ZONE).stdout
    bad = tmp_path / "zone.yaml"
    bad.write_text(SMALL_ZONE.read_text().replace("length_m: 800", "length_m: lots"))
    result = run("config", "validate", bad, check=False)
    assert_clean_error(result, f"{bad}:", "sections[0].length_m")
    assert_clean_error(run("config", "validate", tmp_path / "none.yaml", check=False), "file not found")


def test_db_migrate_current_downgrade(tmp_path: Path) -> None:
    data = tmp_path / "data"
    head = migrations.head_revision()
    assert f"schema empty -> {head}" in run("db", "migrate", data=data).stdout
    assert f"current: {head}" in run("db", "current", data=data).stdout
    assert "0001" in run("db", "history").stdout
    run("db", "downgrade", "base", "--yes", data=data)
    assert "current: empty" in run("db", "current", data=data).stdout


def test_cameras_key_list_revoke(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = run("cameras", "key", "cam-north", "--zone", SMALL_ZONE, data=data).stdout.strip()
    assert key.startswith("cdk_") and len(key) > 40
    listing = run("cameras", "list", "--zone", SMALL_ZONE, data=data).stdout
    assert "cam-north" in listing and "1:entry 2:exit" in listing
    assert "revoked 1 key" in run("cameras", "revoke", "cam-north", data=data).stdout
    result = run("cameras", "key", "cam-nowhere", "--zone", SMALL_ZONE, data=data, check=False)
    assert_clean_error(result, "camera 'cam-nowhere' is not in zone 'pz-example'")


def test_ingest_jsonl_reports_bad_lines_and_stores_the_rest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    lines = [
        json.dumps({"observedBy": "cam-north", "eventId": "a", "dateObserved": recent(), "licensePlate": "1-ABC-234"}),
        "{not json",
        json.dumps({"observedBy": "cam-north", "eventId": "b", "dateObserved": recent(), "licensePlate": "1-AB€-234"}),
        "",
        json.dumps({"observedBy": "cam-school", "eventId": "c", "dateObserved": recent(), "licensePlate": "2xyz999"}),
    ]
    source = tmp_path / "reads.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = run("ingest", "--zone", SMALL_ZONE, source, data=data, check=False)
    assert result.returncode == 1
    assert "stored 2, duplicates 0, refused 2" in result.stdout
    assert f"{source}:2: not valid JSON" in result.stderr
    assert f"{source}:3: invalid_plate" in result.stderr
    again = run("ingest", "--zone", SMALL_ZONE, source, data=data, check=False)
    assert "stored 0, duplicates 2, refused 2" in again.stdout
    tail = run("reads", "tail", "--json", data=data).stdout.splitlines()
    assert [json.loads(line)["plate"] for line in tail] == ["1ABC234", "2XYZ999"]
    assert "1-ABC-234" in run("reads", "tail", data=data).stdout


def test_ingest_all_or_nothing_and_dry_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / "reads.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["observed_by", "event_id", "date_observed", "license_plate", "lane_id", "lat", "lon"])
        writer.writerow(["cam-north", "1", recent(), "1-ABC-234", "1", "", ""])
        writer.writerow(["cam-north", "2", recent(), "1-ABC-235", "9", "", ""])
    result = run("ingest", "--zone", SMALL_ZONE, "--all-or-nothing", source, data=data, check=False)
    assert "stored 0" in result.stdout and "unknown_lane" in result.stderr
    source.write_text(source.read_text().replace(",9,", ",2,"))
    assert "would store 2" in run("ingest", "--zone", SMALL_ZONE, "--dry-run", source, data=data).stdout
    assert run("reads", "tail", data=data).stdout == ""
    assert "stored 2" in run("ingest", "--zone", SMALL_ZONE, "--all-or-nothing", source, data=data).stdout


def test_ingest_old_history_needs_max_age(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = tmp_path / "old.jsonl"
    source.write_text(json.dumps({"observedBy": "cam-north", "dateObserved": recent(86_400 * 90),
                                  "licensePlate": "1ABC234"}) + "\n")  # fmt: skip
    assert "timestamp_past" in run("ingest", "--zone", SMALL_ZONE, source, data=data, check=False).stderr
    assert "stored 1" in run("ingest", "--zone", SMALL_ZONE, "--max-age-days", "365", source, data=data).stdout


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["serve"], {}, "no zone file"),
        (["ingest", "--zone", str(SMALL_ZONE), "x.txt"], {}, "does not exist"),
        (["serve", "--zone", str(SMALL_ZONE)], {"CORDON_HTTP_PORT": "port"}, "not a valid integer"),
        (
            ["cameras", "list", "--zone", str(SMALL_ZONE)],
            {"CORDON_ENVIRONMENT": "staging"},
            "invalid settings",
        ),
    ],
)
def test_user_errors_are_one_clean_line(tmp_path: Path, args: list[str], env: dict[str, str], needle: str) -> None:
    result = run(*args, data=tmp_path / "data", check=False, **env)
    assert_clean_error(result, needle)
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 3, result.stderr
