"""The two runtimes behind `cordon.recognize.engine`, on the real models and real crops: the same outputs in
float32, the same readings in bfloat16, safe under threads, and a clear error for a choice this machine cannot
run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from cordon.errors import CordonError
from cordon.recognize import engine as engines
from cordon.recognize.engine import (
    PORTABLE,
    Engine,
    Engines,
    choose_engine,
    choose_engines,
    native_bfloat16,
)
from cordon.recognize.models import converted_detector, reader_model
from cordon.recognize.pipeline import build_recognizer
from cordon.recognize.rapid import RapidOcrReader
from cordon.recognize.reader import MODEL_PATH, CordonReader, best_text
from cordon.recognize.reader.preprocess import preprocess
from tests.recognize.conftest import BE_CROPS, rgb, samples

needs_bfloat16 = pytest.mark.skipif(not native_bfloat16(), reason="this CPU has no native bfloat16 (or no openvino)")


def _crops(n: int = 12) -> list[np.ndarray]:
    """The first `n` real Belgian crops (skips without the dev set)."""
    return [rgb(s.path) for s in samples(BE_CROPS)[:n]]


def _drawn(n: int) -> list[np.ndarray]:
    """`n` plates drawn by the training generator: for checks where any plate-like input does (they run without
    the dev sets too)."""
    from training.render import render_plate
    from training.texts import sample_text

    rng = np.random.default_rng(5)
    return [render_plate(sample_text(rng), rng, int(rng.integers(40, 90))).rgb for _ in range(n)]


def test_choices_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown runtime"):
        choose_engine("tensorrt")
    with pytest.raises(ValueError, match="unknown precision"):
        choose_engine("auto", "fp8")
    with pytest.raises(ValueError, match="bfloat16 runs under openvino only"):
        Engine("onnxruntime", "bfloat16")
    with pytest.raises(ValueError, match="threads"):
        Engine(threads=0)


def test_auto_takes_openvino_only_where_the_cpu_has_bfloat16() -> None:
    chosen = choose_engine()
    if native_bfloat16():
        assert chosen == Engine("openvino", "bfloat16")
    else:
        assert chosen == Engine("onnxruntime", "int8")
    assert choose_engine("onnxruntime") == PORTABLE
    assert choose_engine("openvino", "float32", threads=2) == Engine("openvino", "float32", 2)
    assert choose_engine("auto", "float32").detector_graph == "float32"
    assert choose_engine("auto", "int8") == Engine("onnxruntime", "int8")  # int8 runs fastest under onnxruntime


def test_the_default_plan_gives_each_model_its_measured_engine() -> None:
    plan = choose_engines(threads=2)
    if native_bfloat16():
        assert plan == Engines(
            detector=Engine("onnxruntime", "int8", 2),
            general_reader=Engine("openvino", "bfloat16", 2),
            plate_reader=Engine("onnxruntime", "float32", 2),
            text_lines=Engine("openvino", "float32", 2),
        )
        assert "general reader: openvino, bfloat16, 2 threads" in plan.describe()
    else:
        assert plan == Engines.uniform(Engine("onnxruntime", "int8", 2))
    # an explicit choice applies to every model
    assert choose_engines("onnxruntime") == Engines.uniform(PORTABLE)
    assert choose_engines("auto", "float32").describe() == "onnxruntime, float32, 1 thread"


def test_bfloat16_on_a_cpu_without_it_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on an older CPU (the CPU's report is the process boundary replaced here): a clear error, and
    `auto` falls back to onnxruntime."""
    monkeypatch.setattr(engines, "native_bfloat16", lambda: False)
    with pytest.raises(CordonError, match="no native bfloat16") as caught:
        choose_engine("auto", "bfloat16")
    assert caught.value.code == "engine_unavailable"
    assert choose_engine() == Engine("onnxruntime", "int8")
    assert choose_engine("openvino") == Engine("openvino", "int8")
    assert choose_engines() == Engines.uniform(PORTABLE)


def test_openvino_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "openvino_installed", lambda: False)
    monkeypatch.setattr(engines, "native_bfloat16", lambda: False)
    with pytest.raises(CordonError, match="openvino runtime is not installed"):
        choose_engine("openvino")
    assert choose_engine() == PORTABLE


@pytest.mark.parametrize("model", ["plate reader", "general reader"])
def test_both_runtimes_give_the_same_float32_outputs(model: str) -> None:
    path = MODEL_PATH if model == "plate reader" else reader_model()
    ort_session = Engine("onnxruntime", "float32").session(path)
    ov_session = Engine("openvino", "float32").session(path)
    assert ort_session.input_names == ov_session.input_names
    assert dict(ort_session.metadata) == dict(ov_session.metadata) and ort_session.metadata
    if model == "plate reader":
        batch = preprocess(_drawn(12))
    else:
        batch = np.random.default_rng(1).uniform(-1, 1, (1, 3, 48, 320)).astype(np.float32)
    feeds = {ort_session.input_names[0]: batch}
    (expected,) = ort_session.run(None, feeds)
    (got,) = ov_session.run(None, feeds)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-4)


