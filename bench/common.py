"""Shared helpers of the benchmarks: realistic reads, machine facts, a `cordon serve` subprocess.

Plain module, imported by the scripts in this folder (they put this folder first on `sys.path` when run as
`.venv/bin/python bench/X.py`). Nothing here is part of the `cordon` package.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_ZONE = ROOT / "examples" / "demo-zone.yaml"
VENV_BIN = Path(sys.executable).parent

# Fixed cameras of examples/demo-zone.yaml that deliver over HTTP, with two lanes each (entry, exit).
HTTP_CAMERAS = (
    "cam-n445-north",
    "cam-n47-northeast",
    "cam-n41-east",
    "cam-e17-ramp",
    "cam-heikant-south",
    "cam-n445-southwest",
    "cam-n407-west",
    "cam-kouter-northwest",
)
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # serial letters; I, O and Q left out (look like 1, 0)
_VEHICLES = ("car",) * 14 + ("van",) * 3 + ("lorry", "bus", "motorcycle")


# -- realistic plates and reads -------------------------------------------------------------------------


def plate_as_read(rng: random.Random) -> tuple[str, str]:
    """A plate as a camera prints it and its country: mostly Belgian, some NL, FR, DE, LU."""
    roll = rng.random()
    letters = lambda n: "".join(rng.choice(_LETTERS) for _ in range(n))  # noqa: E731
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    if roll < 0.80:  # Belgian 1-ABC-234 (2010 onwards; 1 and 2 series)
        return f"{rng.choice('12')}-{letters(3)}-{digits(3)}", "BE"
    if roll < 0.85:  # Belgian pre-2010 ABC-123
        return f"{letters(3)}-{digits(3)}", "BE"
    if roll < 0.92:  # Dutch XX-999-X
        return f"{letters(2)}-{digits(3)}-{letters(1)}", "NL"
    if roll < 0.96:  # French AB-123-CD
        return f"{letters(2)}-{digits(3)}-{letters(2)}", "FR"
    if roll < 0.99:  # German K-AB 1234
        return f"{letters(rng.randint(1, 3))}-{letters(2)} {digits(rng.randint(1, 4))}", "DE"
    return f"{letters(2)} {digits(4)}", "LU"


def read_json(rng: random.Random, camera: str, event_id: str, observed: datetime) -> dict[str, Any]:
    """One read in Cordon JSON, as a fixed camera posts it; about a third carry candidates."""
    text, country = plate_as_read(rng)
    lane = rng.choice(("1", "2"))
    read: dict[str, Any] = {
        "observedBy": camera,
        "eventId": event_id,
        "dateObserved": observed.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "licensePlate": text,
        "country": country,
        "confidence": round(rng.uniform(0.6, 0.999), 3),
        "laneId": lane,
        "direction": "towards" if lane == "1" else "away",
        "vehicleType": rng.choice(_VEHICLES),
        "bbox": {"x": rng.randint(200, 900), "y": rng.randint(300, 600), "w": 140, "h": 32},
    }
    if rng.random() < 0.33:
        other = text[:-1] + rng.choice("0123456789")
        read["candidates"] = [
            {"plate": text, "confidence": read["confidence"]},
            {"plate": other, "confidence": round(read["confidence"] / 3, 3)},
        ]
    if rng.random() < 0.2:
        read["speed"] = round(rng.uniform(20, 70), 1)
    return read


def make_plate_reads(n: int, seed: int = 7, cameras: tuple[str, ...] = HTTP_CAMERAS) -> list[Any]:
    """`n` valid `PlateRead` records (fully validated), spread over `cameras`, a few per second, ending now."""
    from cordon.plates import normalize_plate
    from cordon.records import PlateRead

    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(seconds=n / 50)
    reads = []
    for i in range(n):
        camera = cameras[i % len(cameras)]
        observed = start + timedelta(milliseconds=20 * i)
        raw = read_json(rng, camera, f"{camera}-{i:09d}", observed)
        reads.append(
            PlateRead(
                event_id=raw["eventId"],
                observed_by=camera,
                date_observed=observed,
                date_received=observed + timedelta(milliseconds=rng.randint(30, 400)),
                plate_as_read=raw["licensePlate"],
                plate=normalize_plate(raw["licensePlate"]),
                country=raw["country"],
                confidence=raw["confidence"],
                candidates=[
                    {"plate": normalize_plate(c["plate"]), "confidence": c["confidence"]}
                    for c in raw.get("candidates", ())
                ],
                bbox=raw["bbox"],
                lane_id=raw["laneId"],
                direction=raw["direction"],
                vehicle_type=raw["vehicleType"],
                speed=raw.get("speed"),
            )
        )
    return reads


# -- the machine ------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """Facts to print with every figure."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{model}, {os.cpu_count()} logical CPUs",
        "ram": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
    }


