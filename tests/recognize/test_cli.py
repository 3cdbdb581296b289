"""`cordon recognize` on files: JSON only on stdout, one clear error per bad file, the batch goes on."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from training.render import render_plate
from training.texts import PlateText

from cordon.cli import cli
from tests.recognize.conftest import BE_CROPS, EU_DEV, samples

ALPHABET_Z = 35
"""The plate reader's output column of `Z` (its alphabet is 0-9, A-Z, then the blank)."""


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: refused from its header, never decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.fixture
def env(model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return {"CORDON_MODEL_CACHE": str(model_cache), "CORDON_RECOGNIZE_READER": "rapidocr"}


def test_bad_files_each_get_an_error_and_the_batch_goes_on(tmp_path: Path, env: dict[str, str]) -> None:
    good = samples(EU_DEV)[1]
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(good.path, folder / "a_good.jpg")
    (folder / "b_empty.jpg").write_bytes(b"")
    (folder / "c_corrupt.jpg").write_bytes(good.path.read_bytes()[:2000])
    (folder / "d_huge.png").write_bytes(_png_header_only(60_000, 60_000))
    (folder / "e_text.png").write_text("not an image at all")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    result = CliRunner().invoke(cli, ["recognize", str(folder), str(tmp_path / "missing.jpg")], env=env)
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert next(line["plate"] for line in lines if line["image"].endswith("a_good.jpg")) == good.plate
    errors = result.stderr
    assert "b_empty.jpg: error: empty file" in errors
    assert "c_corrupt.jpg: error: corrupt or truncated JPEG file" in errors
    assert "d_huge.png: error: image too large: 60000×60000 pixels" in errors
    assert "e_text.png: error: unsupported format" in errors
    assert "missing.jpg: error: no such file" in errors
    assert "Traceback" not in result.output
    assert "6 files: 1 plate(s) read, 0 without a plate, 5 could not be read" in errors.splitlines()


def test_an_image_without_a_plate_is_named_on_stderr(tmp_path: Path, env: dict[str, str]) -> None:
    """An evidence photo in which nothing is read must not pass unnoticed; it is not an error either."""
    good = samples(EU_DEV)[1]
    empty = tmp_path / "wall.png"
    rng = np.random.default_rng(3)
    cv2.imwrite(str(empty), cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), (31, 31), 0))
    result = CliRunner().invoke(cli, ["recognize", str(good.path), str(empty)], env=env)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["image"] for line in result.stdout.splitlines()] == [str(good.path)]
    assert f"{empty}: no plate found" in result.stderr.splitlines()
    assert "2 files: 1 plate(s) read, 1 without a plate, 0 could not be read" in result.stderr
    alone = CliRunner().invoke(cli, ["recognize", "--format", "table", str(empty)], env=env)
    assert alone.exit_code == 0 and alone.stdout == "" and "files:" not in alone.stderr


def test_workers_read_in_parallel_and_keep_the_order(tmp_path: Path, env: dict[str, str]) -> None:
    """`--workers 2`: the same lines as one process, in the order of the files, with the same per-file errors."""
    chosen = samples(EU_DEV)[:5]
    (tmp_path / "broken.jpg").write_bytes(chosen[0].path.read_bytes()[:1500])
    files = [str(s.path) for s in chosen[:3]] + [str(tmp_path / "broken.jpg")] + [str(s.path) for s in chosen[3:]]
    one = CliRunner().invoke(cli, ["recognize", *files], env=env)
    two = CliRunner().invoke(cli, ["recognize", "--workers", "2", *files], env=env)
    assert one.exit_code == two.exit_code == 1  # the broken file
    assert two.stdout == one.stdout
    images = [json.loads(line)["image"] for line in two.stdout.splitlines()]
    assert len(set(images)) >= 4 and images == sorted(images, key=files.index)
    assert "broken.jpg: error: corrupt or truncated JPEG file" in two.stderr
    assert "Traceback" not in two.output


def test_photos_keep_their_extras_beside_a_video(model_cache: Path) -> None:
    """A batch with photos and a video: the photos are read as still images (960 px retry, wider reading), the
    video by the live view of the same models."""
    from cordon.recognize.pipeline import WIDEN, build_recognizer

    still = build_recognizer("rapidocr", cache_dir=model_cache)
    live = still.live()
    assert still.detector is not None and live.detector is not None
    assert (still.options.widen, still.detector.retry_size) == (WIDEN, 960)  # type: ignore[attr-defined]
    assert (live.options.widen, live.detector.retry_size) == (0.0, None)  # type: ignore[attr-defined]
    assert live.detector._session is still.detector._session  # type: ignore[attr-defined]  # one set of models
    assert live.reader is still.reader