@needs_bfloat16
def test_bfloat16_reads_the_real_crops_as_float32_does() -> None:
    crops = _crops(24)
    exact = [best_text(r.probs) for r in CordonReader(engine=Engine("onnxruntime", "float32")).read(crops)]
    fast = [best_text(r.probs) for r in CordonReader(engine=Engine("openvino", "bfloat16")).read(crops)]
    same = sum(a == b for a, b in zip(exact, fast, strict=True))
    assert same >= len(crops) - 1, list(zip(exact, fast, strict=True))


def test_the_detector_graph_runs_on_both_runtimes(model_cache: Path) -> None:
    converted = converted_detector(model_cache, precision="float32")
    tensor = np.random.default_rng(2).uniform(0, 1, (1, 3, 384, 640)).astype(np.float32)
    outputs = list(converted.spec.outputs)
    expected = Engine("onnxruntime", "float32").session(converted.onnx_path).run(outputs, {"images": tensor})
    got = Engine("openvino", "float32").session(converted.onnx_path).run(outputs, {"images": tensor})
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(b, a, atol=2e-3)


def test_a_model_given_as_bytes_loads_on_both_runtimes() -> None:
    data = MODEL_PATH.read_bytes()
    batch = preprocess(_drawn(2))
    first, second = (Engine(runtime, "float32").session(data) for runtime in ("onnxruntime", "openvino"))
    assert second.metadata.get("decoding") == "ctc"
    np.testing.assert_allclose(second.run(None, {"image": batch})[0], first.run(None, {"image": batch})[0], atol=2e-4)


def test_an_openvino_session_is_safe_under_threads() -> None:
    """One inference request per thread: concurrent runs never see each other's buffers."""
    session = Engine("openvino", "float32").session(MODEL_PATH)
    batches = [preprocess([crop]) for crop in _drawn(8)]
    alone = [session.run(None, {"image": b})[0] for b in batches]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            together = list(pool.map(lambda b: session.run(None, {"image": b})[0], batches))
            for a, b in zip(alone, together, strict=True):
                np.testing.assert_array_equal(a, b)


@needs_bfloat16
def test_the_general_reader_in_bfloat16_reads_as_in_float32(model_cache: Path) -> None:
    """The default plan's general reader against float32, on 24 real crops. Raw (the EU band left on, as it never
    is in the pipeline) the readings are unstable for either arithmetic and 21 agree; as `cordon recognize
    --crop` reads them (rectified, decoded, fused), all 24 plates agree."""
    crops = _crops(24)
    exact = RapidOcrReader(reader_model(), Engine("onnxruntime", "float32")).read(crops)
    fast = RapidOcrReader(reader_model(), Engine("openvino", "bfloat16")).read(crops)
    raw = [(best_text(a.probs, a.alphabet), best_text(b.probs, b.alphabet)) for a, b in zip(exact, fast, strict=True)]
    assert sum(a == b for a, b in raw) >= len(crops) - 4, raw
    plates = []
    for plan in (Engines.uniform(Engine("onnxruntime", "float32")), choose_engines()):
        recognizer = build_recognizer("auto", with_detector=False, cache_dir=model_cache, engines=plan)
        plates.append([(r.best.plate if (r := recognizer.read_crop(crop)) else None) for crop in crops])
    assert plates[0] == plates[1]


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_a_broken_model_is_a_clear_error(runtime: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(MODEL_PATH.read_bytes()[:5000])
    with pytest.raises(ValueError, match=f"{runtime} cannot load .*broken.onnx"):
        Engine(runtime, "float32").session(broken)  # type: ignore[arg-type]


def test_the_general_reader_feeds_a_handful_of_input_shapes() -> None:
    """Width by aspect ratio, padded to at least 320 and to a multiple of 32: a long-running camera compiles a
    few shapes, not one per crop, and the crop's pixels stay at the left, unscaled by the padding."""
    from cordon.recognize.rapid import MIN_WIDTH, WIDTH_STEP

    reader = RapidOcrReader(reader_model())
    widths = set()
    for crop_w in range(20, 1200, 7):
        crop = np.full((40, crop_w, 3), 255, np.uint8)
        tensor = reader._tensor(crop)
        assert tensor.shape[:3] == (1, 3, 48)
        widths.add(tensor.shape[3])
        drawn = min(48 * 16, -(-48 * crop_w // 40))
        assert np.all(tensor[0, :, :, : max(8, drawn)] == 1.0) and np.all(tensor[0, :, :, max(8, drawn) :] == 0.0)
    assert min(widths) == MIN_WIDTH and all(w % WIDTH_STEP == 0 for w in widths)
    assert len(widths) == (48 * 16 - MIN_WIDTH) // WIDTH_STEP + 1  # 320, 352, ..., 768
