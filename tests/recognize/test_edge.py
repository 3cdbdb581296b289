"""Edge mode: reads queue on disk, survive a server outage and a restart of the edge process, arrive once,
in order; a read the server refuses is kept aside, not lost, and does not block the others."""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from cordon.cli import cli
from cordon.commands.recognize import recognize
from cordon.recognize.edge import DiskQueue, FixedGps, NmeaFileGps, Sender, parse_gps, parse_nmea_fix
from cordon.recognize.output import event_id_for, to_read_in
from cordon.recognize.stages import Box, Candidate, Recognition
from cordon.records import GeoPoint
from cordon.runtime import Runtime, build_runtime
from cordon.server import ServerThread, free_port
from cordon.settings import Settings
from tests.conftest import SMALL_ZONE
from tests.recognize.conftest import EU_DEV, MjpegCamera, Sample, passing_frames, samples, write_passing_video

CAMERA = "cam-school"


def _read(plate: str, at: datetime, camera: str = CAMERA, lane: str = "1") -> tuple[str, bytes]:
    recognition = Recognition((Candidate(plate, 0.9, "BE"), Candidate(plate[:-1] + "8", 0.05)), Box(10, 20, 120, 30))
    event_id = event_id_for(camera, at, 1)
    read = to_read_in(recognition, camera, at, event_id, lane_id=lane, location=GeoPoint(lat=51.06, lon=4.04))
    return event_id, orjson.dumps(read.model_dump(mode="json", by_alias=True, exclude_none=True))


class Server:
    """A real Cordon (runtime + HTTP API) on a fixed port, started and stopped at will."""

    def __init__(self, data: Path, port: int, zone_file: Path = SMALL_ZONE) -> None:
        self.data, self.port, self.zone_file = data, port, zone_file
        self.runtime: Runtime | None = None
        self.thread: ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.runtime = build_runtime(Settings(data_dir=self.data, zone_file=self.zone_file))
        self.runtime.start()
        self.thread = ServerThread(self.runtime, port=self.port)
        self.thread.start()
        return self.runtime.keyring.issue(CAMERA)

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()
        if self.runtime is not None:
            self.runtime.stop()
        self.thread = self.runtime = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "server", free_port())
    yield running
    running.stop()


def test_backlog_survives_an_outage_and_a_restart(tmp_path: Path, server: Server) -> None:
    path = tmp_path / "edge" / "queue.sqlite3"
    now = datetime.now(UTC) - timedelta(minutes=5)
    reads = [_read(plate, now + timedelta(seconds=i)) for i, plate in enumerate(["1ABC234", "1XYZ987", "2DEF456"])]

    # The server is down: the edge queues and keeps everything.
    queue = DiskQueue(path)
    for event_id, body in reads:
        queue.put(event_id, body)
    offline = Sender(queue, server.url, "cdk_not-yet")
    assert offline.send_once() is False
    assert len(queue) == 3
    offline.close()
    queue.close()  # the edge process stops (or crashes) with its backlog on disk

    # The server comes up, the edge restarts: the backlog goes out, oldest first.
    key = server.start()
    assert server.runtime is not None
    queue = DiskQueue(path)
    assert len(queue) == 3
    sender = Sender(queue, server.url, key)
    assert sender.drain(timeout_s=20)
    stored = [read.event_id for _, read in server.runtime.store.reads_after(0, 100)]
    assert stored == [event_id for event_id, _ in reads]

    # A crash between the server's answer and the local delete re-sends: stored once all the same.
    for event_id, body in reads:
        queue.put(event_id, body)
    assert sender.drain(timeout_s=20)
    assert server.runtime.store.count_reads() == 3
    sender.close()
    queue.close()


