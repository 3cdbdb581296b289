"""The recognition pipeline in one short loop: detect ► crop and rectify ► read ► decode (grammar prior).

Every stage is injected (`Detector`, `Reader`, `Decoder` from `stages.py`); `build_recognizer` wires the
defaults. Nothing is loaded at import time.

>>> from cordon.recognize.pipeline import build_recognizer  # doctest: +SKIP
>>> recognizer = build_recognizer()  # doctest: +SKIP
>>> [r.best.plate for r in recognizer.recognize(rgb_image)]  # doctest: +SKIP
['1ABC234']
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from cordon.plate_grammar import ALPHABET
from cordon.recognize import rectify
from cordon.recognize.decode import GrammarDecoder, character_rows
from cordon.recognize.engine import PORTABLE, Engine, Engines, choose_engines
from cordon.recognize.stages import PAD, Candidate, Decoder, Detection, Detector, Reader, Recognition, SlotProbs

Image = npt.NDArray[np.uint8]
ReaderName = Literal["auto", "rapidocr", "plate", "both"]
DEFAULT_READER: Literal["rapidocr", "plate", "both"] = "both"
"""What `auto` means: the reading that scored best on the dev sets with `bench/recognition.py` (docs/models.md):
both readers, their candidates fused (`fuse`); the general reader alone where the plate reader's model is not
installed."""
FUSION_FLOOR = 0.01
"""In `fuse`, what a reader that did not list a text is taken to give it (little, not nothing)."""
FUSION_DEPTH = 10
"""How many candidates each fused reader lists (the fused reading keeps `top`). With 5, a text one reader
ranked sixth got the floor there instead of its own confidence, and the fused winner could change when a
grammar change moved a candidate in or out of a list."""


@dataclass(frozen=True)
class RectifyOptions:
    """Which cheap corrections run between detector and reader."""

    margin: float = 0.08
    deskew: bool = True
    cut_eu_band: bool = True
    split_lines: bool = True
    widen: float = 0.0
    """A weak reading of a detected plate is read again on a crop widened by this fraction of the box's width
    on each side (0: never): detectors often box part of a plate (the box stops at a dash, or misses the
    last group), and the wider view shows the whole of it. The better reading of the two is kept. It costs a
    second reading of every weak plate: `build_recognizer` turns it on for still images (`WIDEN`), not for
    video, where the tracker's vote over frames does this job."""


WIDEN = 0.5
"""`RectifyOptions.widen` for still images: half the box's width on each side."""


def merge_lines(lines: Sequence[SlotProbs]) -> SlotProbs:
    """The slots of several text lines (top first) as one plate."""
    rows = [character_rows(line) for line in lines]
    stacked = np.concatenate([r for r in rows if len(r)] or [np.zeros((0, len(ALPHABET)), np.float32)])
    probs = np.concatenate([stacked, np.zeros((len(stacked), 1), np.float32)], axis=1)
    return SlotProbs(ALPHABET + PAD, probs.astype(np.float32))


class LineFinder(Protocol):
    """Finds the text lines of a plate crop and returns them flattened, in reading order."""

    def lines(self, crop: Image) -> list[Image]: ...


LENGTH_CREDIT = 1.0
"""Nats a reading earns per character when readings of different cuts of one plate are compared (one line,
split lines, text lines): a score sums log-probabilities, so without it a reading that lost a line (`94S` for
the two-line `B 2 / 94S`) wins by having fewer characters to be unsure of. Within one cut the decoder's own
drop penalty does this job."""

WEAK_CONFIDENCE = 0.6
"""A first reading below this confidence, or fitting no common format, gets a second look (text lines)."""


CATCH_ALLS = (None, "BE personalised")
"""Format names of readings that fit no real format: none at all, or only the catch-all."""


