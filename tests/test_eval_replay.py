"""`cordon eval` scores rules against the simulator's truth; `cordon sim replay` feeds a live server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cordon.config import load_zone
from cordon.evaluate import Score, evaluate
from cordon.feed import CameraFeed
from cordon.runtime import Runtime, build_runtime
from cordon.server import ServerThread
from cordon.settings import Settings
from cordon.sim import NoiseSettings, read_deliveries
from tests.brokers import mosquitto  # noqa: F401 - fixture
from tests.conftest import DEMO_ZONE
from tests.simtown import simulate_town

# The latest 17:00 UTC at least an hour ago: the simulated period ends in the evening rush whatever time the
# tests run (a period ending at night holds too few vehicles), and its reads are recent enough to be ingested.
_NOW = datetime.now(UTC) - timedelta(hours=1)
END = _NOW.replace(hour=17, minute=0, second=0, microsecond=0) - timedelta(days=int(_NOW.hour < 17))


def simulate(folder: Path, noise: NoiseSettings, days: float = 1, vehicles: int = 3000) -> tuple[Path, Path]:
    town = simulate_town(folder, noise, end=END, days=days, vehicles=vehicles)
    return town.reads, town.truth


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "precision", "recall"), [(8, 2, 0, 0.8, 1.0), (0, 0, 0, 1.0, 1.0), (3, 0, 1, 1.0, 0.75)]
)
def test_score_arithmetic(tp: int, fp: int, fn: int, precision: float, recall: float) -> None:
    score = Score(tp, fp, fn)
    assert (score.precision, score.recall) == (precision, recall)
    assert score.to_json() == {"precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn}


def test_without_noise_the_rules_find_exactly_the_truth(tmp_path: Path) -> None:
    reads, truth = simulate(tmp_path, NoiseSettings.off())
    evaluation = evaluate(load_zone(DEMO_ZONE), reads, truth)
    closure = evaluation.scores["zone_closure"]
    assert closure.tp > 1000
    assert (closure.fp, closure.fn) == (0, 0)
    assert evaluation.refused == 0
    assert set(evaluation.notes) == {rule.type for rule in load_zone(DEMO_ZONE).rules}  # each type accounted for


def test_with_camera_noise_precision_stays_high(tmp_path: Path) -> None:
    reads, truth = simulate(tmp_path, NoiseSettings())
    closure = evaluate(load_zone(DEMO_ZONE), reads, truth).scores["zone_closure"]
    assert closure.precision > 0.98
    assert 0.80 < closure.recall < 1.0  # missed and misread plates break some pairs: never a perfect score


def test_eval_command_json(tmp_path: Path) -> None:
    reads, truth = simulate(tmp_path, NoiseSettings.off(), days=0.5, vehicles=1000)
    result = subprocess.run(
        [sys.executable, "-m", "cordon", "eval", "--zone", str(DEMO_ZONE), "--reads", str(reads),
         "--truth", str(truth), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert set(scores["zone_closure"]) == {"precision", "recall", "tp", "fp", "fn"}
    assert scores["zone_closure"]["precision"] == 1.0


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Runtime, ServerThread]]:
    runtime = build_runtime(Settings(data_dir=tmp_path / "data", zone_file=DEMO_ZONE))
    runtime.start()
    server = ServerThread(runtime)
    server.start()
    yield runtime, server
    server.stop()
    runtime.stop()


def test_replay_keeps_delivery_order_and_scales_time(tmp_path: Path, live: tuple[Runtime, ServerThread]) -> None:
    runtime, server = live
    reads, _ = simulate(tmp_path, NoiseSettings.off(), days=0.25, vehicles=400)
    deliveries = list(read_deliveries(reads))[:150]
    span_s = (deliveries[-1].deliver_at_ms - deliveries[0].deliver_at_ms) / 1000
    speed = span_s / 3.0  # the whole selection in about three seconds
    keys = {camera.id: runtime.keyring.issue(camera.id) for camera in runtime.zone.cameras}
    feed = CameraFeed(runtime.zone, server.url, keys)
    started = time.monotonic()
    feed.replay(deliveries, speed)
    elapsed = time.monotonic() - started
    feed.close()
    assert 2.5 < elapsed < 6.0, elapsed
    assert feed.stats.answers == {"201": 150}
    stored = [read.event_id for _, read in runtime.store.reads_after(0, 1000)]
    assert stored == [d.read["eventId"] for d in deliveries]  # storage order is delivery order


@pytest.mark.mqtt
def test_replay_uses_mqtt_for_mqtt_cameras(
    tmp_path: Path,
    live: tuple[Runtime, ServerThread],
    mosquitto: tuple[str, int],  # noqa: F811
) -> None:
    from cordon.ingest.mqtt import MqttIngest

    runtime, server = live
    broker = runtime.settings.mqtt.model_copy(update={"host": mosquitto[0], "port": mosquitto[1]})
    subscriber = MqttIngest(runtime.ingest, broker)
    subscriber.start()
    try:
        reads, _ = simulate(tmp_path, NoiseSettings.off(), days=0.25, vehicles=400)
        deliveries = list(read_deliveries(reads))[:200]
        keys = {camera.id: runtime.keyring.issue(camera.id) for camera in runtime.zone.cameras}
        feed = CameraFeed(runtime.zone, server.url, keys, mosquitto)
        feed.replay(deliveries, speed=1e9)
        feed.close()
        assert feed.stats.answers["mqtt"] > 0 and feed.stats.answers["201"] > 0
        deadline = time.monotonic() + 10
        while runtime.store.count_reads() < len(deliveries) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.store.count_reads() == len(deliveries)
    finally:
        subscriber.stop()