def test_a_refused_read_is_kept_aside_and_does_not_block(tmp_path: Path, server: Server) -> None:
    key = server.start()
    assert server.runtime is not None
    queue = DiskQueue(tmp_path / "queue.sqlite3")
    now = datetime.now(UTC) - timedelta(minutes=1)
    good_before, bad = _read("1ABC234", now), _read("1BAD000", now, "cam-elsewhere")
    good_after = _read("1XYZ987", now + timedelta(seconds=1))
    for event_id, body in (good_before, bad, good_after):
        queue.put(event_id, body)
    errors: list[str] = []
    sender = Sender(queue, server.url, key, on_error=errors.append)
    assert sender.drain(timeout_s=20)
    assert server.runtime.store.count_reads() == 2
    assert queue.refused_count() == 1 and len(queue) == 0
    assert any("refused" in message for message in errors)
    sender.close()
    queue.close()


def _edge_cli(*args: str) -> Any:
    result = CliRunner().invoke(cli, ["edge", *args])
    assert "Traceback" not in result.output
    return result


def test_a_person_looks_at_refused_reads_resends_them_once_fixed_and_purges(tmp_path: Path, server: Server) -> None:
    """A read on lane 2, which the zone does not know yet, is refused and kept aside. `cordon edge` shows it with
    the server's reason; once the zone has the lane, `resend` puts it back and it is stored; `purge` deletes
    what is left. The queue is never half-changed: an unknown event id moves nothing."""
    key = server.start()
    assert server.runtime is not None
    path = tmp_path / "queue.sqlite3"
    queue = DiskQueue(path)
    now = datetime.now(UTC) - timedelta(minutes=1)
    good, lane_two = _read("1ABC234", now), _read("1LAN222", now + timedelta(seconds=1), lane="2")
    other = _read("1OTH333", now + timedelta(seconds=2), lane="7")
    for event_id, body in (good, lane_two, other):
        queue.put(event_id, body)
    sender = Sender(queue, server.url, key)
    assert sender.drain(timeout_s=20)
    sender.close()
    queue.close()
    assert server.runtime.store.count_reads() == 1

    status = json.loads(_edge_cli("status", str(path), "--json").stdout)
    assert (status["queued"], status["refused"]) == (0, 2)
    listed = [json.loads(line) for line in _edge_cli("refused", str(path), "--json").stdout.splitlines()]
    assert [(r["eventId"], r["plate"], r["camera"]) for r in listed] == [
        (lane_two[0], "1-LAN-222", CAMERA), (other[0], "1-OTH-333", CAMERA)
    ]  # fmt: skip
    assert all("lane" in r["reason"] for r in listed)
    assert "2 refused reads" in _edge_cli("refused", str(path)).stderr

    wrong = _edge_cli("resend", str(path), lane_two[0], "ev-nobody")
    assert wrong.exit_code == 1 and "not among the refused reads: ev-nobody (nothing was moved)" in wrong.stderr
    assert _edge_cli("resend", str(path)).exit_code == 1  # neither ids nor --all
    assert json.loads(_edge_cli("status", str(path), "--json").stdout)["refused"] == 2

    # The zone gets lane 2 (the council's decision covered it); the server restarts with it.
    server.stop()
    fixed = tmp_path / "zone.yaml"
    one_lane = 'lanes: [{id: "1", movement: internal}]'
    fixed.write_text(SMALL_ZONE.read_text().replace(one_lane, one_lane[:-1] + ', {id: "2", movement: internal}]'))
    server.zone_file = fixed
    key = server.start()
    assert server.runtime is not None
    moved = _edge_cli("resend", str(path), lane_two[0])
    assert moved.exit_code == 0 and "1 reads back in the queue" in moved.stdout
    queue = DiskQueue(path)
    sender = Sender(queue, server.url, key)
    assert sender.drain(timeout_s=20)
    sender.close()
    queue.close()
    assert lane_two[0] in [read.event_id for _, read in server.runtime.store.reads_after(0, 10)]

    purged = _edge_cli("purge", str(path), "--older-than", "0")
    assert purged.exit_code == 0 and "1 refused reads deleted" in purged.stdout
    status = json.loads(_edge_cli("status", str(path), "--json").stdout)
    assert (status["queued"], status["refused"]) == (0, 0)


