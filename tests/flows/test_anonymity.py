"""The traffic analyst can never get a plate, a token, or a link across days out of the flows pipeline: not from
the API, not from an export, not from small cells, not from the flow store file itself. Other roles get nothing
of it at all."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cordon.auth.roles import Role
from cordon.config import ZoneConfig
from cordon.flows.pipeline import build_pipeline, flow_store_path
from cordon.flows.records import day_bounds, local_day
from cordon.flows.service import FlowsService
from cordon.plates import lookalike_key
from cordon.records import PlateRead
from cordon.runtime import Runtime, build_runtime
from cordon.settings import Settings
from tests.flows.conftest import Clock

LONE_PLATE = "1XYZ987"  # a lone lorry, on a gate pair nobody else drives
CROWD = [f"2ABC{n:03d}" for n in range(30)]  # thirty cars north → south within minutes

FIGURES = ["counts", "counts?granularity=15min", "profile", "profile?kind=weekly", "od", "travel-times", "through",
           "heavy-share", "fiware", "export/counts?format=csv", "export/od?format=parquet",
           "export/through?format=json", "export/travel-times?format=csv"]  # fmt: skip


def read(plate: str, camera: str, lane: str, at: datetime, event: str, vehicle_type: str = "car") -> PlateRead:
    return PlateRead(event_id=event, observed_by=camera, date_observed=at, date_received=at, plate_as_read=plate,
                     plate=plate, country="BE", lane_id=lane, direction="towards" if lane == "1" else "away",
                     vehicle_type=vehicle_type)  # fmt: skip


def traffic(start: datetime) -> list[PlateRead]:
    reads = []
    for n, plate in enumerate(CROWD):
        reads.append(read(plate, "cam-n445-north", "1", start + timedelta(seconds=n), f"in-{n}"))
        reads.append(read(plate, "cam-n47-south", "2", start + timedelta(seconds=400 + n), f"out-{n}"))
    reads.append(read(LONE_PLATE, "cam-heikant-south", "1", start, "lone-in", "lorry"))
    reads.append(read(LONE_PLATE, "cam-kouter-northwest", "2", start + timedelta(seconds=300), "lone-out", "lorry"))
    return reads


def store_through_the_bus(runtime: Runtime, reads: list[PlateRead]) -> None:
    """The real path: the writer commits, the bus publishes, the flows sink records on its own thread."""
    assert runtime.flows is not None
    before = runtime.flows.recorded
    runtime.writer.submit(reads).result(timeout=10)
    deadline = time.monotonic() + 10
    while runtime.flows.recorded < before + len(reads):
        assert time.monotonic() < deadline, "the flows sink did not record the reads"
        time.sleep(0.02)


def forbidden_texts(tokens: list[bytes]) -> list[bytes]:
    plates = [LONE_PLATE, *CROWD]
    texts = [p.encode() for p in plates] + [f"{p[0]}-{p[1:4]}-{p[4:]}".encode() for p in plates]
    for token in tokens:
        texts += [token.hex().encode(), base64.b64encode(token).rstrip(b"="), base64.urlsafe_b64encode(token)[:20]]
    return texts


def file_tokens(path: Path, column: str = "tokens") -> list[bytes]:
    """The tokens (or, `column="alike"`, the look-alike tokens) in the flow store file."""
    assert column in ("tokens", "alike")
    with sqlite3.connect(path) as db:
        packed = [row[0] for row in db.execute(f"SELECT {column} FROM flow_chunks WHERE {column} IS NOT NULL")]  # noqa: S608
    return [chunk[i : i + 16] for chunk in packed for i in range(0, len(chunk), 16)]


@pytest.fixture
def recorded(runtime: Runtime) -> Runtime:
    now = datetime.now(UTC)
    midnight, _ = day_bounds(local_day(now, "Europe/Brussels"), "Europe/Brussels")
    start = max(now - timedelta(minutes=10), midnight + timedelta(seconds=1))  # the whole traffic on one local day
    store_through_the_bus(runtime, traffic(start))
    return runtime


def test_the_analyst_gets_figures_and_never_a_plate_or_token(
    recorded: Runtime, client: TestClient, login_as: Callable[..., dict[str, str]]
) -> None:
    headers = login_as(Role.TRAFFIC_ANALYST)
    path = flow_store_path(recorded.settings)
    forbidden = forbidden_texts(file_tokens(path) + file_tokens(path, "alike"))
    for figure in FIGURES:
        answer = client.get(f"/api/v1/flows/{figure}", headers=headers)
        assert answer.status_code == 200, (figure, answer.text)
        leaked = [text for text in forbidden if text in answer.content]
        assert not leaked, (figure, leaked)
    od = client.get("/api/v1/flows/od", headers=headers).json()
    cells = {(c["origin"], c["destination"]): c for c in od["cells"]}
    assert cells[("n445-north", "n47-south")]["trips"] == 30
    lone = cells[("heikant-south", "kouter-northwest")]
    assert lone["trips"] is None and lone["suppressed_days"] == 1  # one vehicle: a small cell, hidden


def test_small_cells_are_hidden_in_every_figure(
    recorded: Runtime, client: TestClient, login_as: Callable[..., dict[str, str]]
) -> None:
    headers = login_as(Role.TRAFFIC_ANALYST)
    counts = client.get("/api/v1/flows/counts", params={"by": ["camera", "vehicle_class"]}, headers=headers).json()
    lorries = [row for row in counts["rows"] if row["vehicle_class"] == "lorry"]
    assert lorries and all(row["count"] is None and row["suppressed"] for row in lorries)
    assert any(row["count"] == 30 for row in counts["rows"] if row["camera"] == "cam-n445-north")
    heavy = client.get("/api/v1/flows/heavy-share", headers=headers).json()
    for row in heavy["rows"]:
        assert row["camera"] not in ("cam-heikant-south", "cam-kouter-northwest") or row["share"] is None
    through = client.get("/api/v1/flows/through", headers=headers).json()
    pairs = {(r["origin"], r["destination"]): r for r in through["rows"]}
    assert pairs[("n445-north", "n47-south")]["share"] == 1.0
    assert pairs[("heikant-south", "kouter-northwest")]["share"] is None
    # Differencing: the whole day's heavy count at a camera never comes out as a published total minus cells.
    daily = client.get("/api/v1/flows/counts", params={"granularity": "day", "by": ["camera"]}, headers=headers)
    lone_camera = [r for r in daily.json()["rows"] if r["camera"] == "cam-heikant-south"]
    assert all(r["count"] is None for r in lone_camera)


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.OPERATOR, Role.ADMIN, Role.DPO, Role.GAS_OFFICER])
def test_other_roles_get_nothing_of_the_flows(
    recorded: Runtime, client: TestClient, login_as: Callable[..., dict[str, str]], role: Role
) -> None:
    headers = login_as(role)
    for figure in ("counts", "od", "export/od?format=csv", "fiware"):
        answer = client.get(f"/api/v1/flows/{figure}", headers=headers)
        assert answer.status_code == 403, (role, figure)
        assert answer.json()["error"]["code"] == "forbidden"


def test_the_analyst_reaches_nothing_of_the_police_side(
    client: TestClient, login_as: Callable[..., dict[str, str]]
) -> None:
    headers = login_as(Role.TRAFFIC_ANALYST)
    assert client.post("/api/v1/investigate/search", json={}, headers=headers).status_code == 403
    assert client.get("/api/v1/alerts", headers=headers).status_code == 403
    assert client.get("/api/v1/flows/counts").status_code == 401


def test_bad_questions_get_the_one_error_shape_and_change_nothing(
    recorded: Runtime, client: TestClient, login_as: Callable[..., dict[str, str]]
) -> None:
    headers = login_as(Role.TRAFFIC_ANALYST)
    before = flow_store_path(recorded.settings).stat().st_size
    bad = ["counts?from=yesterday", "counts?by=plate", "od?camera=cam-markt", "counts?from=2026-11-27&to=2026-11-01"]
    bad += ["od?camera=cam-nowhere&camera=cam-markt", "through?minutes=0"]
    for query in bad:
        answer = client.get(f"/api/v1/flows/{query}", headers=headers)
        assert answer.status_code == 422, (query, answer.text)
        assert set(answer.json()["error"]) == {"code", "message", "details"}
    assert flow_store_path(recorded.settings).stat().st_size == before


def test_the_flow_store_file_holds_no_plate_and_no_permanent_hash(recorded: Runtime) -> None:
    path = flow_store_path(recorded.settings)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        columns = {row[1] for row in db.execute("PRAGMA table_info(flow_chunks)")}
    assert columns == {"day", "n", "at", "dims", "tokens", "alike"}
    with sqlite3.connect(path) as db:
        dims = {row[1] for row in db.execute("PRAGMA table_info(flow_dims)")}
    assert dims == {"id", "camera", "lane", "direction", "movement", "vehicle_class", "country"}
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for plate in [LONE_PLATE, *CROWD]:
        assert plate.encode() not in raw
        for text in (plate.encode(), lookalike_key(plate).encode()):
            unkeyed = [hashlib.sha256(text).digest()[:16], hashlib.blake2b(text, digest_size=16).digest()]
            for permanent in unkeyed:
                assert permanent not in raw
    tokens, alike = file_tokens(path), file_tokens(path, "alike")
    assert len(tokens) == len(alike) > 0 and set(tokens).isdisjoint(alike)


def test_no_link_across_days(settings: Settings, demo_zone: ZoneConfig, clock: Clock) -> None:
    """The same vehicle on two days gets unrelated tokens; a trip across midnight is never made; the first day's
    secret is gone once that day is over."""
    pipeline = build_pipeline(settings, demo_zone, clock)
    late = clock.now.replace(hour=22, minute=50)  # 23:50 in Brussels
    pipeline.record([read(LONE_PLATE, "cam-heikant-south", "1", late, "d1-in")])
    clock.move(hours=4)  # 01:00 on the next local day (after the grace period)
    pipeline.record([read(LONE_PLATE, "cam-kouter-northwest", "2", late + timedelta(minutes=20), "d2-out"),
                     read(LONE_PLATE, "cam-heikant-south", "1", late + timedelta(hours=1), "d2-in")])  # fmt: skip
    assert pipeline.close_due_days(clock.now) == [local_day(late, "Europe/Brussels")]
    secret_folder = settings.data_dir / "flows-secret"
    assert [p.name for p in secret_folder.iterdir()] == ["2026-11-27.key"]
    day_one = pipeline.store.day_records("2026-11-26")
    day_two = pipeline.store.day_records("2026-11-27")
    assert {r.token for r in day_one}.isdisjoint({r.token for r in day_two})
    assert {r.alike for r in day_one}.isdisjoint({r.alike for r in day_two})  # nor do the look-alike tokens
    assert len({r.token for r in day_two}) == len({r.alike for r in day_two}) == 1  # within a day they do link
    assert pipeline.store.trips(["2026-11-26", "2026-11-27"], "gate") == []  # no trip across midnight
    pipeline.finish()
    assert list(secret_folder.iterdir()) == []
    pipeline.store.close()


def test_a_batch_across_midnight_is_split_by_local_day(settings: Settings, demo_zone: ZoneConfig, clock: Clock) -> None:
    """One batch of the sink can hold reads of two local days (around midnight, or a late read): each day's
    records get that day's tokens, and a read of a day whose secret is gone gets none."""
    pipeline = build_pipeline(settings, demo_zone, clock)
    before = clock.now.replace(hour=22, minute=59, second=30)  # 23:59:30 in Brussels on the 26th
    clock.now = before + timedelta(minutes=5)  # 00:04:30 on the 27th: the 26th is within its grace period
    crossing = [read(LONE_PLATE, "cam-heikant-south", "1", before, "a"),
                read(LONE_PLATE, "cam-kouter-northwest", "2", before + timedelta(minutes=1), "b"),
                read(LONE_PLATE, "cam-heikant-south", "1", before - timedelta(days=2), "c")]  # fmt: skip
    assert pipeline.record(crossing) == 3
    (first,) = pipeline.store.day_records("2026-11-26")
    (second,) = pipeline.store.day_records("2026-11-27")
    assert first.token is not None and second.token is not None and first.token != second.token
    assert first.alike != second.alike
    (late,) = pipeline.store.day_records("2026-11-24", linked_only=False)
    assert late.token is None and late.alike is None  # that day is over: counted, never linked
    pipeline.store.close()


