"""Read at a bollard camera → MQTT `lower` command at the bollard controller, under background load.

Everything real, each in its own process: Mosquitto (private, loopback), `cordon serve --mqtt` with the
zone's rules publishing commands (`CORDON_RULES__MQTT_OUT=true`, an access permit loaded from a reference
folder), a load process publishing `--load` reads/s over MQTT from the demo zone's MQTT cameras (messages of
10 reads, QoS 1), and this process: a probe camera (`cam-school`) publishing a read of the permit holder every
`--every` ms, and the bollard controller subscribed to `cordon/bollards/bollard-school/command`.

Latency = the controller receiving the command − the probe handing its read to paho (same process, same
monotonic clock): it covers the broker twice, MQTT ingest, the durable commit (synchronous=FULL), the rule,
the decision store's commit and the publisher. Printed: p50, p95, p99, max, and how much load was really
carried. Target (DESIGN.md §5): p99 ≤ 50 ms under 1,000 reads/s.

Run: .venv/bin/python bench/bollard_latency.py                 (about 40 s)
     .venv/bin/python bench/bollard_latency.py --probes 200 --load 500
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEMO_ZONE, CordonServer, print_machine, read_json
from cordon.broker import Mosquitto, find_mosquitto

LOAD_CAMERAS = ("cam-durmen-east", "cam-n47-south", "cam-bookmolen-west", "cam-n445b-north")
PROBE_CAMERA, CONTROLLER, PERMIT_PLATE = "cam-school", "bollard-school", "1-PRM-001"
PER_MESSAGE = 10
TARGET_P99_MS = 50.0
SLOW_MS = 20.0  # probes slower than this are listed: a stall shows as neighbours slow together


def load(job: dict[str, object]) -> None:
    """The background load (second process): `rate` reads/s, paced per message, until stdin closes."""
    from paho.mqtt.client import Client
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    keys: dict[str, str] = job["keys"]  # type: ignore[assignment]
    rate, port = float(job["rate"]), int(job["port"])  # type: ignore[arg-type, call-overload]
    rng = random.Random(7)
    client = Client(CallbackAPIVersion.VERSION2, client_id="bench-load", protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    stop = threading.Event()

    def wait_for_end() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_end, daemon=True).start()
    interval, sent, start = PER_MESSAGE / rate, 0, time.monotonic()
    while not stop.is_set():
        camera = LOAD_CAMERAS[sent % len(LOAD_CAMERAS)]
        now = datetime.now(UTC)
        reads = [read_json(rng, camera, f"load-{sent}-{i}", now) for i in range(PER_MESSAGE)]
        client.publish(f"cordon/cameras/{camera}/reads", json.dumps({"apiKey": keys[camera], "reads": reads}), qos=1)
        sent += 1
        delay = start + sent * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"reads": sent * PER_MESSAGE, "seconds": time.monotonic() - start}), flush=True)
    client.disconnect()
    client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=300, help="bollard reads to time")
    parser.add_argument("--every", type=float, default=100, help="ms between probe reads")
    parser.add_argument("--load", type=float, default=1000, help="background reads/s")
    parser.add_argument("--no-index", action="store_true", help="(diagnosis) no search-index upkeep in the server")
    args = parser.parse_args()
    print_machine()
    from paho.mqtt.client import Client, MQTTMessage
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    binary = find_mosquitto()
    if binary is None:
        sys.exit("mosquitto is not installed (apt-get install mosquitto)")
    folder = Path(tempfile.mkdtemp(prefix="cordon-bench-bollard-"))
    reference = folder / "reference"
    reference.mkdir()
    (reference / "permits.csv").write_text(
        "permit,type,plate,area,valid_from,valid_until,windows\n"
        f"p-bench,access,{PERMIT_PLATE},schoolstraat,2020-01-01T00:00:00Z,2100-01-01T00:00:00Z,\n"
    )
    broker = Mosquitto(binary, folder / "mosquitto", anonymous=True)
    broker.folder.mkdir()
    broker.start()
    env = {
        "CORDON_MQTT__ENABLED": "true",
        "CORDON_MQTT__HOST": broker.host,
        "CORDON_MQTT__PORT": str(broker.port),
        "CORDON_RULES__MQTT_OUT": "true",
        "CORDON_RULES__REFERENCE_DIR": str(reference),
        **({"CORDON_INVESTIGATE__INDEX_EVERY_S": "0"} if "--no-index" in sys.argv else {}),
    }
    server = CordonServer(cameras=(*LOAD_CAMERAS, PROBE_CAMERA), zone=DEMO_ZONE, env=env)
    loader: subprocess.Popen[str] | None = None
    try:
        server.start()
        sent: dict[str, float] = {}
        latencies: list[float] = []
        slow: list[tuple[str, float]] = []
        lock = threading.Lock()

        def on_command(_: Client, __: object, message: MQTTMessage) -> None:
            arrived = time.perf_counter()
            command = json.loads(message.payload)
            event = (command.get("readId") or [None, None])[1]
            with lock:
                if event in sent:
                    latencies.append((arrived - sent.pop(event)) * 1000)
                    if latencies[-1] > SLOW_MS:
                        slow.append((event, latencies[-1]))

        controller = Client(CallbackAPIVersion.VERSION2, client_id="bench-controller",
                            protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        controller.on_message = on_command
        controller.connect(broker.host, broker.port)
        controller.subscribe(f"cordon/bollards/{CONTROLLER}/command", qos=1)
        controller.loop_start()
        probe = Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=MQTTProtocolVersion.MQTTv5)
        probe.connect(broker.host, broker.port)
        probe.loop_start()
        job = {"keys": server.keys, "rate": args.load, "port": broker.port}
        loader = subprocess.Popen(
            [sys.executable, __file__, "--load-process", json.dumps(job)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(3)  # the load reaches its pace
        rng = random.Random(1)
        key = server.keys[PROBE_CAMERA]
        for n in range(args.probes):
            event = f"probe-{n}"
            read = read_json(rng, PROBE_CAMERA, event, datetime.now(UTC))
            read.update(licensePlate=PERMIT_PLATE, country="BE", laneId="1")
            payload = json.dumps({"apiKey": key, "read": read})
            with lock:
                sent[event] = time.perf_counter()
            probe.publish(f"cordon/cameras/{PROBE_CAMERA}/reads", payload, qos=1)
            time.sleep(args.every / 1000)
        time.sleep(2)
        assert loader.stdin is not None
        loader.stdin.close()
        carried = json.loads(loader.stdout.readline()) if loader.stdout else {"reads": 0, "seconds": 1}
        controller.loop_stop()
        probe.loop_stop()
    finally:
        if loader is not None and loader.poll() is None:
            loader.kill()
        server.cleanup()
        broker.stop()
    if not latencies:
        sys.exit(f"no command arrived; server log:\n{server.log()}")
    ordered = sorted(latencies)

    def p(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    load_rate = carried["reads"] / carried["seconds"]
    print(f"background load: {load_rate:,.0f} reads/s over MQTT ({carried['reads']:,} reads)")
    print(f"commands: {len(latencies)} of {args.probes} probes ({len(sent)} without a command)")
    print(f"read -> command latency (ms): p50 {p(0.50):.1f}  p95 {p(0.95):.1f}  p99 {p(0.99):.1f}  "
          f"max {ordered[-1]:.1f}  mean {statistics.fmean(ordered):.1f}")  # fmt: skip
    print(f"slow probes (> {SLOW_MS:.0f} ms):", ", ".join(f"{event} {ms:.0f} ms" for event, ms in slow) or "none")
    verdict = "met" if p(0.99) <= TARGET_P99_MS else "MISSED"
    print(f"target p99 <= {TARGET_P99_MS:.0f} ms under 1,000 reads/s: {verdict}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--load-process":
        load(json.loads(sys.argv[2]))
    else:
        main()