def test_refused_reads_are_deleted_after_their_retention(tmp_path: Path) -> None:
    queue = DiskQueue(tmp_path / "queue.sqlite3")
    for name in ("queue.sqlite3", "queue.sqlite3-wal"):  # plates and positions: readable by its owner alone
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    for plate in ("1ABC234", "1XYZ987"):
        queue.put(*_read(plate, datetime.now(UTC)))
    old, recent = queue.head(2)
    queue.refuse(old, "HTTP 422: camera 'cam-x' is not in the zone")
    queue.refuse(recent, "HTTP 422: camera 'cam-x' is not in the zone")
    refused_at = {r.event_id: r.refused_at for r in queue.refused_reads()}
    later = refused_at[recent.event_id] + 31 * 86_400
    assert queue.purge_refused(30 * 86_400, now=refused_at[recent.event_id] + 29 * 86_400) == 0
    assert queue.purge_refused(30 * 86_400, now=later) == 2
    assert queue.refused_count() == 0
    queue.close()


def test_the_edge_commands_touch_only_an_edge_queue(tmp_path: Path) -> None:
    other = tmp_path / "cordon.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE reads (id INTEGER)")
    db.close()
    before = other.read_bytes()
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    cases = [
        (other, "not an edge queue (no outbox and refused tables)"),
        (garbage, "not an edge queue"),
        (tmp_path / "missing.sqlite3", "no such queue file"),
    ]
    for path, message in cases:
        for command in (["status"], ["refused"], ["resend", "--all"], ["purge", "--older-than", "0"]):
            result = _edge_cli(command[0], str(path), *command[1:])
            assert result.exit_code == 1 and message in result.stderr, (path, command, result.output)
    assert other.read_bytes() == before
    assert not (tmp_path / "missing.sqlite3").exists()


def _started_with_key_file(server: Server, folder: Path) -> Path:
    """Start the server and write the camera's new key to a file, as an operator hands it to an edge unit."""
    key_file = folder / "cam.key"
    key_file.write_text(server.start() + "\n")
    assert server.runtime is not None
    return key_file


def _street_video(folder: Path, count: int) -> tuple[list[Sample], Path]:
    """The first `count` dev scenes as cars passing a camera, in a video file."""
    cars = samples(EU_DEV)[:count]
    video = folder / "street.avi"
    write_passing_video(video, [s.path for s in cars])
    return cars, video


def _models_env(model_cache: Path) -> dict[str, str]:
    return {"CORDON_MODEL_CACHE": str(model_cache), "CORDON_RECOGNIZE_READER": "rapidocr"}


def test_edge_command_posts_one_read_per_vehicle(tmp_path: Path, server: Server, model_cache: Path) -> None:
    key_file = _started_with_key_file(server, tmp_path)
    assert server.runtime is not None
    _, video = _street_video(tmp_path, 2)
    args = ["recognize", "--camera", CAMERA, "--post", server.url, "--key-file", str(key_file), "--lane", "1",
            "--queue", str(tmp_path / "q.sqlite3"), "--gps", "51.0655,4.0401", str(video)]  # fmt: skip
    env = _models_env(model_cache)
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert f"edge: camera {CAMERA}, models on " in result.stderr  # the operator's log says where the models run
    stored = [read for _, read in server.runtime.store.reads_after(0, 100)]
    assert [read.event_id for read in stored] == [line["eventId"] for line in lines]
    assert all(read.location == GeoPoint(lat=51.0655, lon=4.0401) and read.image_ref for read in stored)


