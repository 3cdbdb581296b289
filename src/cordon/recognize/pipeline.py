"""The recognition pipeline in one short loop: detect ► crop and rectify ► read ► decode (grammar prior).

Every stage is injected (`Detector`, `Reader`, `Decoder` from `stages.py`); `build_recognizer` wires the
defaults. Nothing is loaded at import time.

>>> from cordon.recognize.pipeline import build_recognizer  # doctest: +SKIP
>>> recognizer = build_recognizer()  # doctest: +SKIP
>>> [r.best.plate for r in recognizer.recognize(rgb_image)]  # doctest: +SKIP
['1ABC234']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from cordon.recognize import rectify
from cordon.recognize.decode import GrammarDecoder, character_rows
from cordon.recognize.grammar import ALPHABET
from cordon.recognize.stages import PAD, Candidate, Decoder, Detection, Detector, Reader, Recognition, SlotProbs

Image = npt.NDArray[np.uint8]
ReaderName = Literal["auto", "rapidocr", "plate"]
DEFAULT_READER: Literal["rapidocr", "plate"] = "rapidocr"
"""What `auto` means: the reader that scored best on the dev sets with `bench/recognition.py` (docs/models.md).
The plate reader trained in this repository becomes the default once it beats the general one there."""


@dataclass(frozen=True)
class RectifyOptions:
    """Which cheap corrections run between detector and reader."""

    margin: float = 0.08
    deskew: bool = True
    cut_eu_band: bool = True
    split_lines: bool = True


def merge_lines(lines: Sequence[SlotProbs]) -> SlotProbs:
    """The slots of several text lines (top first) as one plate."""
    rows = [character_rows(line) for line in lines]
    stacked = np.concatenate([r for r in rows if len(r)] or [np.zeros((0, len(ALPHABET)), np.float32)])
    probs = np.concatenate([stacked, np.zeros((len(stacked), 1), np.float32)], axis=1)
    return SlotProbs(ALPHABET + PAD, probs.astype(np.float32))


class LineFinder(Protocol):
    """Finds the text lines of a plate crop and returns them flattened, in reading order."""

    def lines(self, crop: Image) -> list[Image]: ...


WEAK_CONFIDENCE = 0.6
"""A first reading below this confidence, or fitting no common format, gets a second look (text lines)."""


def _weak(read: Recognition | None) -> bool:
    return read is None or read.best.confidence < WEAK_CONFIDENCE or read.best.format_name in (None, "BE personalised")


class Recognizer:
    """Finds and reads plates in images, or reads plate crops."""

    def __init__(
        self,
        detector: Detector | None,
        reader: Reader,
        decoder: Decoder | None = None,
        rectify_options: RectifyOptions | None = None,
        top: int = 5,
        max_plates: int = 8,
        line_finder: LineFinder | None = None,
    ) -> None:
        self.detector = detector
        self.reader = reader
        self.decoder = decoder or GrammarDecoder()
        self.options = rectify_options or RectifyOptions()
        self.top = top
        self.max_plates = max_plates
        self.line_finder = line_finder

    def prepare(self, plate: Image) -> list[list[Image]]:
        """A plate crop as the reader's inputs: one or two ways to read it (one line; two lines when the
        crop is squarish), each a list of text lines."""
        if self.options.deskew:
            plate = rectify.deskew(plate)
        if self.options.cut_eu_band:
            plate = rectify.cut_eu_band(plate)
        ways = [[plate]]
        if self.options.split_lines:
            lines = rectify.split_lines(plate)
            if len(lines) > 1:
                ways.append(lines)
        return ways

    def read_plates(self, plates: Sequence[Image]) -> list[Recognition | None]:
        """Read plate crops (already cut out); None where nothing legible was found."""
        prepared = [self.prepare(plate) for plate in plates]
        flat = [line for ways in prepared for way in ways for line in way]
        slots = iter(self.reader.read(flat) if flat else [])
        out: list[Recognition | None] = []
        for ways in prepared:
            best: tuple[Candidate, ...] = ()
            for way in ways:
                parts = [next(slots) for _ in way]
                merged = parts[0] if len(parts) == 1 else merge_lines(parts)
                candidates = self.decoder.decode(merged, self.top)
                if candidates and (not best or candidates[0].score > best[0].score):
                    best = candidates
            out.append(Recognition(best) if best else None)
        if self.line_finder is not None:
            out = [
                self.second_look(plate, read) if _weak(read) else read for plate, read in zip(plates, out, strict=True)
            ]
        return out

    def second_look(self, plate: Image, first: Recognition | None) -> Recognition | None:
        """Read the plate's text lines, found and flattened by the line finder; keep the better reading."""
        assert self.line_finder is not None
        lines = self.line_finder.lines(plate)
        if not lines:
            return first
        slots = self.reader.read(lines)
        candidates = self.decoder.decode(slots[0] if len(slots) == 1 else merge_lines(slots), self.top)
        if candidates and (first is None or candidates[0].score > first.best.score):
            return Recognition(candidates)
        return first

    def read_crop(self, plate: Image) -> Recognition | None:
        """Read one plate crop."""
        return self.read_plates([plate])[0]

    def detect(self, image: Image) -> list[Detection]:
        if self.detector is None:
            raise ValueError("this recognizer has no detector (crop mode only)")
        return self.detector.detect(image)[: self.max_plates]

    def recognize(self, image: Image) -> list[Recognition]:
        """Every plate found in an RGB image, read; best detection first."""
        return [recognition for recognition, _ in self.recognize_with_crops(image)]

    def recognize_with_crops(self, image: Image) -> list[tuple[Recognition, Image]]:
        """As `recognize`, each with the plate's crop (the evidence image of a read)."""
        detections = self.detect(image)
        crops = [rectify.crop(image, d.box, self.options.margin) for d in detections]
        found = []
        for detection, crop, read in zip(detections, crops, self.read_plates(crops), strict=True):
            if read is not None:
                found.append((Recognition(read.candidates, detection.box, detection.score), crop))
        return found


