"""Per-frame difficulties laid over synthetic slides: webcam, pointer, camera, flicker, noise.

Each effect is a small object built once per video (cached textures, masks, matrices) whose
`apply(frame, t)`/`draw(frame, t)` is cheap; all motion is a deterministic function of time and
the deck seed, so the same spec always renders the same pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

TAU = 2 * math.pi


def _wave(t: float, parts) -> float:
    """Sum of sines (frequency Hz, amplitude, phase): smooth, aperiodic-looking motion."""
    return sum(a * math.sin(TAU * f * t + p) for f, a, p in parts)


class Webcam:
    """A picture-in-picture box (1/5 of the frame width) with a talking, moving person."""

    def __init__(self, width: int, height: int, seed: int):
        rng = np.random.default_rng([seed, 31])
        self.w = (width // 5) // 2 * 2
        self.h = (self.w * 3 // 4) // 2 * 2
        margin = max(4, width // 60)
        corner = int(rng.integers(3))  # bottom-right, top-right, bottom-left
        self.x = margin if corner == 2 else width - self.w - margin
        self.y = margin if corner == 1 else height - self.h - margin
        self.background = self._room(rng)
        self.skin = tuple(int(v) for v in rng.choice([(190, 150, 125), (225, 190, 160), (140, 100, 75)]))
        self.hair = tuple(int(v) for v in rng.choice([(40, 30, 25), (95, 70, 40), (150, 150, 150)]))
        self.shirt = tuple(int(v) for v in rng.integers(30, 200, 3))
        self.phases = rng.uniform(0, TAU, 8)

    def _room(self, rng) -> np.ndarray:
        wall = np.array(rng.integers(120, 210, 3), dtype=np.float32)
        ramp = np.linspace(0.8, 1.1, self.w, dtype=np.float32)[None, :, None]
        room = np.broadcast_to(wall * ramp, (self.h, self.w, 3)).copy()
        for _ in range(4):  # books on a shelf behind the speaker
            x0 = int(rng.integers(0, self.w - 8))
            bw, bh = int(rng.integers(4, 10)), int(rng.integers(self.h // 6, self.h // 3))
            room[self.h // 3 - bh:self.h // 3, x0:x0 + bw] = rng.integers(30, 230, 3)
        room += rng.normal(0, 6, room.shape)
        room = cv2.GaussianBlur(room, (0, 0), 1.2)
        return np.clip(room, 0, 255).astype(np.uint8)

    def draw(self, frame: np.ndarray, t: float, soft: bool = False) -> None:
        """Draw the webcam box for time t into frame (RGB uint8, modified in place);
        `soft` blurs it like the rest of a filmed screen."""
        p = self.phases
        gain = 1.0 + _wave(t, [(0.11, 0.05, p[0]), (0.7, 0.015, p[1])])
        box = cv2.convertScaleAbs(self.background, alpha=gain)
        w, h = self.w, self.h
        cx = w * (0.5 + _wave(t, [(0.13, 0.07, p[2]), (0.9, 0.015, p[3])]))
        cy = h * (0.45 + _wave(t, [(0.5, 0.02, p[4]), (1.7, 0.008, p[5])]))
        r = 0.17 * w
        aa = cv2.LINE_AA
        cv2.ellipse(box, (int(cx * 0.6 + w * 0.2), int(h * 1.05)), (int(0.36 * w), int(0.3 * h)),
                    0, 0, 360, self.shirt, -1, aa)
        cv2.ellipse(box, (int(cx), int(cy - 0.12 * r)), (int(r * 0.95), int(r * 1.05)), 0, 180, 360, self.hair, -1, aa)
        cv2.ellipse(box, (int(cx), int(cy)), (int(r * 0.8), int(r)), 0, 0, 360, self.skin, -1, aa)
        shade = tuple(int(c * 0.75) for c in self.skin)  # side lit: shading follows the head turn
        turn = _wave(t, [(0.2, 0.3, p[6])])
        cv2.ellipse(box, (int(cx + r * (0.45 - turn * 0.2)), int(cy)), (int(r * 0.35), int(r * 0.9)),
                    0, 0, 360, shade, -1, aa)
        eye_open = (t * 0.31 + p[7]) % 1.0 > 0.05
        for side in (-1, 1):
            ex, ey = int(cx + side * r * 0.33), int(cy - r * 0.15)
            cv2.ellipse(box, (ex, ey), (max(1, int(r * 0.1)), max(1, int(r * (0.07 if eye_open else 0.01)))),
                        0, 0, 360, (30, 25, 25), -1, aa)
        talking = max(0.0, math.sin(TAU * 0.15 * t + p[0]))  # phrases and pauses
        mouth = talking * abs(_wave(t, [(3.1, 0.6, p[1]), (4.7, 0.4, p[2])]))
        cv2.ellipse(box, (int(cx), int(cy + r * 0.5)), (int(r * 0.28), max(1, int(r * 0.22 * mouth))),
                    0, 0, 360, (110, 40, 45), -1, aa)
        frame[self.y:self.y + h, self.x:self.x + w] = cv2.GaussianBlur(box, (0, 0), 1.0) if soft else box
        cv2.rectangle(frame, (self.x - 1, self.y - 1), (self.x + w, self.y + h), (235, 235, 235), 1)


CURSOR = np.array([(0, 0), (0, 17), (4, 13), (7, 20), (10, 19), (7, 12), (12, 12)], dtype=np.float32)


class Pointer:
    """A mouse arrow that wanders and pauses; every other 7 s a red laser dot instead."""

    def __init__(self, width: int, height: int, seed: int):
        rng = np.random.default_rng([seed, 41])
        self.w, self.h = width, height
        self.scale = height / 360
        self.fx = [(f, a, ph) for f, a, ph in zip((0.05, 0.13, 0.31), (0.28, 0.1, 0.03), rng.uniform(0, TAU, 3))]
        self.fy = [(f, a, ph) for f, a, ph in zip((0.07, 0.17, 0.37), (0.25, 0.08, 0.03), rng.uniform(0, TAU, 3))]

    def position(self, t: float) -> tuple[int, int]:
        s = t + 0.9 * math.sin(TAU * t / 5) * 5 / TAU  # speed varies: pauses, then quick moves
        return (int(self.w * (0.5 + _wave(s, self.fx))), int(self.h * (0.55 + _wave(s, self.fy))))

    def draw(self, frame: np.ndarray, t: float) -> None:
        x, y = self.position(t)
        if int(t // 7) % 2 == 0:
            pts = (CURSOR * self.scale + (x, y)).astype(np.int32)
            cv2.fillPoly(frame, [pts], (255, 255, 255), cv2.LINE_AA)
            cv2.polylines(frame, [pts], True, (0, 0, 0), max(1, int(self.scale)), cv2.LINE_AA)
        else:
            r = max(2, int(3 * self.scale))
            cv2.circle(frame, (x, y), r + 2, (255, 140, 140), -1, cv2.LINE_AA)
            cv2.circle(frame, (x, y), r, (250, 20, 20), -1, cv2.LINE_AA)
            cv2.circle(frame, (x, y), max(1, r // 2), (255, 220, 220), -1, cv2.LINE_AA)


class Camera:
    """The screen filmed by a camera: keystone warp, slow drift (<= 1.5 px), blur, vignette."""

    def __init__(self, width: int, height: int, seed: int):
        rng = np.random.default_rng([seed, 51])
        self.size = (width, height)
        src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        inset = rng.uniform(0.03, 0.06, 8) * np.float32([width, height] * 4)
        signs = np.float32([1, 1, -1, 1, -1, -1, 1, -1])
        dst = (src.reshape(-1) + inset * signs).reshape(4, 2).astype(np.float32)
        self.homography = cv2.getPerspectiveTransform(src, dst)
        self.phases = rng.uniform(0, TAU, 2)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        r2 = ((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2
        vignette = np.clip(1.0 - 0.18 * r2, 0, 1)
        self.vignette = np.repeat((vignette * 255).astype(np.uint8)[:, :, None], 3, axis=2)
        self.sigma = 0.9 * height / 360

    def soften(self, image: np.ndarray) -> np.ndarray:
        """The lens blur, applied once to each cached slide state before the per-frame warp."""
        return cv2.GaussianBlur(image, (0, 0), self.sigma)

    def apply(self, frame: np.ndarray, t: float) -> np.ndarray:
        """Warp (with drift), vignette and contrast loss of a filmed screen at time t."""
        dx = 1.2 * math.sin(TAU * t / 23 + self.phases[0])
        dy = 0.8 * math.sin(TAU * t / 31 + self.phases[1])
        matrix = np.float64([[1, 0, dx], [0, 1, dy], [0, 0, 1]]) @ self.homography
        out = cv2.warpPerspective(frame, matrix, self.size, flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(30, 28, 26))
        out = cv2.multiply(out, self.vignette, scale=1 / 255)
        return cv2.convertScaleAbs(out, alpha=0.88, beta=14)  # a filmed screen: no pure white/black


def flicker_gain(t: float, amplitude: float) -> float:
    """Global brightness factor in [1 - 2a, 1]: mains-like fast part plus a slow drift."""
    s = 0.7 * math.sin(TAU * 1.7 * t) + 0.3 * math.sin(TAU * 0.37 * t + 1.0)
    return 1.0 - amplitude + amplitude * s


class NoiseBank:
    """Gaussian sensor noise of a given sigma, cut per frame from a pre-drawn larger field."""

    PAD = 64

    def __init__(self, width: int, height: int, sigma: float, seed: int):
        rng = np.random.default_rng([seed, 61])
        field = rng.normal(0, sigma, (height + self.PAD, width + self.PAD, 3))
        field = np.clip(np.rint(field), -255, 255)
        # Split in two saturating uint8 parts: cv2.add/cv2.subtract are fast and clip for us.
        self.plus = np.clip(field, 0, 255).astype(np.uint8)
        self.minus = np.clip(-field, 0, 255).astype(np.uint8)
        self.shape = (height, width)
        self.seed = seed

    def apply(self, frame: np.ndarray, index: int) -> np.ndarray:
        dy, dx = np.random.default_rng([self.seed, index, 62]).integers(0, self.PAD, 2)
        h, w = self.shape
        out = cv2.add(frame, self.plus[dy:dy + h, dx:dx + w])
        return cv2.subtract(out, self.minus[dy:dy + h, dx:dx + w])