def test_crop_mode_and_table(env: dict[str, str]) -> None:
    chosen = samples(BE_CROPS)[:3]
    result = CliRunner().invoke(cli, ["recognize", "--crop", "--top", "2", *[str(s.path) for s in chosen]], env=env)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3 and all(line["bbox"] is None and len(line["candidates"]) <= 2 for line in lines)
    table = CliRunner().invoke(cli, ["recognize", "--crop", "--format", "table", str(chosen[0].path)], env=env)
    assert table.exit_code == 0 and table.stdout.splitlines()[0].split()[:2] == ["image", "plate"]


def test_edge_mode_needs_camera_and_url(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["recognize", "--post", "http://127.0.0.1:9", "x.mp4"], env=env)
    assert result.exit_code != 0 and "--camera" in result.stderr


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ("XX=0.2", "'XX' is neither a country with formats"),
        ("NL=2", "a share is a number above 0 and at most 1"),
        ("NL=lots", "'lots' is not a number"),
        ("NL", "write COUNTRY=SHARE"),
        ("NL=0.1,nl=0.2", "NL is given twice"),
        (" , ", "the traffic mix is empty"),
    ],
)
def test_a_bad_traffic_mix_is_refused_before_any_work(mix: str, message: str, env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["recognize", "--traffic-mix", mix, "--crop", "missing.png"], env=env)
    assert result.exit_code == 1
    assert message in result.stderr and "missing.png" not in result.stderr
    assert result.stdout == ""


