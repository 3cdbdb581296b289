"""`cordon serve`: the API, the MQTT ingest and the store, in one process."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cordon.commands.common import DATA_OPTION, ZONE_OPTION, build_settings
from cordon.investigate import build_upkeep
from cordon.runtime import build_runtime
from cordon.server import serve_forever, tune_gc_for_latency

log = logging.getLogger("cordon")


@click.command()
@ZONE_OPTION
@DATA_OPTION
@click.option("--host", "http_host", default=None, envvar="CORDON_HTTP_HOST", help="Listen address [127.0.0.1].")
@click.option("--port", "http_port", type=int, default=None, envvar="CORDON_HTTP_PORT", help="Listen port [8080].")
@click.option("--mqtt/--no-mqtt", "mqtt_enabled", default=None, help="Subscribe to camera reads on MQTT.")
@click.option("--mqtt-host", default=None, help="MQTT broker host [127.0.0.1].")
@click.option("--mqtt-port", type=int, default=None, help="MQTT broker port [1883].")
def serve(
    zone_file: Path | None,
    data_dir: Path | None,
    http_host: str | None,
    http_port: int | None,
    mqtt_enabled: bool | None,
    mqtt_host: str | None,
    mqtt_port: int | None,
) -> None:
    """Run Cordon: HTTP API, MQTT ingest (with --mqtt) and the embedded store.

    \b
    Example:
      cordon cameras key cam-n445-north --zone examples/demo-zone.yaml
      cordon serve --zone examples/demo-zone.yaml --mqtt
    The store is migrated forward on start. Stop with Ctrl-C: queued reads are committed first.
    """
    mqtt = {k: v for k, v in {"enabled": mqtt_enabled, "host": mqtt_host, "port": mqtt_port}.items() if v is not None}
    settings = build_settings(
        zone_file=zone_file, data_dir=data_dir, http_host=http_host, http_port=http_port, mqtt=mqtt or None
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    runtime = build_runtime(settings)
    runtime.start()
    upkeep = build_upkeep(runtime)  # search-index catch-up and retention, on their own thread
    upkeep.start()
    tune_gc_for_latency()
    subscriber = None
    try:
        if settings.mqtt.enabled:
            from cordon.ingest.mqtt import MqttIngest

            subscriber = MqttIngest(runtime.ingest, settings.mqtt)
            subscriber.start()
        log.info(
            "zone %s: %d cameras; store %s; API on %s://%s:%d (docs at /docs)",
            runtime.zone.zone.id, len(runtime.zone.cameras), settings.store_url_for_logs,
            settings.tls.scheme, settings.http_host, settings.http_port,
        )  # fmt: skip
        serve_forever(runtime, settings.http_host, settings.http_port)
    finally:
        if subscriber is not None:
            subscriber.stop()
        upkeep.stop()
        runtime.stop()
