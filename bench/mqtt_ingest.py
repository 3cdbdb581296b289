"""MQTT ingest throughput: camera → Mosquitto → `MqttIngest` → durable SQLite store, end to end.

Starts its own `mosquitto` (loopback, free port, persistence off, no cap on queued messages) and a Cordon
runtime in this process (examples/demo-zone.yaml, a fresh data folder, SQLite with synchronous=FULL, one
API key per camera), subscribed with `MqttIngest` exactly as `cordon serve --mqtt` does (receipts on). A
publisher in a SECOND PROCESS (paho, MQTT 5, QoS 1, up to 1,000 in flight) sends N valid reads from the
zone's four MQTT cameras, each on its own topic with its own key in the envelope, in two modes:

  single: one read per message;   batch: `--batch` reads per message (100 by default),

and two scenarios:

  live:    Cordon is subscribed while the camera publishes; the clock runs from the first publish to the
           moment the last read is durable (the writer's post-commit hook, after the transaction committed);
  backlog: the camera publishes while Cordon is away (its persistent session queues the messages); the
           clock runs from Cordon's start to the last read durable: Cordon's own capacity, without the
           publisher competing for the two cores.

Printed per run: reads/s and messages/s end to end, the publisher's own rate, commits and reads per commit,
CPU seconds of this process (Cordon: paho's network thread and the writer) and per message, the
publisher's CPU, and a check that every read is stored exactly once and nothing was refused.

Run: .venv/bin/python bench/mqtt_ingest.py                 (about 90 s)
     .venv/bin/python bench/mqtt_ingest.py --reads 20000   (quicker)
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, free_port, human, print_machine, read_json

TARGET_READS_S = 10_000
PUBLISH_WINDOW = 1000  # QoS 1 messages the camera has in flight to the broker
TIMEOUT_S = 300
MQTT_CAMERAS = ("cam-durmen-east", "cam-n47-south", "cam-bookmolen-west", "cam-n445b-north")
MOSQUITTO = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


# -- the publisher (second process) -------------------------------------------------------------------------


def publish(job: dict[str, object]) -> None:
    """Build every message first, wait for `go` on stdin, publish them all at QoS 1, report on stdout."""
    from paho.mqtt.client import Client
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    keys: dict[str, str] = job["keys"]  # type: ignore[assignment]
    reads, per_message = int(job["reads"]), int(job["per_message"])  # type: ignore[call-overload]
    rng = random.Random(int(job["seed"]))  # type: ignore[call-overload]
    start = datetime.now(UTC) - timedelta(seconds=reads / 100)
    messages: list[tuple[str, bytes]] = []
    for first in range(0, reads, per_message):
        camera = MQTT_CAMERAS[(first // per_message) % len(MQTT_CAMERAS)]
        batch = [
            read_json(rng, camera, f"{job['run']}-{i:09d}", start + timedelta(milliseconds=10 * i))
            for i in range(first, min(first + per_message, reads))
        ]
        body = (
            {"apiKey": keys[camera], "read": batch[0]} if per_message == 1 else {"apiKey": keys[camera], "reads": batch}
        )
        messages.append((f"cordon/cameras/{camera}/reads", json.dumps(body).encode()))
    done = threading.Event()
    # Our own window below paho's: paho's queue past max_inflight_messages hands out 16-bit packet ids to
    # every queued message, so past 65,535 queued they collide and messages are lost (seen: 100,000 queued,
    # 67,400 sent). With the window, paho never queues.
    window = threading.BoundedSemaphore(PUBLISH_WINDOW)
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        window.release()
        if acked == len(messages):
            done.set()

    client = Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-camera-{job['run']}", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(PUBLISH_WINDOW + 100)
    client.on_publish = on_publish
    client.connect("127.0.0.1", int(job["port"]))  # type: ignore[call-overload]
    client.loop_start()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    cpu = time.process_time()
    for topic, payload in messages:
        window.acquire()
        client.publish(topic, payload, qos=1)
    done.wait(TIMEOUT_S)
    finished = time.time()
    report = {"started": started, "finished": finished, "cpu": time.process_time() - cpu, "acked": acked}
    print(json.dumps(report), flush=True)
    client.disconnect()
    client.loop_stop()


# -- Cordon and the broker (this process) --------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    reads: int
    messages: int
    seconds: float
    publish_seconds: float
    commits: int
    cordon_cpu: float
    publisher_cpu: float
    stored: int
    refused: int

    @property
    def reads_s(self) -> float:
        return self.reads / self.seconds


def start_mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = next((found for name in MOSQUITTO if (found := shutil.which(name)) or Path(name).is_file()), None)
    if binary is None:
        sys.exit("mosquitto is not installed (apt-get install mosquitto)")
    binary = shutil.which(binary) or binary
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n")
    process = subprocess.Popen([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.02)
    process.kill()
    sys.exit("mosquitto did not start")


def run_mode(mode: str, scenario: str, per_message: int, args: argparse.Namespace, port: int, run: int) -> Result:
    """One measured run on a fresh store. `live`: Cordon subscribed while the camera publishes; `backlog`:
    the camera publishes while Cordon is away (persistent session), the clock starts when Cordon starts."""
    from cordon.ingest.mqtt import MqttIngest
    from cordon.runtime import build_runtime
    from cordon.settings import IngestSettings, MqttSettings, Settings

    reads = args.reads
    settings = Settings(
        data_dir=args.folder / f"data-{run}",
        zone_file=DEMO_ZONE,
        sqlite_synchronous="FULL",
        ingest=IngestSettings(commit_delay_ms=args.commit_delay_ms),
        mqtt=MqttSettings(enabled=True, port=port, client_id=f"cordon-bench-{run}"),
    )
    runtime = build_runtime(settings)
    runtime.start()
    keys = {camera: runtime.keyring.issue(camera, "bench") for camera in MQTT_CAMERAS}
    durable = threading.Event()
    last_durable = 0.0
    count = 0

    def on_stored(batch: Sequence[object]) -> None:
        nonlocal count, last_durable
        count += len(batch)
        if count >= reads:
            last_durable = time.time()
            durable.set()

    runtime.bus.subscribe(on_stored)
    subscriber = MqttIngest(runtime.ingest, settings.mqtt, publish_receipts=args.receipts)
    subscriber.start()  # creates the persistent session
    if scenario == "backlog":
        subscriber.stop()
    job = {"keys": keys, "reads": reads, "per_message": per_message, "seed": run, "run": run, "port": port}
    publisher = subprocess.Popen(
        [sys.executable, __file__, "--publisher", json.dumps(job)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert publisher.stdin is not None and publisher.stdout is not None
    if publisher.stdout.readline().strip() != b"ready":
        sys.exit("the publisher did not start")
    commits = runtime.writer.commits
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    publisher.stdin.write(b"go\n")
    publisher.stdin.flush()
    report = json.loads(publisher.stdout.readline())
    if report["acked"] != -(-reads // per_message):
        sys.exit(f"{mode}/{scenario}: the broker acknowledged only {report['acked']} messages to the publisher")
    started = report["started"]
    if scenario == "backlog":
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        started = time.time()
        subscriber = MqttIngest(runtime.ingest, settings.mqtt, publish_receipts=args.receipts)
        subscriber.start()
    if not durable.wait(TIMEOUT_S):
        sys.exit(f"{mode}/{scenario}: only {count} of {reads} reads stored after {TIMEOUT_S} s")
    after = resource.getrusage(resource.RUSAGE_SELF)
    publisher.wait(30)
    subscriber.stop()
    result = Result(
        mode=f"{mode}/{scenario}",
        reads=reads,
        messages=-(-reads // per_message),
        seconds=last_durable - started,
        publish_seconds=report["finished"] - report["started"],
        commits=runtime.writer.commits - commits,
        cordon_cpu=(after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime),
        publisher_cpu=report["cpu"],
        stored=runtime.store.count_reads(),
        refused=sum(row.count for row in runtime.ingest.rejection_counts()),
    )
    runtime.stop()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=100_000, help="reads per run [100000]")
    parser.add_argument("--batch", type=int, default=100, help="reads per message in batch mode [100]")
    parser.add_argument("--modes", default="single,batch", help="comma-separated: single, batch [both]")
    parser.add_argument("--scenarios", default="live,backlog", help="comma-separated: live, backlog [both]")
    parser.add_argument("--commit-delay-ms", type=float, default=0.0, help="runtime's ingest.commit_delay_ms [0]")
    parser.add_argument(
        "--receipts", action=argparse.BooleanOptionalAction, default=True, help="receipts on .../acks [on]"
    )
    parser.add_argument("--publisher", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.publisher:
        publish(json.loads(args.publisher))
        return
    print_machine()
    print(
        f"# mosquitto, SQLite synchronous=FULL, {args.reads:,} reads per run, publisher in a second process, "
        f"receipts {'on' if args.receipts else 'off'}, commit_delay_ms={args.commit_delay_ms:g}"
    )
    args.folder = Path(tempfile.mkdtemp(prefix="cordon-mqtt-bench-"))
    broker, port = start_mosquitto(args.folder)
    results: list[Result] = []
    try:
        runs = [(m, s) for m in args.modes.split(",") for s in args.scenarios.split(",")]
        for run, (mode, scenario) in enumerate(runs, start=1):
            per_message = 1 if mode == "single" else args.batch
            results.append(run_mode(mode, scenario, per_message, args, port, run))
    finally:
        broker.terminate()
        broker.wait()
        shutil.rmtree(args.folder, ignore_errors=True)
    print(
        f"{'run':15} {'reads/msg':>9} {'reads/s':>9} {'msgs/s':>8} {'publish/s':>10} {'commits':>8} "
        f"{'reads/commit':>12} {'cordon cpu':>10} {'µs/msg':>7} {'pub cpu':>8} {'stored':>8} {'refused':>7}"
    )
    for r in results:
        print(
            f"{r.mode:15} {r.reads // r.messages:>9} {human(r.reads_s):>9} {human(r.messages / r.seconds):>8} "
            f"{human(r.reads / r.publish_seconds):>10} {r.commits:>8,} {r.reads / max(r.commits, 1):>12.1f} "
            f"{r.cordon_cpu:>9.1f}s {r.cordon_cpu / r.messages * 1e6:>7.0f} {r.publisher_cpu:>7.1f}s "
            f"{r.stored:>8,} {r.refused:>7}"
        )
    for r in results:
        verdict = "meets" if r.reads_s >= TARGET_READS_S else "BELOW"
        print(f"# {r.mode}: {human(r.reads_s)} reads/s end to end, {verdict} the {TARGET_READS_S:,} reads/s target")
        if r.stored != r.reads or r.refused:
            print(f"# {r.mode}: CHECK FAILED: {r.stored} stored, {r.refused} refused of {r.reads}")


if __name__ == "__main__":
    main()
