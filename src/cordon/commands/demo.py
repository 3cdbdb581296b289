"""`cordon demo`: Cordon and a simulated town feeding it live, through the real ingest path."""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.live import Live

from cordon.broker import Mosquitto, find_mosquitto
from cordon.commands.common import build_settings
from cordon.config import ZoneConfig, load_zone
from cordon.decisions.service import RuleService
from cordon.demo import demo_zone_path
from cordon.demo.live import LiveStats, render
from cordon.feed import CameraFeed
from cordon.ingest.mqtt import MqttIngest
from cordon.investigate import build_upkeep
from cordon.reference import ReferenceData, load_fixtures
from cordon.runtime import Runtime, build_runtime
from cordon.server import ServerThread, tune_gc_for_latency
from cordon.settings import MqttSettings, RulesSettings
from cordon.sim import NoiseSettings, SimSettings, Simulation, write_fixtures
from cordon.sim.output import clock_reports

GUIDE = """\
Try, while it runs:
  open {url}/docs                      the API, served offline (no CDN)
  curl {url}/api/v1/health/cameras     refused reads per camera (a health figure)
  cordon reads tail -f --data {data}   follow the stored reads
Cameras post over HTTP{mqtt}. Stop with Ctrl-C. Data folder: {data}"""


def morning_start(now: datetime, timezone: str, days: float) -> datetime:
    """The latest 06:30 local time from which a period of `days` has ended by `now`: the replay opens with the
    morning rush, and no read is dated in the future."""
    local = now.astimezone(ZoneInfo(timezone))
    start = local.replace(hour=6, minute=30, second=0, microsecond=0)
    while start + timedelta(days=days) > local:
        start -= timedelta(days=1)
    return start.astimezone(UTC)


class DemoTown:
    """Everything the demo runs, started and stopped in order: a private broker (when Mosquitto is installed),
    then the platform with its rules publishing alerts and bollard commands on that broker."""

    def __init__(self, zone: ZoneConfig, folder: Path, port: int, reference: ReferenceData) -> None:
        self.folder = folder
        self.broker: Mosquitto | None = None
        binary = find_mosquitto()
        overrides: dict[str, object] = {}
        if binary is not None:
            self.broker = Mosquitto(binary, folder / "mosquitto", anonymous=True)
            self.broker.folder.mkdir(parents=True, exist_ok=True)
            self.broker.start()
            overrides = {"mqtt": MqttSettings(host=self.broker.host, port=self.broker.port),
                         "rules": RulesSettings(mqtt_out=True)}  # fmt: skip
        settings = build_settings(data_dir=folder, zone_file=demo_zone_path(), http_port=port, **overrides)
        self.runtime: Runtime = build_runtime(settings, zone, reference)
        self.subscriber: MqttIngest | None = None
        self.server = ServerThread(self.runtime, port=port)
        self.upkeep = build_upkeep(self.runtime)

    @property
    def rules(self) -> RuleService:
        assert self.runtime.rules is not None  # the demo's settings keep the rules on
        return self.runtime.rules

    def start(self) -> None:
        self.runtime.start()
        self.upkeep.start()
        if self.broker is not None:
            self.subscriber = MqttIngest(self.runtime.ingest, self.runtime.settings.mqtt)
            self.subscriber.start()
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        if self.subscriber is not None:
            self.subscriber.stop()
        self.upkeep.stop()
        self.runtime.stop()
        if self.broker is not None:
            self.broker.stop()


@click.command()
@click.option("--duration", type=float, default=None, envvar="CORDON_DEMO_DURATION",
              help="Stop after this many seconds (default: run until Ctrl-C). Env: CORDON_DEMO_DURATION.")  # fmt: skip
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the data in this folder (default: a fresh temporary folder).")  # fmt: skip
@click.option("--port", type=int, default=0, help="API port (default: any free port).")
@click.option("--speed", type=click.FloatRange(min=1, max=100_000), default=60.0, show_default=True,
              help="Time acceleration of the simulated town (60: an hour a minute).")  # fmt: skip