def print_machine() -> None:
    for key, value in machine().items():
        print(f"# {key:7} {value}")
    load = os.getloadavg()[0]
    note = "" if load < 1.0 else "  (other work may be running: see 'other load' on each figure)"
    print(f"# load    {load:.2f} (1-minute average at start){note}")


def _busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (Linux /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class OtherLoad:
    """CPU used by processes that are not this benchmark's while a figure is measured, in cores.

    `with OtherLoad(server) as other: ...` then `other.cores`. The server process (still running, so not
    in `os.times()`) is counted as ours; reaped children such as `wrk` are. Kernel work for our I/O counts
    as 'other', so a quiet machine reads about 0.0-0.1."""

    def __init__(self, server: CordonServer | None = None) -> None:
        self._server = server
        self.cores = 0.0

    def _ours(self) -> float:
        return _own_seconds() + (self._server.cpu_seconds() if self._server is not None else 0.0)

    def __enter__(self) -> OtherLoad:
        self._start = (time.monotonic(), _busy_seconds(), self._ours())
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.monotonic() - self._start[0]
        other = (_busy_seconds() - self._start[1]) - (self._ours() - self._start[2])
        self.cores = max(0.0, other / wall) if wall > 0 else 0.0


# -- `cordon serve` in a subprocess ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cordon_command() -> list[str]:
    """How to run the `cordon` command of this checkout.

    The console script first; if the CLI group cannot be imported (a command module missing while the
    tree is being worked on), the same two click commands (`serve`, `cameras`) are run from a group built
    on the spot, so the server runs exactly the code `cordon serve` runs."""
    script = VENV_BIN / "cordon"
    if script.exists():
        probe = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [str(script)]
    return [sys.executable, "-c", _FALLBACK_CLI]


_FALLBACK_CLI = """
import click
from cordon.commands.cameras import cameras
from cordon.commands.serve import serve
click.Group("cordon", commands={"serve": serve, "cameras": cameras}).main(prog_name="cordon")
"""


@dataclass
class CordonServer:
    """A `cordon serve` process on a fresh data folder, with API keys issued for some cameras."""

    cameras: tuple[str, ...] = HTTP_CAMERAS[:4]
    zone: Path = DEMO_ZONE
    synchronous: str = "FULL"
    env: dict[str, str] = field(default_factory=dict)
    data_dir: Path = field(init=False)
    port: int = field(init=False)
    keys: dict[str, str] = field(init=False, default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(init=False, default=None)
    log_path: Path = field(init=False)
    command: list[str] = field(init=False, default_factory=cordon_command)
    _tmp: str = field(init=False)

    def __post_init__(self) -> None:
        self._tmp = tempfile.mkdtemp(prefix="cordon-bench-")
        self.data_dir = Path(self._tmp) / "data"
        self.log_path = Path(self._tmp) / "serve.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CORDON_DATA_DIR": str(self.data_dir),
            "CORDON_ZONE_FILE": str(self.zone),
            "CORDON_SQLITE_SYNCHRONOUS": self.synchronous,
            **self.env,
        }

    def issue_keys(self) -> None:
        for camera in self.cameras:
            out = subprocess.run(
                [*self.command, "cameras", "key", camera, "--label", "bench"],
                capture_output=True,
                text=True,
                env=self._env(),
                check=True,
            )
            self.keys[camera] = out.stdout.strip().splitlines()[-1]

    def start(self, timeout: float = 30.0) -> None:
        if not self.keys:
            self.issue_keys()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "serve", "--port", str(self.port)],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cordon serve exited with {self.process.returncode}:\n{self.log()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"cordon serve did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "cordon.sqlite3"

    def stored_count(self) -> int:
        """Reads in the store, read with plain sqlite3 (a second process's view of the file)."""
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            return int(db.execute("SELECT count(*) FROM reads").fetchone()[0])

    def stored_ids(self) -> set[tuple[str, str]]:
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            return {(c, e) for c, e in db.execute("SELECT camera_id, event_id FROM reads")}

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        if self.process is None:
            return 0.0
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0


@contextlib.contextmanager
def cordon_server(**kwargs: Any) -> Iterator[CordonServer]:
    server = CordonServer(**kwargs)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def human(n: float) -> str:
    return f"{n:,.0f}"