def weak(read: Recognition | None) -> bool:
    """Whether a reading needs another look: nothing read, unsure (below `WEAK_CONFIDENCE`), or no real format."""
    return read is None or read.best.confidence < WEAK_CONFIDENCE or read.best.format_name in CATCH_ALLS


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
        length_credit: float = LENGTH_CREDIT,
    ) -> None:
        self.detector = detector
        self.reader = reader
        self.decoder = decoder or GrammarDecoder()
        self.options = rectify_options or RectifyOptions()
        self.top = top
        self.max_plates = max_plates
        self.line_finder = line_finder
        self.length_credit = length_credit

    def _better(self, new: tuple[Candidate, ...], old: tuple[Candidate, ...]) -> bool:
        """Whether `new` (a reading of one cut of the plate) beats `old` (another cut's)."""
        if not new:
            return False
        if not old:
            return True
        credit = self.length_credit
        return new[0].score + credit * len(new[0].plate) > old[0].score + credit * len(old[0].plate)

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
        """Read plate crops (already cut out); None where nothing legible was found. Weak readings get the
        line finder's second look."""
        return self.look_again(plates, self.first_reads(plates))

    def first_reads(self, plates: Sequence[Image]) -> list[Recognition | None]:
        """The reader's readings of plate crops as prepared (`prepare`), without a second look."""
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
                if self._better(candidates, best):
                    best = candidates
            out.append(Recognition(best) if best else None)
        return out

    def look_again(self, plates: Sequence[Image], reads: Sequence[Recognition | None]) -> list[Recognition | None]:
        """`reads` of `plates`, each weak one replaced by the second look's when that is better (no line
        finder: unchanged)."""
        if self.line_finder is None:
            return list(reads)
        pairs = zip(plates, reads, strict=True)
        return [self.second_look(plate, read) if weak(read) else read for plate, read in pairs]

    def second_look(self, plate: Image, first: Recognition | None) -> Recognition | None:
        """Read the plate's text lines, found and flattened by the line finder; keep the better reading."""
        assert self.line_finder is not None
        lines = self.line_finder.lines(plate)
        if not lines:
            return first
        slots = self.reader.read(lines)
        candidates = self.decoder.decode(slots[0] if len(slots) == 1 else merge_lines(slots), self.top)
        if self._better(candidates, first.candidates if first is not None else ()):
            return Recognition(candidates)
        return first

    def live(self) -> Recognizer:
        """This recognizer as video and edge mode run it, sharing its models: no second detection at a larger
        size where nothing was found, no wider second reading of weak plates (a live source must keep up, and
        the tracker's vote over frames does their job)."""
        view = copy.copy(self)
        view.options = replace(self.options, widen=0.0)
        if self.detector is not None and getattr(self.detector, "retry_size", None) is not None:
            view.detector = copy.copy(self.detector)
            view.detector.retry_size = None  # type: ignore[attr-defined]
        return view

    @property
    def members(self) -> tuple[Recognizer, ...]:
        """The recognizers whose readings make this one's (itself, unless it fuses several)."""
        return (self,)

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
        margin = self.options.margin
        crops = [rectify.crop(image, d.box, margin) for d in detections]
        reads = self.read_plates(crops)
        unsure = [i for i, read in enumerate(reads) if weak(read)] if self.options.widen > 0 else []
        if unsure:
            width = image.shape[1]
            wide = [rectify.crop(image, rectify.widened(detections[i].box, self.options.widen, width), margin)
                    for i in unsure]  # fmt: skip
            for i, crop, again in zip(unsure, wide, self.read_plates(wide), strict=True):
                first = reads[i]
                if again is not None and self._better(again.candidates, first.candidates if first else ()):
                    reads[i], crops[i] = again, crop
        found = []
        for detection, crop, read in zip(detections, crops, reads, strict=True):
            if read is not None:
                found.append((Recognition(read.candidates, detection.box, detection.score), crop))
        return found