def test_the_traffic_mix_decides_the_country_of_a_layout_two_countries_share(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """`AB1234` is a Luxembourg plate and a Dutch side-code-1 plate: Luxembourg's by default, Dutch for a zone
    on the Dutch border that says so (the real reader reads a plate drawn by the training generator)."""
    plate = render_plate(PlateText("XX", "free", ("AB", "1234"), "free"), np.random.default_rng(3), 80, infrared=False)
    image = tmp_path / "ab1234.png"
    cv2.imwrite(str(image), cv2.cvtColor(plate.rgb, cv2.COLOR_RGB2BGR))
    countries = []
    for extra in ([], ["--traffic-mix", "NL=0.2"]):
        result = CliRunner().invoke(cli, ["recognize", "--crop", *extra, str(image)], env=env)
        assert result.exit_code == 0, result.output
        line = json.loads(result.stdout)
        assert line["plate"] == "AB1234"
        countries.append(line["country"])
    assert countries == ["LU", "NL"]
    from_env = CliRunner().invoke(
        cli, ["recognize", "--crop", str(image)], env={**env, "CORDON_RECOGNIZE_TRAFFIC_MIX": "NL=0.2"}
    )
    assert json.loads(from_env.stdout)["country"] == "NL"


def test_every_runtime_and_precision_reads_the_same_crops(env: dict[str, str]) -> None:
    """`--runtime` and `--precision` (and their env variables) change where the models run, not what they read."""
    from cordon.recognize.engine import native_bfloat16

    chosen = [str(s.path) for s in samples(BE_CROPS)[:3]]
    choices = [[], ["--runtime", "onnxruntime", "--precision", "float32"], ["--runtime", "openvino"]]
    choices += [["--precision", "bfloat16"]] if native_bfloat16() else []
    plates = []
    for extra in choices:
        result = CliRunner().invoke(cli, ["recognize", "--crop", *extra, *chosen], env=env)
        assert result.exit_code == 0, result.output
        plates.append([json.loads(line)["plate"] for line in result.stdout.splitlines()])
    assert all(p == plates[0] for p in plates), plates
    from_env = CliRunner().invoke(
        cli, ["recognize", "--crop", *chosen], env={**env, "CORDON_RECOGNIZE_RUNTIME": "openvino"}
    )
    assert [json.loads(line)["plate"] for line in from_env.stdout.splitlines()] == plates[0]


def test_an_engine_this_machine_cannot_run_is_refused_before_any_work(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["recognize", "--runtime", "onnxruntime", "--precision", "bfloat16", "--crop", "missing.png"], env=env
    )
    assert result.exit_code != 0
    assert "bfloat16 runs under openvino only" in result.stderr and "missing.png" not in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
    unknown = CliRunner().invoke(cli, ["recognize", "--runtime", "tensorrt", "x.png"], env=env)
    assert unknown.exit_code == 2 and "tensorrt" in unknown.stderr


def test_one_thread_means_one_thread_in_blas_too() -> None:
    """`--threads 1` (the default) holds numpy's BLAS to one thread: it kept one per core, and the plate reader's
    resampling burned a second core (a process measured 37 s of CPU in 20 s of wall time)."""
    code = (
        "import json, numpy, threadpoolctl\n"
        "from cordon.commands.recognize import _limit_threads\n"
        "def blas(): return [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "before = blas()\n"
        "_limit_threads(1)\n"
        "print(json.dumps([before, blas()]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout)
    assert before and len(after) >= len(before) and set(after) == {1}  # OpenCV may bring a BLAS of its own
    if (os.cpu_count() or 1) > 1:
        assert max(before) > 1  # what it would have been


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
@pytest.mark.timeout(180)
def test_workers_end_with_a_killed_batch(tmp_path: Path, model_cache: Path) -> None:
    """A batch stopped with SIGTERM (or killed) ends at once and leaves no worker behind holding its models."""
    frame = np.full((720, 1280, 3), 120, np.uint8)
    cv2.rectangle(frame, (500, 400), (760, 460), (255, 255, 255), -1)
    ok, jpeg = cv2.imencode(".jpg", frame)
    assert ok
    for i in range(400):
        (tmp_path / f"img_{i:03d}.jpg").write_bytes(jpeg.tobytes())
    env = {**os.environ, "CORDON_MODEL_CACHE": str(model_cache), "CORDON_RECOGNIZE_READER": "rapidocr"}
    batch = subprocess.Popen([sys.executable, "-m", "cordon", "recognize", "--workers", "2", str(tmp_path)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while len(workers) < 2 and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = _children(batch.pid)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(2)  # they load their models and start reading
        batch.send_signal(signal.SIGTERM)
        batch.wait(timeout=30)
        time.sleep(2)
        assert [w for w in workers if Path(f"/proc/{w}").exists()] == []
    finally:
        batch.kill()


def test_a_zones_own_plate_model_is_checked_and_used(tmp_path: Path, env: dict[str, str]) -> None:
    """`--plate-model`: the file is checked before any work, and its readings are the ones given. The zone's
    model here is the shipped one with its output bias pushed towards `Z`, so its readings must differ."""
    import onnx
    from onnx import numpy_helper

    from cordon.recognize.reader import MODEL_PATH

    model = onnx.load(str(MODEL_PATH))
    for tensor in model.graph.initializer:
        if tensor.name.endswith("classify.bias"):
            bias = numpy_helper.to_array(tensor).copy()
            bias[ALPHABET_Z] += 30.0
            tensor.CopyFrom(numpy_helper.from_array(bias, tensor.name))
    own = tmp_path / "zone_reader.onnx"
    onnx.save(model, str(own))
    crops = [str(s.path) for s in samples(BE_CROPS)[:3]]
    shipped = CliRunner().invoke(cli, ["recognize", "--crop", "--reader", "plate", *crops], env=env)
    copy = tmp_path / "copy.onnx"
    shutil.copy(MODEL_PATH, copy)
    same = CliRunner().invoke(cli, ["recognize", "--crop", "--reader", "plate", "--plate-model", str(copy), *crops],
                              env=env)  # fmt: skip
    zone = CliRunner().invoke(cli, ["recognize", "--crop", "--reader", "plate", *crops],
                              env=env | {"CORDON_RECOGNIZE_PLATE_MODEL": str(own)})  # fmt: skip
    assert shipped.exit_code == same.exit_code == zone.exit_code == 0, zone.output
    assert same.stdout == shipped.stdout  # the same weights under another name read the same
    plates = [json.loads(line)["plate"] for line in zone.stdout.splitlines()]
    assert plates and all("Z" in plate for plate in plates)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reader", "both", "--plate-model", "{junk}"], "--plate-model: {junk}: not an ONNX model onnxruntime can"),
        (["--reader", "plate", "--plate-model", "{missing}"], "--plate-model: {missing}: no such file"),
        (["--reader", "rapidocr", "--plate-model", "{junk}"], "--plate-model is for --reader plate, both or auto"),
    ],
    ids=["not-onnx", "missing", "rapidocr"],
)
def test_a_plate_model_that_cannot_run_is_refused_before_any_work(
    tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    junk, missing = tmp_path / "junk.onnx", tmp_path / "missing.onnx"
    junk.write_bytes(b"not a model")
    filled = [a.format(junk=junk, missing=missing) for a in args]
    result = CliRunner().invoke(cli, ["recognize", *filled, str(tmp_path / "missing.png")], env=env)
    assert result.exit_code == 1 and message.format(junk=junk, missing=missing) in result.stderr
    assert "missing.png" not in result.stderr and "Traceback" not in result.output