@click.option("--vehicles-per-day", type=click.IntRange(100, 1_000_000), default=20_000, show_default=True,
              help="Vehicles entering the town on a weekday.")  # fmt: skip
@click.option("--days", type=click.FloatRange(0.05, 30), default=1.0, show_default=True,
              help="Simulated period, ending now: the town replays it from its start.")  # fmt: skip
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulated town.")
def demo(
    duration: float | None, data_dir: Path | None, port: int, speed: float, vehicles_per_day: int, days: float,
    seed: int,
) -> None:  # fmt: skip
    """Run Cordon on a simulated town: cameras on every road in and out post reads live, with their
    imperfections (missed and misread plates, clock drift, late delivery), and the zone's rules run on them.

    \b
    Example:
      cordon demo                      run until Ctrl-C
      cordon demo --duration 30        stop after 30 s
      cordon demo --speed 600 --data /tmp/town
    """
    zone = load_zone(demo_zone_path())
    temporary = None if data_dir is not None else tempfile.TemporaryDirectory(prefix="cordon-demo-")
    folder = data_dir if data_dir is not None else Path(temporary.name)  # type: ignore[union-attr]
    end = morning_start(datetime.now(UTC), zone.zone.timezone, days) + timedelta(days=days)
    simulation = Simulation(zone, SimSettings(seed=seed, days=days, end=end, vehicles_per_day=vehicles_per_day),
                            NoiseSettings())  # fmt: skip
    # What the rules decide with: the town's hotlist, permits and camera clock reports, written where an
    # operator can read them and loaded as the server would (the registry is left to the cameras' classes).
    fixtures = folder / "fixtures"
    write_fixtures(fixtures, simulation.hotlist, simulation.permits, [], clock_reports(simulation.cameras))
    reference, _ = load_fixtures(fixtures)
    town = DemoTown(zone, folder, port, reference)
    town.start()
    tune_gc_for_latency()
    keys = {camera.id: town.runtime.keyring.issue(camera.id, "cordon demo") for camera in zone.cameras}
    broker = town.broker.address if town.broker is not None else None
    feed = CameraFeed(zone, town.server.url, keys, broker)
    stats = LiveStats()
    town.runtime.bus.subscribe(stats.on_stored)
    town.rules.runner.add_sink(stats.on_decision)
    deliveries = itertools.chain.from_iterable(chunk.reads for chunk in simulation.run())
    stop = threading.Event()
    failure: list[BaseException] = []

    def feeder() -> None:
        try:
            feed.replay(deliveries, speed, stop)
        except BaseException as exc:  # reported on the main thread
            failure.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=feeder, name="cordon-demo-feeder", daemon=True)
    console = Console()
    console.print(
        f"[bold]Cordon demo[/bold]: zone '{zone.zone.name}', {len(zone.cameras)} cameras, API {town.server.url}"
    )
    mqtt_note = f" and MQTT (private broker on port {broker[1]})" if broker else " (no mosquitto installed: no MQTT)"
    console.print(GUIDE.format(url=town.server.url, data=folder, mqtt=mqtt_note))
    thread.start()
    deadline = time.monotonic() + duration if duration is not None else None
    try:
        with Live(render(stats, town.runtime, feed.stats, town.server.url), console=console,
                  refresh_per_second=2) as live:  # fmt: skip
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                stop.wait(0.5)
                live.update(render(stats, town.runtime, feed.stats, town.server.url))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(10)
        feed.close()
        town.stop()
        if temporary is not None:
            temporary.cleanup()
    if failure:
        raise click.ClickException(f"the simulated cameras stopped: {failure[0]}")
    console.print(f"\ndemo stopped: {feed.stats.sent} reads sent, {stats.stored} stored.")
