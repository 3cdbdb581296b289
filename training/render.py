"""Draw a plate: colours, the EU band, the French department band, separators, borders, small print.

The result is the plate alone, face on, as RGB with a coverage mask for its rounded outline; `scene.py` puts
it in the world and degrades it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from training.faces import Face, random_face
from training.texts import DIGITS, LETTERS, PlateText

Rng = np.random.Generator
Image = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]

_EU_BLUE = (0, 51, 153)
_STAR_YELLOW = (255, 204, 0)
_BAND_CODE = {"BE": "B", "NL": "NL", "FR": "F", "DE": "D", "LU": "L", "XX": ""}


@dataclass(frozen=True)
class Plate:
    rgb: Image
    mask: Image
    """Coverage of the plate's outline (255 inside)."""


def _jitter(rng: Rng, base: Colour, spread: int) -> Colour:
    r, g, b = (int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)
    return (r, g, b)


def colours(rng: Rng, style: str, infrared: bool) -> tuple[Colour, Colour]:
    """(background, characters) for a style; under infrared light the sheeting glows and the ink is dark."""
    if infrared:
        grey = int(rng.integers(200, 256))
        ink = int(rng.integers(0, 90))
        return (grey, grey, grey), (ink, ink, ink)
    white = _jitter(rng, (238, 238, 236), 16)
    yellow = _jitter(rng, (245, 195, 20), 22)
    black = _jitter(rng, (25, 25, 28), 22)
    if style == "be":
        return white, (int(rng.integers(130, 235)), int(rng.integers(0, 70)), int(rng.integers(15, 90)))
    if style == "be-inverse":
        return (int(rng.integers(170, 245)), int(rng.integers(30, 120)), int(rng.integers(20, 70))), white
    if style == "be-black":
        return white, (black if rng.random() < 0.7 else _jitter(rng, (30, 60, 160), 30))
    if style in ("nl", "lu", "fr-old-yellow"):
        return yellow, black
    if style == "fr-old-black":
        return black, _jitter(rng, (205, 205, 205), 30)
    if style in ("fr", "de"):
        return white, black
    light = tuple(int(v) for v in rng.integers(150, 256, 3))
    dark = tuple(int(v) for v in rng.integers(0, 110, 3))
    pair = ((light[0], light[1], light[2]), (dark[0], dark[1], dark[2]))
    return (pair[1], pair[0]) if rng.random() < 0.25 else pair