def fuse(readings: Sequence[Recognition | None], top: int = 5, floor: float = FUSION_FLOOR) -> Recognition | None:
    """The readings of one plate by several readers as one ranking (a product of experts over their lists).

    Each text listed by any reader scores the sum over the readers of the log of its confidence there,
    `floor` where a reader did not list it or read nothing; confidences are these scores normalised over the
    texts listed. Readers that fail differently (the general reader drops a two-line plate's top line or
    reads a validity sticker; the plate reader confuses G and 6) outvote each other's mistakes, and a text
    both list gains. Country and format come from the reader that listed the text first. None when no
    reader read anything.

    >>> a = Recognition((Candidate("1ABC234", 0.6), Candidate("1ABC284", 0.3)))
    >>> b = Recognition((Candidate("1ABC284", 0.5), Candidate("1ABC234", 0.4)))
    >>> [(c.plate, c.confidence) for c in fuse([a, b]).candidates]
    [('1ABC234', 0.6154), ('1ABC284', 0.3846)]
    """
    found = [r for r in readings if r is not None]
    if not found:
        return None
    listed: dict[str, Candidate] = {}
    for reading in found:
        for candidate in reading.candidates:
            listed.setdefault(candidate.plate, candidate)
    by_reader = [{c.plate: c.confidence for c in r.candidates} for r in found]
    absent = (len(readings) - len(found)) * float(np.log(floor))  # the same for every text
    scores = {
        text: absent + sum(float(np.log(max(confs.get(text, 0.0), floor))) for confs in by_reader) for text in listed
    }
    ranked = sorted(scores, key=lambda text: -scores[text])
    values = np.array([scores[t] for t in ranked])
    weights = np.exp(values - values.max())
    weights /= weights.sum()
    first = found[0]
    candidates = tuple(
        Candidate(
            plate=text,
            confidence=round(float(weight), 4),
            country=listed[text].country,
            format_name=listed[text].format_name,
            score=round(scores[text], 4),
        )
        for text, weight in zip(ranked[:top], weights[:top], strict=False)
    )
    return Recognition(candidates, first.box, first.detection_score)


class FusedRecognizer(Recognizer):
    """Several recognizers (each a reader with its own preparation and decoder) on the same crops, their
    readings fused by `fuse`; detection is done once, by this recognizer's detector."""

    def __init__(
        self,
        detector: Detector | None,
        members: Sequence[Recognizer],
        top: int = 5,
        max_plates: int = 8,
        floor: float = FUSION_FLOOR,
    ) -> None:
        if not members:
            raise ValueError("a fused recognizer needs at least one member")
        first = members[0]
        super().__init__(detector, first.reader, first.decoder, first.options, top, max_plates, first.line_finder)
        self._members = tuple(members)
        self.floor = floor

    @property
    def members(self) -> tuple[Recognizer, ...]:
        return self._members

    def read_plates(self, plates: Sequence[Image]) -> list[Recognition | None]:
        """Every member's first reading, fused; the members' second looks only for plates whose fused reading
        is weak (where the readers agree, a member's weak reading needs no second look)."""
        readings = [member.first_reads(plates) for member in self.members]
        fused = [fuse(per_plate, self.top, self.floor) for per_plate in zip(*readings, strict=True)]
        unsure = [i for i, read in enumerate(fused) if weak(read)]
        if not unsure:
            return fused
        for member, reads in zip(self.members, readings, strict=True):
            again = member.look_again([plates[i] for i in unsure], [reads[i] for i in unsure])
            for i, read in zip(unsure, again, strict=True):
                reads[i] = read
        for i in unsure:
            fused[i] = fuse([reads[i] for reads in readings], self.top, self.floor)
        return fused


def trained_reader_available() -> bool:
    """Whether the plate-specific reader (`cordon.recognize.reader`) is installed with its model file."""
    try:
        from cordon.recognize.reader import MODEL_PATH
    except ImportError:
        return False
    return Path(MODEL_PATH).is_file()


def build_reader(
    name: Literal["rapidocr", "plate"], engine: Engine = PORTABLE, plate_model: Path | None = None
) -> Reader:
    """The reader by name: `rapidocr` (general text reader from the rapidocr wheel) or `plate` (the
    plate-specific reader trained in this repository, or `plate_model`: a zone's own, checked first by
    `reader.check_model`, which raises `PlateModelError` with the reason)."""
    if name == "plate" and plate_model is not None:
        from cordon.recognize.reader import CordonReader, check_model

        check_model(plate_model)
        return CordonReader(plate_model, engine=engine)
    if name == "plate" and not trained_reader_available():
        raise ValueError("the plate reader's model (cordon/recognize/reader/plate_reader.onnx) is not installed")
    if name == "plate":
        from cordon.recognize.reader import CordonReader

        return CordonReader(engine=engine)
    from cordon.recognize.models import reader_model
    from cordon.recognize.rapid import RapidOcrReader

    return RapidOcrReader(reader_model(), engine=engine)


