"""Small analysis frames: what every detector looks at instead of full-resolution video.

A decoded frame is shrunk once to a grey image about 320 px wide (`small_gray`); detectors then
work on a *normalised* copy (`normalise`): lightly blurred against sensor and compression noise,
and shifted/scaled to zero mean and unit contrast so that a global brightness flicker (gain or
offset) does not look like a change. Differences are measured per grid cell (`cell_diff`).
"""

from __future__ import annotations

import os
import tempfile
import threading
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

ANALYSIS_WIDTH = 320
# Grid of cells over the content area: a cell is about 10x10 analysis pixels.
GRID = (32, 18)
# Contrast floor (grey levels): a nearly blank frame must not have its noise blown up.
MIN_CONTRAST = 24.0
INK_QUANTILE = 0.995
# Before live regions are known a webcam's dark pixels would sway the 99.5th percentile.
ROBUST_QUANTILE = 0.98


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """(w, h) of the analysis frame for a video of width x height, keeping the aspect ratio."""
    w = min(ANALYSIS_WIDTH, width)
    h = max(2, int(round(height * w / width / 2)) * 2)
    return w, h


# 8-bit formats whose first plane is the luma (grey) picture.
_LUMA_FIRST = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21",
               "yuv411p", "yuv440p", "gray"}


def small_gray(frame, size: tuple[int, int], box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Shrink a decoded av.VideoFrame to a grey uint8 array of `size` (w, h), area-averaged;
    with `box` (x0, y0, x1, y1 in pixels of `size`), only that part of it.

    The luma plane is used as is where the format has one (no colour conversion: measured
    about 3x cheaper than frame.reformat, which builds a new scaler per frame).
    """
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, :plane.width]
    else:
        luma = frame.reformat(format="gray").to_ndarray()
    if box is None:
        return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    x0, y0, x1, y1 = box
    h, w = luma.shape
    fx, fy = w // size[0], h // size[1]
    if fx * size[0] == w and fy * size[1] == h:
        # A whole-number shrink averages each small pixel's own fx x fy block, so shrinking
        # the box's blocks alone gives the same pixels as shrinking all and cropping, for the
        # work of the box only (a 4:3 slide in a 16:9 frame: three quarters of it).
        return cv2.resize(luma[y0 * fy:y1 * fy, x0 * fx:x1 * fx], (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)[y0:y1, x0:x1]


def normalise(gray: np.ndarray, mask: np.ndarray | None = None, quantile: float = INK_QUANTILE) -> np.ndarray:
    """Blur lightly, subtract the background level, divide by the ink contrast (float32).

    Background level = median grey; ink contrast = the 99.5th percentile of the distance from it.
    Both scale with a global gain and shift with an offset, so flicker cancels out, and neither
    moves when a bullet is added to a slide (the per-frame standard deviation would: adding ink
    would then seem to change the old ink too). Both come from one 256-bin histogram: cheap.
    `mask` (uint8, nonzero = use) keeps live regions such as a webcam out of both statistics.
    """
    hist = cv2.calcHist([gray], [0], mask, [256], [0, 256]).ravel()
    cdf = np.cumsum(hist)
    median = int(np.searchsorted(cdf, cdf[-1] / 2.0))
    levels = np.arange(256)
    dist_hist = np.bincount(np.abs(levels - median), weights=hist, minlength=256)
    dist_cdf = np.cumsum(dist_hist)
    contrast = float(np.searchsorted(dist_cdf, quantile * dist_cdf[-1]))
    img = cv2.GaussianBlur(gray, (3, 3), 0).astype(np.float32)
    img -= median  # in place: the same float32 arithmetic as (img - median) * scale, no copies
    img *= 1.0 / max(contrast, MIN_CONTRAST)
    return img


def cell_means(img: np.ndarray, grid: tuple[int, int] = GRID) -> np.ndarray:
    """Mean of each grid cell, shape (rows, cols)."""
    return cv2.resize(img, grid, interpolation=cv2.INTER_AREA)


def cell_diff(a: np.ndarray, b: np.ndarray, grid: tuple[int, int] = GRID) -> np.ndarray:
    """Mean absolute difference per grid cell between two normalised frames."""
    return cell_means(cv2.absdiff(a, b), grid)


def cell_detail(img: np.ndarray, grid: tuple[int, int] = GRID) -> np.ndarray:
    """Standard deviation inside each cell: near 0 for background, high where there is ink."""
    mean = cell_means(img, grid)
    mean_sq = cell_means(img * img, grid)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian: higher is sharper (used to pick a slide's best frame)."""
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def encode_small(image: np.ndarray) -> bytes:
    """Compress a small frame (grey, or RGB) for cheap keeping (zlib level 1: a slide shrinks
    ~5x, and unpacking costs tens of microseconds)."""
    h, w = image.shape[:2]
    c = image.shape[2] if image.ndim == 3 else 1
    head = h.to_bytes(4, "little") + w.to_bytes(4, "little") + c.to_bytes(4, "little")
    return head + zlib.compress(np.ascontiguousarray(image).tobytes(), 1)


def decode_small(data: bytes) -> np.ndarray:
    h, w, c = (int.from_bytes(data[k:k + 4], "little") for k in (0, 4, 8))
    pixels = np.frombuffer(zlib.decompress(data[12:]), np.uint8)
    return pixels.reshape(h, w) if c == 1 else pixels.reshape(h, w, c)


class Spill:
    """Packed small pictures (encode_small) kept in an unnamed temporary file, not in memory.

    A run keeps a few per keyframe and per screen state until the timeline is built: ~45 KB a
    state (its grey frame and the build test's 480-px colour picture), ~90 MB for a 2-hour talk
    with 1,000 states, which made the peak memory grow with the video's length. On disk they
    cost a read (from the page cache) when they are needed. The file is gone once the Spill
    and every Packed that refers to it are (or the process ends).
    """

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="slidecast-spill-")
        self._end = 0
        self._lock = threading.Lock()  # states are packed on the picture thread

    def put(self, image: np.ndarray) -> "Packed":
        data = encode_small(image)
        with self._lock:
            offset, self._end = self._end, self._end + len(data)
            os.pwrite(self._file.fileno(), data, offset)
        return Packed(self, offset, len(data))

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._file.fileno(), length, offset)


@dataclass(frozen=True)
class Packed:
    """Where one packed picture lies in a Spill."""

    spill: Spill
    offset: int
    length: int

    def image(self) -> np.ndarray:
        return decode_small(self.spill.read(self.offset, self.length))