def _paste(rgb: Image, mask: Image, x: int, y: int, colour: Colour) -> None:
    """Alpha-blend a coverage mask of `colour` at (x, y), clipped to the image."""
    h, w = mask.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, rgb.shape[1]), min(y + h, rgb.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    alpha = mask[y0 - y : y1 - y, x0 - x : x1 - x, None].astype(np.float32) / 255.0
    region = rgb[y0:y1, x0:x1].astype(np.float32)
    rgb[y0:y1, x0:x1] = (region * (1 - alpha) + np.array(colour, np.float32) * alpha).astype(np.uint8)


def _text_width(face: Face, text: str, char_w: float, gaps: list[float]) -> float:
    return sum(face.advance(c) * char_w for c in text) + sum(gaps)


def _draw_line(
    rgb: Image, face: Face, groups: tuple[str, ...], box: tuple[int, int, int, int], ink: Colour, rng: Rng, sep: str
) -> None:
    """Draw groups of characters centred in box (x, y, w, h) with a separator kind between groups."""
    bx, by, bw, bh = box
    char_h = bh
    char_w = char_h * face.aspect
    spacing = char_w * float(rng.uniform(0.08, 0.25))
    sep_w = {"dash": 0.6, "be-dash": 0.7, "dot": 0.4, "space": 0.55, "seals": 0.75, "none": 0.2}[sep] * char_w
    text = "".join(groups)
    gaps = [spacing] * max(len(text) - len(groups), 0) + [sep_w + spacing] * (len(groups) - 1)
    total = _text_width(face, text, char_w, gaps)
    squeeze = min(1.0, bw / total) if total > 0 else 1.0
    x = bx + (bw - total * squeeze) / 2
    stroke = max(1, round(char_h * (face.weight if face.path is None else 0.12)))
    for gi, group in enumerate(groups):
        for ci, ch in enumerate(group):
            w = max(round(face.advance(ch) * char_w * squeeze), stroke + 2)
            _paste(rgb, face.draw(ch, char_h, w), round(x), by, ink)
            x += face.advance(ch) * char_w * squeeze + (spacing * squeeze if ci < len(group) - 1 else 0)
        if gi < len(groups) - 1:
            x += spacing * squeeze
            cx, cy, half = round(x + sep_w * squeeze / 2), by + char_h // 2, max(2, round(sep_w * squeeze * 0.3))
            if sep in ("dash", "be-dash"):
                cv2.line(rgb, (cx - half, cy), (cx + half, cy), ink, stroke, cv2.LINE_AA)
                if sep == "be-dash":
                    cv2.circle(rgb, (cx, by + char_h // 4), max(2, char_h // 10), ink, max(1, stroke // 3))
            elif sep == "dot":
                cv2.circle(rgb, (cx, cy), max(1, stroke // 2 + 1), ink, -1, cv2.LINE_AA)
            elif sep == "seals":
                r = max(2, round(sep_w * squeeze * 0.35))
                seal = tuple(int(v) for v in rng.integers(60, 230, 3))
                for sy in (by + char_h // 3, by + 2 * char_h // 3):
                    cv2.circle(rgb, (cx, sy), r, (seal[0], seal[1], seal[2]), -1, cv2.LINE_AA)
            x += sep_w * squeeze


def _eu_band(rgb: Image, x: int, y: int, w: int, h: int, code: str, infrared: bool, rng: Rng) -> None:
    blue = (200, 200, 200) if infrared else _jitter(rng, _EU_BLUE, 25)
    rgb[y : y + h, x : x + w] = blue
    ring_y, r = y + min(h // 3, w), max(2, round(w * 0.32))
    for k in range(12):
        a = 2 * np.pi * k / 12
        star = (round(x + w / 2 + r * np.cos(a)), round(ring_y + r * np.sin(a)))
        cv2.circle(rgb, star, max(1, w // 18), (230, 230, 230) if infrared else _STAR_YELLOW, -1)
    if code:
        face = Face(None, 0.16, 0.0, 0.55)
        ch_h = max(4, min(round(h * 0.28), round(w * 0.75 / max(len(code), 1) / 0.55)))
        ch_w = max(3, round(ch_h * 0.55))
        cx = x + (w - ch_w * len(code)) // 2
        for i, ch in enumerate(code):
            _paste(rgb, face.draw(ch, ch_h, ch_w), cx + i * ch_w, y + h - ch_h - max(2, h // 10), (250, 250, 250))


def _small_print(rgb: Image, box: tuple[int, int, int, int], ink: Colour, rng: Rng) -> None:
    """Dealer text or a validity sticker: small characters the reader must ignore."""
    bx, by, bw, bh = box
    if bh < 4 or bw < 8:
        return
    face = Face(None, 0.15, 0.0, 0.6)
    n = int(rng.integers(4, 18))
    text = "".join(str(c) for c in rng.choice(list(LETTERS + DIGITS + "   ."), n))
    cw = min(bh * 0.6, bw / n)
    x = bx + (bw - cw * n) / 2
    for ch in text:
        if ch.isalnum():
            _paste(rgb, face.draw(ch, bh, max(2, round(cw * 0.85))), round(x), by, ink)
        x += cw


def render_plate(text: PlateText, rng: Rng, height: int, infrared: bool = False) -> Plate:
    """The plate face on, `height` pixels high (two-line plates keep roughly that height too)."""
    face = random_face(rng)
    bg, ink = colours(rng, text.style, infrared)
    two = text.two_line
    width = round(height * (rng.uniform(1.15, 1.9) if two else rng.uniform(3.4, 5.2)))
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:] = bg
    tint = (
        rng.normal(0, 6, (1, width, 1)) + np.linspace(rng.uniform(-12, 6), rng.uniform(-12, 6), height)[:, None, None]
    )
    rgb[:] = np.clip(rgb.astype(np.float32) + tint, 0, 255).astype(np.uint8)
    left = 0
    eu = text.country != "XX" and not text.style.startswith("fr-old") and rng.random() < 0.85
    if eu:
        band_w = max(6, round(height * (rng.uniform(0.38, 0.5) if two else rng.uniform(0.36, 0.46))))
        band_y, band_h = (height // 2, height - height // 2) if two and rng.random() < 0.5 else (0, height)
        _eu_band(rgb, 0, band_y, band_w, band_h, _BAND_CODE[text.country], infrared, rng)
        left = band_w
    right = width
    if text.style == "fr" and rng.random() < 0.85:
        band_w = round(height * rng.uniform(0.36, 0.46))
        right = width - band_w
        _eu_band(rgb, right, 0, band_w, height, "", infrared, rng)
        logo = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.rectangle(rgb, (right + 3, 4), (width - 4, height // 2), (logo[0], logo[1], logo[2]), -1)
        _small_print(rgb, (right + 2, height * 6 // 10, band_w - 4, height // 4), (245, 245, 245), rng)
    margin_y = height * rng.uniform(0.1, 0.2)
    pad_x = round(height * rng.uniform(0.08, 0.25))
    area = (left + pad_x, right - pad_x)
    if text.style.startswith("be"):
        sep = "be-dash" if rng.random() < 0.6 else "dash"
    elif text.style == "de":
        sep = "seals" if rng.random() < 0.8 else "space"
    elif text.style in ("fr", "nl"):
        sep = "dash"
    elif text.style.startswith("fr-old") or text.style == "lu":
        sep = str(rng.choice(["space", "dash"]))
    else:
        sep = str(rng.choice(["dash", "space", "dot", "none", "space"]))
    if two:
        line_h = round((height - 2 * margin_y) * rng.uniform(0.4, 0.46))
        gap = round(height - 2 * margin_y - 2 * line_h)
        top = round(margin_y)
        first, second = text.groups[: text.line_break], text.groups[text.line_break :]
        _draw_line(rgb, face, first, (area[0], top, area[1] - area[0], line_h), ink, rng, sep)
        _draw_line(rgb, face, second, (area[0], top + line_h + gap, area[1] - area[0], line_h), ink, rng, sep)
    else:
        char_h = round((height - 2 * margin_y) * rng.uniform(0.85, 1.0))
        top = round((height - char_h) / 2 + rng.uniform(-0.05, 0.05) * height)
        if rng.random() < 0.2:  # dealer line under the characters
            char_h = round(char_h * 0.85)
            _small_print(rgb, (area[0], top + char_h + 2, area[1] - area[0], max(3, height // 12)), ink, rng)
        _draw_line(rgb, face, text.groups, (area[0], top, area[1] - area[0], char_h), ink, rng, sep)
        if text.format == "be-temporary" or rng.random() < 0.03:  # validity sticker at the right edge
            sw = round(height * 0.3)
            _small_print(rgb, (right - sw - 2, height // 4, sw, height // 5), ink, rng)
            _small_print(rgb, (right - sw - 2, height // 2, sw, height // 5), ink, rng)
    if rng.random() < 0.5:
        inset = int(rng.integers(1, max(2, height // 14)))
        cv2.rectangle(rgb, (inset, inset), (width - 1 - inset, height - 1 - inset), ink, max(1, height // 40))
    mask = np.zeros((height, width), np.uint8)
    radius = int(rng.integers(1, max(2, height // 8)))
    cv2.rectangle(mask, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (width - 1, height - 1 - radius), 255, -1)
    for cx, cy in ((radius, radius), (width - 1 - radius, radius), (radius, height - 1 - radius)):
        cv2.circle(mask, (cx, cy), radius, 255, -1)
    cv2.circle(mask, (width - 1 - radius, height - 1 - radius), radius, 255, -1)
    return Plate(rgb, mask)