def test_edge_camera_rides_out_a_stream_outage(tmp_path: Path, server: Server, model_cache: Path) -> None:
    """The camera's live MJPEG stream shows two cars, drops, comes back showing them again, then the camera goes
    down for good. The edge process reconnects, keeps reading after the outage, and gives up after
    `--reconnect-for` with a clear error; every passage it printed reached the server."""
    key_file = _started_with_key_file(server, tmp_path)
    assert server.runtime is not None
    cars = samples(EU_DEV)[:2]
    frames = list(passing_frames([s.path for s in cars], frames_per_car=20))
    env = _models_env(model_cache)
    with MjpegCamera(frames, sends=[None, None]) as camera:
        args = ["recognize", "--camera", CAMERA, "--post", server.url, "--key-file", str(key_file), "--lane", "1",
                "--queue", str(tmp_path / "q.sqlite3"), "--reconnect-for", "1", camera.url]  # fmt: skip
        result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output
    assert "the stream stopped; reconnecting in 1 s (attempt 1)" in result.stderr
    assert "back after" in result.stderr
    assert "giving up" in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    truth = {s.plate for s in cars}
    assert len(lines) > len(cars)  # cars were read again after the outage
    assert sum(line["plate"] in truth for line in lines) >= len(cars)
    stored = [read for _, read in server.runtime.store.reads_after(0, 100)]
    assert sorted(read.event_id for read in stored) == sorted(line["eventId"] for line in lines)


def test_a_stopped_edge_process_reads_out_the_vehicles_in_view(
    tmp_path: Path, server: Server, model_cache: Path
) -> None:
    """`systemctl stop` (SIGTERM) in the middle of a live stream: the edge process, a real process here, stops
    reading, votes the vehicle in view, sends what is queued and exits 0; nothing it printed is lost."""
    key_file = _started_with_key_file(server, tmp_path)
    assert server.runtime is not None
    cars = samples(EU_DEV)[:2]
    frames = list(passing_frames([s.path for s in cars], frames_per_car=20)) * 4  # a stream that goes on
    env = {**os.environ, **_models_env(model_cache)}
    with MjpegCamera(frames, sends=[None]) as camera:
        args = [sys.executable, "-m", "cordon", "recognize", "--camera", CAMERA, "--post", server.url, "--key-file",
                str(key_file), "--queue", str(tmp_path / "q.sqlite3"), camera.url]  # fmt: skip
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 120)
            assert ready, "no passage within 120 s"
            first = process.stdout.readline()
            process.send_signal(signal.SIGTERM)
            rest, errors = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 0, errors
    assert "SIGTERM: stopping after the vehicles in view" in errors
    lines = [json.loads(line) for line in [first, *rest.splitlines()]]
    stored = [read for _, read in server.runtime.store.reads_after(0, 100)]
    assert sorted(read.event_id for read in stored) == sorted(line["eventId"] for line in lines)
    assert len(lines) < 8  # it stopped: the stream had eight passages to give


def test_a_quiet_edge_unit_prints_no_plate_and_drops_a_stale_gps_fix(
    tmp_path: Path, server: Server, model_cache: Path
) -> None:
    """`--quiet`: the reads go to the server and nowhere else (under systemd stdout is the journal)."""
    key_file = _started_with_key_file(server, tmp_path)
    assert server.runtime is not None
    _, video = _street_video(tmp_path, 1)
    stale = tmp_path / "gps.nmea"  # the receiver lost the sky a minute ago
    stale.write_text(_rmc(datetime.now(UTC) - timedelta(seconds=60)) + "\n")
    args = ["recognize", "--camera", CAMERA, "--post", server.url, "--key-file", str(key_file), "--quiet",
            "--gps", f"nmea:{stale}", "--queue", str(tmp_path / "q.sqlite3"), str(video)]  # fmt: skip
    env = _models_env(model_cache)
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    stored = [read for _, read in server.runtime.store.reads_after(0, 10)]
    assert len(stored) == 1 and stored[0].plate not in result.output
    assert stored[0].location is None  # no position rather than a minute-old one, and the operator is told
    assert "no fresh GPS fix: reads go without a position" in result.stderr


