"""Frames of a realism video: real pages placed in a layout, with transitions, a real photo as
the speaker's camera tile moving the way a person moves, and camera-side effects.

Reused from slidecast.synthetic.effects: the filmed-projector warp (Camera), sensor noise
(NoiseBank), the laser pointer (Pointer) and mains flicker. Everything is a deterministic
function of the recipe's seed and the frame time.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from slidecast.synthetic import effects as fx

TAU = 2 * math.pi
# Real photographs shipped with scikit-image (read as files; the package is not imported):
# (file, centre x, centre y, crop width) of a head-and-shoulders crop, in source pixels.
PHOTOS = {"astronaut": ("astronaut.png", 250, 170, 330), "cameraman": ("camera.png", 260, 190, 330)}


def photo_file(name: str) -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-image's photos are missing: pip install --no-deps scikit-image")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / PHOTOS[name][0]


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest (w, h) with the aspect of `size` inside `box`, even numbers."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(2, int(size[0] * scale) // 2 * 2), max(2, int(size[1] * scale) // 2 * 2)


class Face:
    """A real photo cropped to a head and shoulders, swaying, leaning in now and then, and
    moving once (a jump) at `jump_at` seconds."""

    def __init__(self, photo: str, size: tuple[int, int], seed: int, duration: float):
        _, cx, cy, crop = PHOTOS[photo]
        image = cv2.imread(str(photo_file(photo)), cv2.IMREAD_COLOR)
        self.image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        self.size, self.centre, self.crop = size, (cx, cy), crop
        rng = np.random.default_rng([seed, 7])
        self.phases = rng.uniform(0, TAU, 6)
        self.leans = sorted(rng.uniform(0, duration, max(1, int(duration // 40))).tolist())
        self.jump_at = float(rng.uniform(0.3, 0.7) * duration)
        self.jump = rng.uniform(-0.12, 0.12, 2) * crop

    def _lean(self, t: float) -> float:
        """0..1: how far the speaker leans towards the camera (4-s smooth bumps)."""
        return max([0.0] + [math.sin(math.pi * (t - s) / 4) ** 2 for s in self.leans if s <= t <= s + 4])

    def draw(self, t: float) -> np.ndarray:
        p = self.phases
        sway = np.array([math.sin(TAU * 0.23 * t + p[0]) * 0.04 + math.sin(TAU * 0.61 * t + p[1]) * 0.01,
                         math.sin(TAU * 0.17 * t + p[2]) * 0.02]) * self.crop
        centre = np.array(self.centre, float) + sway + (self.jump if t >= self.jump_at else 0)
        width = self.crop * (1 - 0.22 * self._lean(t))
        angle = 2.5 * math.sin(TAU * 0.13 * t + p[3])
        w, h = self.size
        scale = w / width
        matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
        matrix[:, 2] += (w / 2 - centre[0], h / 2 - centre[1])
        tile = cv2.warpAffine(self.image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        gain = 1 + 0.05 * math.sin(TAU * 0.09 * t + p[4])  # the webcam's auto exposure
        return cv2.convertScaleAbs(tile, alpha=gain)


@dataclass
class Layout:
    """Where the slide and the camera tile go in a frame of `frame` (w, h).

    kind: "full" (slide fitted, bars where the aspect differs), "speaker" (slide and tile side
    by side; `side` is the tile's side), "pip" (tile in `corner` over the slide; with `move_at`
    it glides to `move_to` in 1.5 s), "projector" (the full layout filmed by a camera)."""

    kind: str
    frame: tuple[int, int]
    page: tuple[int, int]
    side: str = "right"
    corner: str = "br"
    move_to: str | None = None
    move_at: float = 0.0
    bars: tuple[int, int, int] = (0, 0, 0)

    def slide_box(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the slide picture inside the frame."""
        fw, fh = self.frame
        if self.kind == "speaker":
            area = (int(fw * 0.7), int(fh * 0.94))
            w, h = fit(self.page, area)
            x = fw - w - int(fw * 0.02) if self.side == "left" else int(fw * 0.02)
            return x, (fh - h) // 2, w, h
        w, h = fit(self.page, (fw, fh))
        return (fw - w) // 2, (fh - h) // 2, w, h

    def tile_size(self) -> tuple[int, int]:
        fw = self.frame[0]
        w = int(fw * (0.25 if self.kind == "speaker" else 0.2)) // 2 * 2
        return w, (w * 3 // 4) // 2 * 2

    def tile_at(self, t: float) -> tuple[int, int]:
        """Top-left corner of the camera tile at time t."""
        fw, fh = self.frame
        tw, th = self.tile_size()
        if self.kind == "speaker":
            x = int(fw * 0.015) if self.side == "left" else fw - tw - int(fw * 0.015)
            return x, (fh - th) // 2
        start = self._corner(self.corner)
        if not self.move_to or t <= self.move_at:
            return start
        end = self._corner(self.move_to)
        a = min(1.0, (t - self.move_at) / 1.5)
        a = a * a * (3 - 2 * a)
        return int(start[0] + a * (end[0] - start[0])), int(start[1] + a * (end[1] - start[1]))

    def _corner(self, corner: str) -> tuple[int, int]:
        fw, fh = self.frame
        tw, th = self.tile_size()
        m = max(4, fw // 60)
        return (m if corner[1] == "l" else fw - tw - m, m if corner[0] == "t" else fh - th - m)


def transition(kind: str, old: np.ndarray, new: np.ndarray, a: float) -> np.ndarray:
    """The slide picture a (0..1) of the way through a transition from old to new."""
    if kind == "fade":
        return cv2.addWeighted(old, 1 - a, new, a, 0)
    w = old.shape[1]
    edge = int(round(a * w))
    if kind == "wipe":  # the new slide uncovered from the left
        out = old.copy()
        out[:, :edge] = new[:, :edge]
        return out
    if kind == "push":  # the new slide pushes the old one out to the left
        return np.concatenate([old[:, edge:], new[:, :edge]], axis=1)
    raise ValueError(f"unknown transition {kind!r}")


def exposure_gain(t: float, steps: list[tuple[float, float]]) -> float:
    """Gain of a camera whose auto exposure steps to a new level at each (time, gain), in 0.2 s."""
    gain = 1.0
    for at, level in steps:
        if t >= at:
            a = min(1.0, (t - at) / 0.2)
            gain = gain + a * (level - gain)
    return gain


class Effects:
    """Per-frame camera-side effects of a video: projector warp, pointer, exposure, noise."""

    def __init__(self, frame: tuple[int, int], seed: int, projector: bool, pointer: bool, noise: float,
                 exposure: list[tuple[float, float]], flicker: float):
        w, h = frame
        self.camera = fx.Camera(w, h, seed) if projector else None
        self.pointer = fx.Pointer(w, h, seed) if pointer else None
        sigma = max(noise, 2.0) if projector else noise
        self.noise = fx.NoiseBank(w, h, sigma, seed) if sigma > 0 else None
        self.exposure, self.flicker = exposure, flicker

    def apply(self, image: np.ndarray, i: int, t: float) -> np.ndarray:
        if self.pointer:
            self.pointer.draw(image, t)
        if self.camera:
            image = self.camera.apply(self.camera.soften(image), t)
        gain = exposure_gain(t, self.exposure) * (fx.flicker_gain(t, self.flicker) if self.flicker else 1.0)
        if gain != 1.0:
            image = cv2.convertScaleAbs(image, alpha=gain)
        if self.noise:
            image = self.noise.apply(image, i)
        return image
