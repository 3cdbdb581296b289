"""`cordon serve` as an operator runs it: a real uvicorn process, real HTTP, a clean stop."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cordon.server import free_port
from cordon.settings import Settings
from cordon.store import open_store
from tests.conftest import SMALL_ZONE, read_json


def wait_until_up(
    url: str, process: subprocess.Popen[str], timeout: float = 20, verify: ssl.SSLContext | bool = True
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"cordon serve exited: {process.communicate()[1]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("cordon serve did not come up")


@pytest.mark.timeout(90)
def test_serve_ingests_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "CORDON_DATA_DIR": str(data), "CORDON_ZONE_FILE": str(SMALL_ZONE)}
    key = subprocess.run(
        [sys.executable, "-m", "cordon", "cameras", "key", "cam-north"], env=env, capture_output=True, text=True
    ).stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "cordon", "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until_up(url, process)
        headers = {"Authorization": f"Bearer {key}"}
        batch = [read_json(f"1-ABC-{i:03d}", eventId=f"s{i}") for i in range(200)]
        answer = httpx.post(f"{url}/api/v1/reads", json=batch, headers=headers, timeout=10)
        assert answer.status_code == 201, answer.text
        assert answer.json()["stored"] == 200
        bad = httpx.post(f"{url}/api/v1/reads", json=read_json("1-AB?-234"), headers=headers, timeout=10)
        assert bad.status_code == 422
        assert httpx.get(f"{url}/docs", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "1ABC" not in stderr, "a plate was written to the log"
    store = open_store(Settings(data_dir=data))
    try:
        assert store.count_reads() == 200
        assert [(r.camera_id, r.reason, r.count) for r in store.rejections()] == [("cam-north", "invalid_plate", 1)]
    finally:
        store.close()


def test_serve_on_a_busy_port_fails_clearly(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "cordon", "serve", "--zone", str(SMALL_ZONE), "--port", str(port)],
            env={**os.environ, "CORDON_DATA_DIR": str(tmp_path / "data")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Error: the API could not start on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