def test_the_example_service_unit_runs_a_valid_command() -> None:
    """examples/cordon-edge.service: its ExecStart parses as `cordon recognize` does (every option exists, every
    value has the right type), with the options a service needs."""
    unit = (Path(__file__).resolve().parents[2] / "examples" / "cordon-edge.service").read_text()
    exec_start = unit.split("ExecStart=", 1)[1].split("\n# ", 1)[0].replace("\\\n", " ")
    words = shlex.split(exec_start.replace("%i", "cam-n445-north"))
    assert words[0].endswith("/cordon") and words[1] == "recognize"
    context = recognize.make_context("recognize", words[2:])
    assert context.params["quiet"] and context.params["ca_file"] and context.params["reconnect_for"] == 600
    assert context.params["camera_id"] == "cam-n445-north" and context.params["sources"] == ("rtsp://10.0.0.5/stream",)
    assert "Restart=on-failure" in unit and "UMask=0077" in unit
    # Every variable the unit sets (or shows commented out) is one the command reads.
    read = {param.envvar for param in recognize.params if isinstance(getattr(param, "envvar", None), str)}
    named = re.findall(r"^#?Environment=([A-Z_]+)=", unit, flags=re.MULTILINE)
    assert named and set(named) <= read, set(named) - read


def _nmea(body: str) -> str:
    """An NMEA sentence with its checksum."""
    checksum = 0
    for char in body:
        checksum ^= ord(char)
    return f"${body}*{checksum:02X}"


def _rmc(at: datetime, lat: str = "5051.000,N", lon: str = "00421.000,E", status: str = "A") -> str:
    return _nmea(f"GPRMC,{at:%H%M%S}.00,{status},{lat},{lon},0.0,0.0,{at:%d%m%y},,,A")


def _gga(at: datetime, lat: str = "5103.930,N", lon: str = "00402.406,E") -> str:
    return _nmea(f"GPGGA,{at:%H%M%S}.00,{lat},{lon},1,08,1.0,10.0,M,47.0,M,,")


def test_gps_sources(tmp_path: Path) -> None:
    assert parse_gps("50.85,4.35") == FixedGps(GeoPoint(lat=50.85, lon=4.35))
    now = datetime.now(UTC).replace(microsecond=0)
    rmc, gga = _rmc(now - timedelta(seconds=2)), _gga(now - timedelta(seconds=1))
    fix = parse_nmea_fix(rmc, now)
    assert fix is not None and round(fix.point.lat, 4) == 50.85 and round(fix.point.lon, 4) == 4.35
    assert fix.at == now - timedelta(seconds=2)
    log = tmp_path / "gps.nmea"
    log.write_text(f"{rmc}\n{gga}\n{_rmc(now, status='V')}\n")
    last = NmeaFileGps(log).position()
    assert last is not None and round(last.lat, 4) == 51.0655  # the void fix after it is ignored
    assert parse_gps(f"nmea:{log}").position() == last
    assert NmeaFileGps(tmp_path / "absent").position() is None
    with pytest.raises(ValueError, match="LAT,LON"):
        parse_gps("somewhere")


def test_a_damaged_or_stale_gps_fix_is_not_a_position(tmp_path: Path) -> None:
    """A sentence damaged on the serial line (wrong checksum) is not read; a fix older than `max_age_s` (the
    receiver lost the sky, gpsd stopped writing) gives no position rather than an old one."""
    now = datetime.now(UTC).replace(microsecond=0)
    good = _rmc(now)
    damaged = good.replace("5051.000", "5951.000")  # one digit flipped, the checksum kept
    assert parse_nmea_fix(damaged) is None
    assert parse_nmea_fix(good.split("*")[0]) is not None  # a sentence without a checksum is taken as it is
    log = tmp_path / "gps.nmea"
    log.write_text(f"{_rmc(now - timedelta(seconds=60))}\n{damaged}\n")
    assert NmeaFileGps(log).position() is None  # the valid fix is a minute old
    assert NmeaFileGps(log, max_age_s=120).position() is not None
    # GGA has no date: a fix from 23:59:58 read at 00:00:01 is two seconds old, not a day ahead.
    midnight = datetime(2026, 11, 28, 0, 0, 1, tzinfo=UTC)
    late = parse_nmea_fix(_gga(midnight - timedelta(seconds=3)), now=midnight)
    assert late is not None and late.at == midnight - timedelta(seconds=3)
