"""The whole pipeline with the real models on a handful of real dev images, and its typed outputs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from cordon.ingest.formats import ReadIn
from cordon.recognize import rectify
from cordon.recognize.models import text_detector_model
from cordon.recognize.output import recognition_json, to_plate_read, to_read_in
from cordon.recognize.pipeline import (
    CATCH_ALLS,
    DEFAULT_READER,
    FUSION_DEPTH,
    WEAK_CONFIDENCE,
    FusedRecognizer,
    Recognizer,
    build_reader,
    build_recognizer,
    fuse,
    rectify_options_for,
    trained_reader_available,
    weak,
)
from cordon.recognize.stages import Box, Candidate, Detection, Recognition
from cordon.recognize.textlines import TextLineFinder
from tests.recognize.conftest import BE_CROPS, EU_DEV, rgb, samples


def test_reads_plates_in_full_images(recognizer: Recognizer) -> None:
    chosen = samples(EU_DEV)[:8]  # the first of the manifest, not picked by result
    exact = 0
    for sample in chosen:
        found = recognizer.recognize(rgb(sample.path))
        assert sample.box is not None
        truth = Box(*sample.box)
        on_plate = [r for r in found if r.box is not None and r.box.iou(truth) >= 0.3]
        exact += bool(on_plate) and on_plate[0].best.plate == sample.plate
    assert exact >= 5, f"{exact} of {len(chosen)} read exactly"


class PartBox:
    """A detector that boxes the left `share` of the annotated plate, as real detectors sometimes do (the box
    stops at a dash): a stand-in for the detector stage only, the readers are the real ones."""

    name = "part-box"

    def __init__(self, box: Box, share: float) -> None:
        self.box = Box(box.x, box.y, round(box.w * share), box.h)

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(self.box, 0.3)]


def test_a_weak_reading_of_part_of_a_plate_is_read_again_wider(recognizer: Recognizer) -> None:
    """Boxed 60 % of the way, a plate reads as a fragment. A fragment that fits no real format (or is unsure)
    is read again on a crop widened by half the box each side, which shows the whole plate; a fragment that
    fits another format (`AL333` is a valid old Luxembourg plate) is not, and stays what it read."""
    chosen = [s for s in samples(EU_DEV) if len(s.plate) == 7][:6]  # SIV plates AB-123-CD, first of the manifest
    weak_ones = 0
    for sample in chosen:
        assert sample.box is not None
        image = rgb(sample.path)
        part = PartBox(Box(*sample.box), 0.6)
        plain = Recognizer(part, recognizer.reader, recognizer.decoder, replace(recognizer.options, widen=0.0),
                           line_finder=recognizer.line_finder)  # fmt: skip
        wide = Recognizer(part, recognizer.reader, recognizer.decoder, recognizer.options,
                          line_finder=recognizer.line_finder)  # fmt: skip
        fragment = plain.recognize(image)
        read = wide.recognize_with_crops(image)
        assert [r.box for r, _ in read] == [part.box] * len(read)  # the detection stays what the detector said
        assert fragment and fragment[0].best.plate != sample.plate  # the cut-off plate is not read from the part
        if fragment[0].best.confidence < WEAK_CONFIDENCE or fragment[0].best.format_name in CATCH_ALLS:
            weak_ones += 1
            assert read[0][0].best.plate == sample.plate
            assert read[0][1].shape[1] > 1.5 * rectify.crop(image, part.box).shape[1]  # the evidence is the wide crop
        else:
            assert read[0][0].best.plate == fragment[0].best.plate
    assert weak_ones >= 2, weak_ones


def test_reads_plate_crops(recognizer: Recognizer) -> None:
    chosen = samples(BE_CROPS)[:10]
    exact = sum((r := recognizer.read_crop(rgb(s.path))) is not None and r.best.plate == s.plate for s in chosen)
    assert exact >= 7, f"{exact} of {len(chosen)} read exactly"


def test_two_line_plate(recognizer: Recognizer) -> None:
    """A motorcycle plate, 1-BYG on the first line and 066 on the second."""
    sample = next(s for s in samples(BE_CROPS) if s.path.name == "be_0013.png")
    read = recognizer.read_crop(rgb(sample.path))
    assert read is not None and read.best.plate == "1BYG066"


def test_a_reading_that_lost_a_line_does_not_win_for_being_shorter(recognizer: Recognizer) -> None:
    """A personalised two-line plate, B 2 over 94S: its text lines give 94S (the top line's small B and 2 are
    left out), the split crop gives B294S; scores are sums of log-probabilities, so the shorter reading
    scored higher until each character a reading explains earned `length_credit`."""
    crop = rgb(next(s for s in samples(BE_CROPS) if s.path.name == "be_0021.png").path)
    read = recognizer.read_crop(crop)
    assert read is not None and read.best.plate == "B294S"
    without = Recognizer(recognizer.detector, recognizer.reader, recognizer.decoder, recognizer.options,
                         line_finder=recognizer.line_finder, length_credit=0.0)  # fmt: skip
    lost = without.read_crop(crop)
    assert lost is not None and lost.best.plate == "94S"


def test_recognition_converts_to_what_ingest_takes(recognizer: Recognizer) -> None:
    sample = samples(EU_DEV)[1]
    recognition = recognizer.recognize(rgb(sample.path))[0]
    line = recognition_json(recognition, str(sample.path))
    assert set(line) == {"image", "plate", "confidence", "bbox", "country", "candidates"}
    assert len(line["bbox"]) == 4 and line["candidates"][0]["plate"] == line["plate"]
    at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    read_in = to_read_in(recognition, "cam-north", at, "ev-1", lane_id="1")
    assert ReadIn.model_validate(read_in.model_dump(by_alias=True)) == read_in
    assert read_in.license_plate.replace("-", "").replace(" ", "") == recognition.best.plate
    plate_read = to_plate_read(recognition, "cam-north", at, at, "ev-1")
    assert plate_read.plate == recognition.best.plate and plate_read.bbox is not None


def test_readers_by_name() -> None:
    assert build_reader("rapidocr").name.startswith("rapidocr")
    general = rectify_options_for(build_reader("rapidocr"))
    assert general.split_lines and general.cut_eu_band
    if trained_reader_available():
        plate = build_reader("plate")
        assert plate.name == "cordon-reader"
        own = rectify_options_for(plate)
        assert not (own.split_lines or own.cut_eu_band or own.deskew)  # it was trained on detector crops as they come


def test_the_default_pipeline_fuses_both_readers(model_cache: Path) -> None:
    if not trained_reader_available():
        pytest.skip("the plate reader's model is not installed")
    assert DEFAULT_READER == "both"
    default = build_recognizer("auto", with_detector=False, cache_dir=model_cache)
    assert isinstance(default, FusedRecognizer)
    assert [m.reader.name for m in default.members] == ["rapidocr-ppocrv6-small", "cordon-reader"]
    assert all(m.detector is None for m in default.members)  # detection runs once, in the fused recognizer
    assert all(m.top == FUSION_DEPTH for m in default.members)  # each reader lists more than the fused reading keeps
    crops = [s for s in samples(BE_CROPS) if s.plate[0] in "12" and len(s.plate) == 7][:4]
    reads = default.read_plates([rgb(s.path) for s in crops])
    assert [r.best.plate if r else None for r in reads] == [s.plate for s in crops]
    assert all(r is not None and 0 < r.best.confidence <= 1 for r in reads)
    assert default.read_plates([]) == []
    assert all(r is not None and len(r.candidates) <= default.top == 5 for r in reads)


def test_a_text_one_reader_ranks_low_keeps_that_readers_confidence() -> None:
    """Fusion gives a text the floor only where a reader did not list it at all: the sixth text of one reader
    keeps its own confidence there (its lists are `FUSION_DEPTH` long), which decides between two texts the
    other reader weighs alike."""
    general = _reading(("1ABC234", 0.40), ("1ABC284", 0.40))
    plate_only = [(f"1ABC2{i}0", 0.09) for i in range(5)]
    with_sixth = fuse([general, _reading(*plate_only, ("1ABC284", 0.05))])
    without = fuse([general, _reading(*plate_only)])
    assert with_sixth is not None and without is not None
    assert with_sixth.best.plate == "1ABC284"
    assert {c.plate for c in without.candidates[:2]} == {"1ABC234", "1ABC284"}
    assert without.candidates[0].confidence == without.candidates[1].confidence


def _reading(*texts_and_confidences: tuple[str, float]) -> Recognition:
    return Recognition(tuple(Candidate(t, c, "BE", "BE current") for t, c in texts_and_confidences))


def test_fusion_lets_readers_outvote_each_other() -> None:
    general = _reading(("1022610", 0.55), ("102261013", 0.40))  # a validity sticker read as two digits
    plate = _reading(("1022610", 0.80), ("1022G10", 0.10))
    fused = fuse([general, plate])
    assert fused is not None
    assert [c.plate for c in fused.candidates] == ["1022610", "102261013", "1022G10"]
    assert abs(sum(c.confidence for c in fused.candidates) - 1) < 1e-3
    assert fused.best.confidence > 0.9  # both agree
    # One reader sure of one text, the other unsure between two: the text both list wins.
    split = fuse([_reading(("1ABC234", 0.9)), _reading(("1ABC284", 0.5), ("1ABC234", 0.45))])
    assert split is not None and split.best.plate == "1ABC234"
    assert fuse([_reading(("1ABC234", 0.9)), _reading(("1ABC234", 0.9))], top=1).candidates[0].plate == "1ABC234"


def test_fusion_with_readers_that_read_nothing() -> None:
    assert fuse([None, None]) is None
    only = fuse([None, _reading(("1ABC234", 0.7), ("1ABC284", 0.2))])
    assert only is not None and [c.plate for c in only.candidates] == ["1ABC234", "1ABC284"]
    assert only.candidates[0].confidence > only.candidates[1].confidence
    boxed = Recognition((Candidate("1ABC234", 0.9),), Box(1, 2, 3, 4), 0.8)
    kept = fuse([boxed, None])
    assert kept is not None and (kept.box, kept.detection_score) == (Box(1, 2, 3, 4), 0.8)
    assert [(c.plate, c.confidence) for c in kept.candidates] == [("1ABC234", 1.0)]
    with pytest.raises(ValueError, match="at least one member"):
        FusedRecognizer(None, [])


def test_text_lines_of_one_and_two_line_plates() -> None:
    finder = TextLineFinder(text_detector_model())
    one = next(s for s in samples(BE_CROPS) if s.path.name == "be_0005.png")
    two = next(s for s in samples(BE_CROPS) if s.path.name == "be_0013.png")
    lines = finder.lines(rgb(one.path))
    assert len(lines) == 1 and lines[0].shape[1] > 3 * lines[0].shape[0]
    assert len(finder.lines(rgb(two.path))) == 2


def test_tilted_plates_are_read_from_their_text_lines(recognizer: Recognizer) -> None:
    """Plates rotated 6 and 12 degrees inside a larger crop: the text-line path flattens them."""
    chosen = [s for s in samples(BE_CROPS) if s.plate[0] in "12" and len(s.plate) == 7][:6]  # current series
    read_whole = read_by_lines = 0
    for sample, angle in ((s, a) for s in chosen for a in (6, 12)):
        plate = rgb(sample.path)
        height, width = plate.shape[:2]
        canvas = cv2.copyMakeBorder(plate, height, height, width // 4, width // 4, cv2.BORDER_REPLICATE)
        centre = (canvas.shape[1] / 2, canvas.shape[0] / 2)
        tilted = cv2.warpAffine(canvas, cv2.getRotationMatrix2D(centre, angle, 1.0), canvas.shape[1::-1],
                                borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        tilted = np.asarray(tilted, dtype=np.uint8)
        whole = recognizer.read_crop(tilted)
        by_lines = recognizer.second_look(tilted, None)
        read_whole += whole is not None and whole.best.plate == sample.plate
        read_by_lines += by_lines is not None and by_lines.best.plate == sample.plate
    # Measured 10 and 5 of 12: the flattened lines read tilted plates far better than the whole crop.
    assert read_by_lines >= 9, read_by_lines
    assert read_whole >= 4, read_whole


def test_asking_for_a_missing_plate_reader_is_a_clear_error() -> None:
    if trained_reader_available():
        pytest.skip("the plate reader's model is installed")
    with pytest.raises(ValueError, match=r"plate_reader\.onnx"):
        build_reader("plate")


class CountingLines:
    """The real text-line finder, counting the crops it is asked about."""

    def __init__(self, finder: TextLineFinder) -> None:
        self.finder = finder
        self.asked = 0

    def lines(self, crop: np.ndarray) -> list[np.ndarray]:
        self.asked += 1
        return self.finder.lines(crop)


def test_the_fused_second_look_runs_only_where_the_fused_reading_is_weak(model_cache: Path) -> None:
    if not trained_reader_available():
        pytest.skip("the plate reader's model is not installed")
    default = build_recognizer("auto", with_detector=False, cache_dir=model_cache)
    assert isinstance(default, FusedRecognizer)
    counting = CountingLines(TextLineFinder(text_detector_model()))
    default.members[0].line_finder = counting
    crops = [rgb(s.path) for s in samples(BE_CROPS)[:12]]  # the first of the manifest, not picked by result
    crops += [np.asarray(np.rot90(c), dtype=np.uint8) for c in crops[:2]]  # on their side: nobody is sure

    firsts = [member.first_reads(crops) for member in default.members]
    fused_weak = [weak(fuse(list(per))) for per in zip(*firsts, strict=True)]
    general_weak = [weak(r) for r in firsts[0]]
    assert fused_weak[-2:] == [True, True]
    assert any(g and not f for f, g in zip(fused_weak, general_weak, strict=True))  # a look to be spared
    default.read_plates(crops)
    assert counting.asked == sum(f and g for f, g in zip(fused_weak, general_weak, strict=True))


FOREIGN_PLATES = [
    ("1234BCD", ("1234", "BCD")),  # ES
    ("WX12345", ("WX", "12345")),  # PL
    ("KR1234A", ("KR", "1234A")),
    ("PO123AC", ("PO", "123AC")),
    ("SZY1A23", ("SZY", "1A23")),
    ("1A23456", ("1A2", "3456")),  # CZ
    ("CA1234AB", ("CA", "1234", "AB")),  # BG
    ("ZH123456", ("ZH", "123456")),  # CH
    ("AB123CD", ("AB", "123", "CD")),  # IT (French SIV's layout)
    ("AB12CDE", ("AB12", "CDE")),  # GB, RO county (the Belgian two-letter index's layout)
]


def test_plates_from_further_eu_countries_are_read_as_written() -> None:
    """Both real readers and the decoder, on plates of countries beyond the neighbours, drawn by the training
    generator (plain, and photographed: tilt, blur, light, noise). Before those countries' formats were
    listed, half of these came out bent into a nearby format (WX12345 as WXI2345, 1234BCD as 234BCD)."""
    from training.render import render_plate
    from training.scene import photograph
    from training.texts import PlateText

    recognizer = build_recognizer("auto", with_detector=False)
    wrong = []
    for seed in range(6):
        for label, groups in FOREIGN_PLATES:
            rng = np.random.default_rng(seed * 100 + len(label))
            plate = render_plate(PlateText("XX", "free", groups, "free"), rng, 80, infrared=False)
            crop = plate.rgb if seed % 2 == 0 else photograph(plate, rng, infrared=False)
            found = recognizer.read_plates([crop])[0]
            if found is None or found.best.plate != label:
                wrong.append((seed, label, found.best.plate if found else None))
    assert not wrong
