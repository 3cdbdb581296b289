"""HTTP ingest throughput: `POST /api/v1/reads` on a real `cordon serve` process, driven by `wrk`.

Starts `cordon serve` as a subprocess (fresh data folder, examples/demo-zone.yaml, a free port, API keys
issued first with `cordon cameras key` in the same data folder, synchronous=FULL), then drives it from a
second process with `wrk` and a Lua script that makes valid reads with unique event ids and the current
time, spread over several cameras, each request with its camera's key:

  (a) one read per request, (b) batches of 500 reads per request,

at several connection counts. For each run it prints requests/s, reads/s, latency p50/p99 and the server's
CPU use, then checks the store from a second connection: the reads added must equal the reads
acknowledged with 2xx, plus at most the reads of requests `wrk` abandoned in flight when its clock ran out
(those may be stored without an acknowledgement; the reverse, acknowledged but absent, must never happen).

If `wrk` is not installed, a Python asyncio load generator (raw HTTP/1.1 keep-alive, in a separate process)
is used instead, and the output says so.

Run: .venv/bin/python bench/http_ingest.py            (about 80 s)
     .venv/bin/python bench/http_ingest.py --quick    (smoke run, ~15 s)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HTTP_CAMERAS, CordonServer, OtherLoad, human, print_machine, read_json

TARGET_REQUESTS = 2_000  # one read per request, requests/s (DESIGN.md section 5)
TARGET_BATCH_READS = 20_000  # batches of 500, reads/s

LUA = r"""
-- Cordon ingest load: valid reads, unique event ids, current time, one camera key per request.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local letters = {"A","B","C","D","E","F","G","H","J","K","L","M","N","P","R","S","T","U","V","W","X","Y","Z"}
local function L() return letters[math.random(#letters)] end
local function D() return tostring(math.random(0, 9)) end

function init(args)
  batch = tonumber(args[1])
  tag = args[2]
  cams, auth = {}, {}
  for i = 3, #args, 2 do
    table.insert(cams, args[i])
    table.insert(auth, "Bearer " .. args[i + 1])
  end
  math.randomseed(os.time() + tid * 7919)
  sent, ok, bad, counter = 0, 0, 0, 0
  stamp_at, stamp = -1, ""
end

local function read(camera, now)
  counter = counter + 1
  local plate = math.random(2) .. "-" .. L() .. L() .. L() .. "-" .. D() .. D() .. D()
  local lane = math.random(2)
  local extra = ""
  if counter % 3 == 0 then
    extra = ',"candidates":[{"plate":"' .. plate .. '","confidence":0.91},{"plate":"'
      .. plate:sub(1, -2) .. D() .. '","confidence":0.3}]'
  end
  return string.format(
    '{"observedBy":"%s","eventId":"%s-%d-%d","dateObserved":"%s","licensePlate":"%s","country":"BE",'
      .. '"confidence":0.91,"laneId":"%d","direction":"%s","vehicleType":"car",'
      .. '"bbox":{"x":%d,"y":%d,"w":140,"h":32}%s}',
    camera, tag, tid, counter, now, plate, lane, lane == 1 and "towards" or "away",
    math.random(200, 900), math.random(300, 600), extra)
end

function request()
  sent = sent + 1
  local c = (sent % #cams) + 1
  local t = os.time()
  if t ~= stamp_at then
    stamp_at, stamp = t, os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  end
  local body
  if batch == 1 then
    body = read(cams[c], stamp)
  else
    local parts = {}
    for i = 1, batch do parts[i] = read(cams[c], stamp) end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format("POST", "/api/v1/reads",
    {["Content-Type"] = "application/json", ["Authorization"] = auth[c]}, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local s, o, b = 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("sent")
    o = o + thread:get("ok")
    b = b + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'CORDON_RESULT {"duration_us":%d,"responses":%d,"sent":%d,"ok":%d,"bad":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d}\n',
    summary.duration, summary.requests, s, o, b,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass
class RunResult:
    mode: str
    batch: int
    connections: int
    duration_s: float
    requests_ok: int
    requests_bad: int
    sent: int  # requests wrk generated (answered, refused, or cut off in flight at the end)
    p50_ms: float
    p99_ms: float
    errors: int
    stored_delta: int
    server_cpu: float  # cores used by the server process on average
    other_load: float  # cores used by processes that are neither the server nor the load generator

    @property
    def rps(self) -> float:
        return self.requests_ok / self.duration_s

    @property
    def reads_per_s(self) -> float:
        return self.requests_ok * self.batch / self.duration_s

    @property
    def acked_reads(self) -> int:
        return self.requests_ok * self.batch

    @property
    def abandoned(self) -> int:
        """Requests sent but never answered (cut off by the end of the run)."""
        return self.sent - self.requests_ok - self.requests_bad

    def check(self) -> str:
        """'ok' when every acknowledged read is stored and nothing unexplained is."""
        extra = self.stored_delta - self.acked_reads
        if self.requests_bad:
            return f"FAIL: {self.requests_bad} non-2xx answers"
        if extra < 0:
            return f"FAIL: {-extra} acknowledged reads missing from the store"
        if extra > self.abandoned * self.batch:
            return f"FAIL: {extra} reads stored beyond acknowledged + in flight"
        return "ok" if extra == 0 else f"ok (+{extra} stored from {self.abandoned} cut-off requests)"


# -- wrk ---------------------------------------------------------------------------------------------------


def run_wrk(
    server: CordonServer, lua: Path, batch: int, connections: int, duration: float, tag: str
) -> dict[str, float]:
    keys = [part for camera, key in server.keys.items() for part in (camera, key)]
    command = [
        "wrk",
        "-t1",  # one wrk thread: on 2 cores, a second would take CPU from the server, not add load
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(lua),
        server.url,
        "--",
        str(batch),
        tag,
        *keys,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((line for line in done.stdout.splitlines() if line.startswith("CORDON_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data: dict[str, float] = json.loads(line.removeprefix("CORDON_RESULT "))
    return data


# -- fallback: asyncio load generator in a separate process ---------------------------------------------


async def _client(
    host: str, port: int, bodies: asyncio.Queue[tuple[bytes, bytes]], stop_at: float, stats: dict[str, list]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < stop_at:
            key, body = await bodies.get()
            stats["sent"].append(1)
            head = (
                f"POST /api/v1/reads HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {key.decode()}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            stats["latency"].append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            stats["ok" if 200 <= status < 300 else "bad"].append(1)
    finally:
        writer.close()


async def _feed(
    queue: asyncio.Queue[tuple[bytes, bytes]], keys: dict[str, str], batch: int, tag: str, stop_at: float
) -> None:
    rng = random.Random(tag)
    cameras = list(keys)
    counter = 0
    while time.monotonic() < stop_at:
        camera = cameras[counter % len(cameras)]
        now = datetime.now(UTC)
        reads = []
        for _ in range(batch):
            counter += 1
            reads.append(read_json(rng, camera, f"{tag}-{counter}", now))
        body = json.dumps(reads[0] if batch == 1 else reads).encode()
        await queue.put((keys[camera].encode(), body))


async def _asyncio_load(url: str, keys: dict[str, str], batch: int, connections: int, duration: float, tag: str):
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue(maxsize=connections * 2)
    stats: dict[str, list] = {"sent": [], "ok": [], "bad": [], "latency": []}
    started = time.monotonic()
    stop_at = started + duration
    feeder = asyncio.create_task(_feed(queue, keys, batch, tag, stop_at + 5))
    clients = [asyncio.create_task(_client(host, int(port), queue, stop_at, stats)) for _ in range(connections)]
    await asyncio.wait(clients, timeout=duration + 30)
    feeder.cancel()
    elapsed = time.monotonic() - started
    latency = sorted(stats["latency"]) or [0.0]
    return {
        "duration_us": elapsed * 1e6,
        "responses": len(latency),
        "sent": len(stats["sent"]),
        "ok": len(stats["ok"]),
        "bad": len(stats["bad"]),
        "p50_us": latency[len(latency) // 2] * 1e6,
        "p99_us": latency[min(len(latency) - 1, int(len(latency) * 0.99))] * 1e6,
        "err_connect": 0,
        "err_read": 0,
        "err_write": 0,
        "err_timeout": 0,
    }


def run_python_loadgen(
    server: CordonServer, batch: int, connections: int, duration: float, tag: str
) -> dict[str, float]:
    spec = json.dumps(
        {"url": server.url, "keys": server.keys, "batch": batch, "c": connections, "d": duration, "tag": tag}
    )
    out = subprocess.run(
        [sys.executable, __file__, "--_loadgen", spec], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


# -- driver ------------------------------------------------------------------------------------------------


def settle(server: CordonServer, before: int) -> int:
    """The store count once in-flight requests have finished (stable for 0.3 s)."""
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        count = server.stored_count()
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since > 0.3:
            break
        time.sleep(0.05)
    return last - before


def one_run(
    server: CordonServer, lua: Path | None, mode: str, batch: int, connections: int, duration: float, tag: str
) -> RunResult:
    before = server.stored_count()
    cpu_before = server.cpu_seconds()
    with OtherLoad(server) as other:
        if lua is not None:
            data = run_wrk(server, lua, batch, connections, duration, tag)
        else:
            data = run_python_loadgen(server, batch, connections, duration, tag)
    seconds = data["duration_us"] / 1e6
    server_cpu = (server.cpu_seconds() - cpu_before) / seconds
    delta = settle(server, before)
    errors = int(data["err_connect"] + data["err_read"] + data["err_write"] + data["err_timeout"])
    return RunResult(
        mode, batch, connections, seconds, int(data["ok"]), int(data["bad"]), int(data["sent"]),
        data["p50_us"] / 1000, data["p99_us"] / 1000, errors, delta, server_cpu, other.cores,
    )  # fmt: skip


def print_run(r: RunResult) -> None:
    print(
        f"{r.mode:6} c={r.connections:<4} {human(r.rps):>7} req/s {human(r.reads_per_s):>8} reads/s   "
        f"p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms   server CPU {r.server_cpu:.2f} cores   "
        f"errors {r.errors}   store {r.check()}   "
        f"[other load {r.other_load:.2f}{' BUSY' if r.other_load > 0.25 else ''}]",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run [10]")
    parser.add_argument(
        "--single-connections", default="4,16,64", help="connection counts, one read per request [4,16,64]; empty: skip"
    )
    parser.add_argument("--batch-connections", default="1,2,4", help="connection counts, batches [1,2,4]; empty: skip")
    parser.add_argument("--batch", type=int, default=500, help="reads per batch request [500]")
    parser.add_argument("--cameras", type=int, default=4, help="cameras (keys) sending [4]")
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--python-loadgen", action="store_true", help="use the asyncio generator, not wrk")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s per run, one count per mode")
    parser.add_argument("--_loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._loadgen:
        spec = json.loads(args._loadgen)
        result = asyncio.run(_asyncio_load(spec["url"], spec["keys"], spec["batch"], spec["c"], spec["d"], spec["tag"]))
        print(json.dumps(result))
        return 0
    if args.quick:
        args.duration, args.single_connections, args.batch_connections = 2.0, "16", "2"

    print_machine()
    use_wrk = shutil.which("wrk") is not None and not args.python_loadgen
    if use_wrk:
        generator = "wrk (Lua script, 1 thread)"
    else:
        why = "asked for" if args.python_loadgen else "wrk not found"
        generator = f"Python asyncio load generator ({why}; slower than wrk, it understates the server)"

    server = CordonServer(cameras=HTTP_CAMERAS[: args.cameras], synchronous=args.synchronous)
    print(f"# server: {' '.join(server.command[:1])} serve (subprocess), synchronous={args.synchronous}")
    print(f"# load:   {generator}, second process on loopback; both share the 2 cores")
    print(f"# {args.cameras} cameras, each request signed with its camera's key; {args.duration:g} s per run\n")
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="cordon-wrk-") as tmp:
        lua = Path(tmp) / "ingest.lua"
        lua.write_text(LUA)
        try:
            server.start()
            one_run(server, lua if use_wrk else None, "warmup", 1, 8, 1.0 if args.quick else 2.0, "warm")
            tag = 0
            for mode, batch, counts in (
                ("single", 1, args.single_connections),
                ("batch", args.batch, args.batch_connections),
            ):
                if not counts.strip():
                    continue  # an empty list skips this mode
                print(f"## {mode}: {batch} read(s) per request")
                for connections in (int(c) for c in counts.split(",")):
                    tag += 1
                    run = one_run(
                        server, lua if use_wrk else None, mode, batch, connections, args.duration,
                        f"r{tag}-{os.getpid()}",
                    )  # fmt: skip
                    results.append(run)
                    print_run(run)
                print()
        finally:
            log = server.log()
            server.cleanup()
    failed = [r for r in results if not r.check().startswith("ok")]
    for mode, target in (("single", TARGET_REQUESTS), ("batch", TARGET_BATCH_READS)):
        runs = [r for r in results if r.mode == mode]
        if not runs:
            continue
        best = max(runs, key=lambda r: r.reads_per_s)
        # Recommended: the fewest connections within 10 % of the best throughput (lowest latency for it).
        good = min((r for r in runs if r.reads_per_s >= 0.9 * best.reads_per_s), key=lambda r: r.connections)
        unit, figure = ("req/s", best.rps) if mode == "single" else ("reads/s", best.reads_per_s)
        print(
            f"{mode:6}: best {human(figure)} {unit} at c={best.connections} "
            f"(target {human(target)}: {'met' if figure >= target else 'MISSED'}); "
            f"recommended c={good.connections}: {human(good.rps)} req/s, {human(good.reads_per_s)} reads/s, "
            f"p99 {good.p99_ms:.0f} ms"
        )
    if failed:
        print(f"STORE CHECK FAILED in {len(failed)} run(s); server log tail:\n{log}")
        return 1
    print("store check: every acknowledged read is in the store, in every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