def test_a_restart_within_the_day_keeps_linking(settings: Settings) -> None:
    """The open day's secret survives a restart (0600 file), so a vehicle read before and after still links."""
    now = datetime.now(UTC)
    midnight, _ = day_bounds(local_day(now, "Europe/Brussels"), "Europe/Brussels")
    at = max(now - timedelta(minutes=5), midnight + timedelta(seconds=1))
    for n, camera, lane in ((0, "cam-heikant-south", "1"), (1, "cam-kouter-northwest", "2")):
        runtime = build_runtime(settings)
        runtime.start()
        try:
            store_through_the_bus(runtime, [read(LONE_PLATE, camera, lane, at + timedelta(seconds=n), f"r-{n}")])
        finally:
            runtime.stop()
    tokens = file_tokens(flow_store_path(settings))
    assert len(tokens) == 2 and tokens[0] == tokens[1]


def test_raw_records_go_after_the_retention_period_and_the_figures_stay(
    tmp_path: Path, demo_zone: ZoneConfig, clock: Clock
) -> None:
    settings = Settings(data_dir=tmp_path, flows={"raw_retention_days": 2, "persist_secret": False})
    pipeline = build_pipeline(settings, demo_zone, clock)
    first = clock.now - timedelta(hours=12)  # 09:00 in Brussels
    for day in range(4):
        at = first + timedelta(days=day)
        clock.now = at
        pipeline.record(traffic(at))
        pipeline.close_due_days(clock.now)
    store = pipeline.store
    kept = [d for d in store.record_days() if store.day_records(d)]
    assert kept == ["2026-11-27", "2026-11-28", "2026-11-29"]  # the 26th's tokens are gone (the 29th is open)
    service = FlowsService(store, demo_zone)
    od = service.od("2026-11-26", "2026-11-26")
    assert {(c.origin, c.destination): c.trips for c in od.cells}[("n445-north", "n47-south")] == 30
    assert service.counts("2026-11-26", "2026-11-26", "day", ["camera"]).rows
    store.close()
