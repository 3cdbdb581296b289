"""`cordon demo`: starts, feeds the platform through the real HTTP ingest, stops cleanly."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(120)
def test_demo_runs_and_stops_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cordon", "demo", "--duration", "15", "--speed", "300"],
        capture_output=True,
        text=True,
        timeout=100,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    url = re.search(r"API (http://127\.0\.0\.1:(\d+))", out)
    assert url, out
    assert f"{url.group(1)}/docs" in out
    summary = re.search(r"demo stopped: (\d+) reads sent, (\d+) stored", out)
    assert summary, out
    sent, stored = int(summary.group(1)), int(summary.group(2))
    assert stored > 100
    assert stored <= sent
    assert "Refused reads (camera health)" in out
    assert re.search(r"sluitend\s+│\s+stay\s+│\s+\d+", out), "the zone-closure rule paired no stay"
    broker = re.search(r"private broker on port (\d+)", out)
    assert broker, out
    for port in (int(url.group(2)), int(broker.group(1))):  # neither the API nor the broker is left running
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"something still listens on port {port}"
    folder = re.search(r"Data folder: (\S+)", out)
    assert folder and not Path(folder.group(1)).exists(), "the temporary data folder was left behind"
