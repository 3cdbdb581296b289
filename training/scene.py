"""Put a plate in the world and photograph it badly: surroundings, dirt, shadow, occlusion, perspective,
a detector's loose or tight box, blur, low resolution, low light or infrared, noise and JPEG."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from training.render import Plate, _small_print

Rng = np.random.Generator
Image = npt.NDArray[np.uint8]


def _surroundings(rng: Rng, h: int, w: int, dark: bool) -> Image:
    """Car body, bumper, plate holder: a gradient with bars and blobs."""
    base = rng.integers(0, 90 if dark else 256, 3).astype(np.float32)
    ramp = np.linspace(rng.uniform(-40, 40), rng.uniform(-40, 40), h, dtype=np.float32)[:, None, None]
    across = np.linspace(rng.uniform(-30, 30), rng.uniform(-30, 30), w, dtype=np.float32)[None, :, None]
    img: Image = np.clip(base + ramp + across, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 5))):
        colour = tuple(int(v) for v in rng.integers(0, 90 if dark else 256, 3))
        y = int(rng.integers(0, h))
        cv2.rectangle(img, (0, y), (w, y + int(rng.integers(2, max(3, h // 6)))), colour, -1)
    return img


def _dirt(rng: Rng, img: Image, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    layer = np.zeros(img.shape[:2], np.float32)
    for _ in range(int(rng.integers(2, 12))):
        centre = (int(rng.integers(x, x + w)), int(rng.integers(y, y + h)))
        axes = (int(rng.integers(2, max(3, w // 6))), int(rng.integers(2, max(3, h // 3))))
        cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.2, 0.6)), -1)
    soft = np.asarray(cv2.GaussianBlur(layer, (0, 0), max(1.0, h / 12)), dtype=np.float32)[..., None]
    mud = np.array(rng.integers(40, 130, 3), np.float32)
    img[:] = (img.astype(np.float32) * (1 - soft) + mud * soft).astype(np.uint8)


def _shadow(rng: Rng, img: Image) -> None:
    h, w = img.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    side = (xx - w * rng.uniform(0.2, 0.8)) * np.cos(angle) + (yy - h * rng.uniform(0.2, 0.8)) * np.sin(angle)
    soft = 1 / (1 + np.exp(-side / max(1.0, rng.uniform(0.5, 6) * h / 40)))
    factor = 1 - rng.uniform(0.3, 0.65) * soft
    img[:] = (img.astype(np.float32) * factor[..., None]).astype(np.uint8)


def _occlude(rng: Rng, img: Image, box: tuple[int, int, int, int]) -> None:
    """A tow ball, a bar or a bolt over a small part of the plate."""
    x, y, w, h = box
    colour = tuple(int(v) for v in rng.integers(0, 200, 3))
    cx, cy = int(rng.integers(x, x + w)), int(rng.integers(y, y + h))
    if rng.random() < 0.5:
        cv2.circle(img, (cx, cy), int(rng.integers(max(2, h // 10), max(3, h // 5))), colour, -1, cv2.LINE_AA)
    else:
        bw, bh = int(rng.integers(2, max(3, w // 25))), int(rng.integers(h // 3, h))
        cv2.rectangle(img, (cx, cy - bh // 2), (cx + bw, cy + bh // 2), colour, -1)


def _motion_kernel(rng: Rng, length: int) -> npt.NDArray[np.float32]:
    kernel = np.zeros((length, length), np.float32)
    angle = rng.normal(0, 20) if rng.random() < 0.7 else rng.uniform(0, 180)
    c = (length - 1) / 2
    dx, dy = np.cos(np.radians(angle)) * c, np.sin(np.radians(angle)) * c
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    return kernel / max(float(kernel.sum()), 1e-6)


def photograph(plate: Plate, rng: Rng, infrared: bool) -> Image:
    """The plate in a scene, seen through a camera and cropped by a detector: an RGB crop."""
    ph, pw = plate.mask.shape
    my, mx = round(ph * rng.uniform(0.4, 1.0)), round(pw * rng.uniform(0.15, 0.4))
    scene = _surroundings(rng, ph + 2 * my, pw + 2 * mx, dark=infrared or rng.random() < 0.3)
    if rng.random() < 0.25:  # a plate holder: dark frame, often with the dealer's name under the plate
        frame = tuple(int(v) for v in rng.integers(0, 60, 3))
        pad = max(2, ph // 8)
        cv2.rectangle(scene, (mx - pad, my - pad), (mx + pw + pad, my + ph + 2 * pad), frame, -1)
        _small_print(scene, (mx, my + ph + pad // 2, pw, max(3, pad)), (220, 220, 220), rng)
    alpha = plate.mask[..., None].astype(np.float32) / 255
    region = scene[my : my + ph, mx : mx + pw].astype(np.float32)
    scene[my : my + ph, mx : mx + pw] = (region * (1 - alpha) + plate.rgb.astype(np.float32) * alpha).astype(np.uint8)
    box = (mx, my, pw, ph)
    if rng.random() < 0.2:
        _dirt(rng, scene, box)
    if rng.random() < 0.06:
        _occlude(rng, scene, box)

    # Perspective: yaw and pitch shorten one edge, roll turns the plate, shear leans it.
    corners = np.array([[mx, my], [mx + pw, my], [mx + pw, my + ph], [mx, my + ph]], np.float32)
    centre = corners.mean(axis=0)
    pts = corners - centre
    yaw, pitch = rng.normal(0, 0.08), rng.normal(0, 0.06)
    pts[:, 1] *= 1 + yaw * np.sign(pts[:, 0])
    pts[:, 0] *= 1 + pitch * np.sign(pts[:, 1])
    pts[:, 0] += rng.normal(0, 0.04) * pts[:, 1]
    roll = np.radians(rng.normal(0, 4) if rng.random() < 0.9 else rng.uniform(-15, 15))
    rot = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]], np.float32)
    pts = pts @ rot.T + centre
    xs, ys = pts[:, 0], pts[:, 1]
    qh, qw = ys.max() - ys.min(), xs.max() - xs.min()
    # The detector's box: usually a little loose, sometimes tight, never cutting deep into the plate.
    x0 = xs.min() - qw * rng.uniform(-0.02, 0.1)
    x1 = xs.max() + qw * rng.uniform(-0.02, 0.1)
    y0 = ys.min() - qh * rng.uniform(-0.04, 0.25)
    y1 = ys.max() + qh * rng.uniform(-0.04, 0.25)
    out_w, out_h = max(8, round(x1 - x0)), max(4, round(y1 - y0))
    warp = cv2.getPerspectiveTransform(corners, (pts - np.array([x0, y0], np.float32)).astype(np.float32))
    crop = np.asarray(
        cv2.warpPerspective(scene, warp, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        dtype=np.uint8,
    )

    if rng.random() < 0.2:
        _shadow(rng, crop)
    target_plate_h = float(np.exp(rng.uniform(np.log(13), np.log(90))))
    scale = min(1.0, target_plate_h / ph)
    if scale < 1.0:
        size = (max(4, round(out_w * scale)), max(3, round(out_h * scale)))
        crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    if rng.random() < 0.4:  # focus blur, in the camera's pixels
        crop = np.asarray(cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.3, 1.4)), dtype=np.uint8)
    if rng.random() < 0.15:  # motion blur
        kernel = _motion_kernel(rng, int(rng.integers(1, 4)) * 2 + 1)
        crop = np.asarray(cv2.filter2D(crop, -1, kernel), dtype=np.uint8)
    img: npt.NDArray[Any] = crop.astype(np.float32)
    if infrared:
        img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    light = rng.random()
    if light < 0.15:  # dusk, underexposed
        img = img * rng.uniform(0.2, 0.5)
    elif light < 0.25:  # overexposed
        img = img * rng.uniform(1.2, 1.8) + rng.uniform(0, 40)
    else:
        img = img * rng.uniform(0.75, 1.15) + rng.uniform(-25, 25)
    if not infrared and rng.random() < 0.3:
        img = img * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    if rng.random() < 0.3:
        gamma = rng.uniform(0.6, 1.6)
        img = 255 * (np.clip(img, 0, 255) / 255) ** gamma
    if rng.random() < 0.7:
        img = img + rng.normal(
            0, rng.uniform(1, 12), (*img.shape[:2], 1) if infrared or rng.random() < 0.5 else img.shape
        )
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 95))])
        decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            out = np.asarray(decoded, dtype=np.uint8)
    return np.ascontiguousarray(out)
