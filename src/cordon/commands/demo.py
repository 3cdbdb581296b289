"""`cordon demo`: start Cordon and a simulated town that feeds it live, through the real HTTP ingest."""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.live import Live

from cordon.commands.common import build_settings
from cordon.config import load_zone
from cordon.demo import demo_zone_path
from cordon.demo.live import LiveStats, render
from cordon.demo.traffic import DemoTraffic
from cordon.runtime import Runtime, build_runtime
from cordon.server import ServerThread

GUIDE = """\
Try, while it runs:
  open {url}/docs                      the API, served offline (no CDN)
  curl {url}/api/v1/health/cameras     refused reads per camera (a health figure)
  cordon reads tail -f --data {data}   follow the stored reads
Stop with Ctrl-C. Data folder: {data}"""


def _feed(runtime: Runtime, url: str, traffic: DemoTraffic, stats: LiveStats, stop: threading.Event) -> None:
    """Post every passage as its camera would, one read per request, with the camera's own key."""
    keys = {camera.id: runtime.keyring.issue(camera.id, "cordon demo") for camera in runtime.zone.cameras}
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            for passage in traffic.take_due(datetime.now(UTC)):
                message = traffic.camera_message(passage)
                headers = {"Authorization": f"Bearer {keys[passage.camera_id]}"}
                try:
                    client.post("/api/v1/reads", json=message, headers=headers)
                except httpx.HTTPError:
                    if stop.is_set():
                        return
                    raise
                stats.add_sent(1)
            stop.wait(0.05)


@click.command()
@click.option("--duration", type=float, default=None, envvar="CORDON_DEMO_DURATION",
              help="Stop after this many seconds (default: run until Ctrl-C). Env: CORDON_DEMO_DURATION.")  # fmt: skip
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the data in this folder (default: a fresh temporary folder).")  # fmt: skip
@click.option("--port", type=int, default=0, help="API port (default: any free port).")
@click.option("--rate", type=click.FloatRange(1, 100_000), default=240.0, help="Vehicles entering per minute.")
@click.option("--seed", type=int, default=1, help="Seed of the simulated traffic.")
def demo(duration: float | None, data_dir: Path | None, port: int, rate: float, seed: int) -> None:
    """Run Cordon on a simulated town: cameras on every road in and out post reads live.

    \b
    Example:
      cordon demo                 run until Ctrl-C
      cordon demo --duration 30   stop after 30 s
    """
    zone_path = demo_zone_path()
    zone = load_zone(zone_path)
    temporary = None if data_dir is not None else tempfile.TemporaryDirectory(prefix="cordon-demo-")
    folder = data_dir if data_dir is not None else Path(temporary.name)  # type: ignore[union-attr]
    settings = build_settings(data_dir=folder, zone_file=zone_path, http_port=port)
    runtime = build_runtime(settings, zone)
    runtime.start()
    server = ServerThread(runtime, port=port)
    server.start()
    stats = LiveStats()
    runtime.bus.subscribe(stats.on_stored)
    stop = threading.Event()
    failure: list[BaseException] = []

    def feeder() -> None:
        try:
            _feed(runtime, server.url, DemoTraffic(zone, seed=seed, vehicles_per_minute=rate), stats, stop)
        except BaseException as exc:  # reported on the main thread
            failure.append(exc)
            stop.set()

    thread = threading.Thread(target=feeder, name="cordon-demo-feeder", daemon=True)
    console = Console()
    console.print(f"[bold]Cordon demo[/bold]: zone '{zone.zone.name}', {len(zone.cameras)} cameras, API {server.url}")
    console.print(GUIDE.format(url=server.url, data=folder))
    thread.start()
    deadline = time.monotonic() + duration if duration is not None else None
    try:
        with Live(render(stats, runtime, server.url), console=console, refresh_per_second=2) as live:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                stop.wait(0.5)
                live.update(render(stats, runtime, server.url))
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        thread.join(10)
        server.stop()
        runtime.stop()
        if temporary is not None:
            temporary.cleanup()
    if failure:
        raise click.ClickException(f"the simulated cameras stopped: {failure[0]}")
    console.print(f"\ndemo stopped: {stats.sent} reads sent, {stats.stored} stored.")