def rectify_options_for(reader: Reader) -> RectifyOptions:
    """The general reader reads one text line at a time: crops are deskewed, the EU band is cut off and
    squarish plates are also tried split into their lines. The plate reader takes the crop as it comes (it
    was trained on detector crops, band, tilt and two-line plates included)."""
    if reader.name.startswith("rapidocr"):
        return RectifyOptions()
    return RectifyOptions(deskew=False, cut_eu_band=False, split_lines=False)


def build_recognizer(
    reader: ReaderName = "auto",
    with_detector: bool = True,
    cache_dir: Path | None = None,
    engines: Engines | None = None,
    input_size: int = 640,
    retry_size: int | None = 960,
    top: int = 5,
    widen: float = WIDEN,
    decoder: Decoder | None = None,
    plate_model: Path | None = None,
) -> Recognizer:
    """The default pipeline: the converted YOLOv8n plate detector, the chosen reader(s), the grammar decoder.

    `reader`: `rapidocr`, `plate`, `both` (fused), or `auto` (`DEFAULT_READER` when the plate reader's model
    is installed, else `rapidocr`). `retry_size` and `widen` are for still images (a second detection at a
    larger size when nothing is found; a second, wider reading of weak readings); video passes None and 0.
    `decoder`: each reader's decoder (default: `GrammarDecoder()`, a Belgian zone's traffic mix).
    `engines`: where each model runs (default: `choose_engines()`, the fastest this machine has).
    `plate_model`: an ONNX plate reader to use instead of the committed one (a zone's own, trained with
    `training/` on its plates); `auto` then fuses it with the general reader."""
    if plate_model is not None and reader == "rapidocr":
        raise ValueError("a plate reader model is for --reader plate, both or auto, not rapidocr")
    engines = engines or choose_engines()
    detector = None
    if with_detector:
        from cordon.recognize.detect import YoloPlateDetector
        from cordon.recognize.models import converted_detector

        converted = converted_detector(cache_dir, precision=engines.detector.detector_graph)
        detector = YoloPlateDetector(
            converted.onnx_path, converted.spec, input_size=input_size, retry_size=retry_size, engine=engines.detector
        )
    plate_ready = plate_model is not None or trained_reader_available()
    chosen = (DEFAULT_READER if plate_ready else "rapidocr") if reader == "auto" else reader
    names: list[Literal["rapidocr", "plate"]] = ["rapidocr", "plate"] if chosen == "both" else [chosen]
    members = [_reader_recognizer(name, engines, max(top, FUSION_DEPTH), decoder, plate_model) for name in names]
    if len(members) == 1:
        only = members[0]
        options = replace(only.options, widen=widen)
        return Recognizer(detector, only.reader, only.decoder, options, top, line_finder=only.line_finder)
    fused = FusedRecognizer(detector, members, top=top)
    fused.options = replace(fused.options, widen=widen)
    return fused


def _reader_recognizer(
    name: Literal["rapidocr", "plate"],
    engines: Engines,
    top: int,
    decoder: Decoder | None = None,
    plate_model: Path | None = None,
) -> Recognizer:
    """One reader with its preparation, decoder and (for the general reader) text-line second look."""
    built = build_reader(name, engines.plate_reader if name == "plate" else engines.general_reader, plate_model)
    line_finder = None
    if built.name.startswith("rapidocr"):  # the general reader reads one text line at a time
        from cordon.recognize.models import text_detector_model
        from cordon.recognize.textlines import TextLineFinder

        line_finder = TextLineFinder(text_detector_model(), engine=engines.text_lines)
    return Recognizer(None, built, decoder, rectify_options_for(built), top=top, line_finder=line_finder)