def trained_reader_available() -> bool:
    """Whether the plate-specific reader (`cordon.recognize.reader`) is installed with its model file."""
    try:
        from cordon.recognize.reader import MODEL_PATH
    except ImportError:
        return False
    return Path(MODEL_PATH).is_file()


def build_reader(name: ReaderName = "auto", threads: int = 1) -> Reader:
    """The reader by name: `rapidocr` (general text reader from the rapidocr wheel), `plate` (the
    plate-specific reader trained in this repository), `auto` (`DEFAULT_READER`, when its model is there)."""
    if name == "plate" and not trained_reader_available():
        raise ValueError("the plate reader's model (cordon/recognize/reader/plate_reader.onnx) is not installed")
    if name == "plate" or (name == "auto" and DEFAULT_READER == "plate" and trained_reader_available()):
        from cordon.recognize.reader import CordonReader

        return CordonReader(threads=threads)
    from cordon.recognize.models import reader_model
    from cordon.recognize.rapid import RapidOcrReader

    return RapidOcrReader(reader_model(), threads=threads)


def rectify_options_for(reader: Reader) -> RectifyOptions:
    """The plate reader takes two-line plates whole (it was trained on them); the general reader reads one
    text line at a time, so squarish plates are also tried split into their lines."""
    return RectifyOptions(split_lines=reader.name.startswith("rapidocr"))


def build_recognizer(
    reader: ReaderName = "auto",
    with_detector: bool = True,
    cache_dir: Path | None = None,
    threads: int = 1,
    input_size: int = 640,
    retry_size: int | None = 960,
    top: int = 5,
    precision: Literal["int8", "float32"] = "int8",
) -> Recognizer:
    """The default pipeline: the converted YOLOv8n plate detector, the chosen reader, the grammar decoder."""
    detector = None
    if with_detector:
        from cordon.recognize.detect import YoloPlateDetector
        from cordon.recognize.models import converted_detector

        converted = converted_detector(cache_dir, precision=precision)
        detector = YoloPlateDetector(
            converted.onnx_path, converted.spec, input_size=input_size, retry_size=retry_size, threads=threads
        )
    built = build_reader(reader, threads)
    line_finder = None
    if built.name.startswith("rapidocr"):  # the general reader reads one text line at a time
        from cordon.recognize.models import text_detector_model
        from cordon.recognize.textlines import TextLineFinder

        line_finder = TextLineFinder(text_detector_model(), threads=threads)
    return Recognizer(detector, built, rectify_options=rectify_options_for(built), top=top, line_finder=line_finder)
