"""Black bars (letterbox / pillarbox) around the content, found once per video.

A row or column belongs to a bar if it stays dark in every keyframe; the content area is the
box inside the bars. Analysing only the content area keeps bars out of the normalisation and
out of the cell grid.
"""

from __future__ import annotations

import numpy as np

DARK = 24  # grey level (0..255) below which a bar pixel counts as black
MIN_CONTENT = 0.3  # never crop to less than this fraction of a side


class LetterboxDetector:
    """Feed small grey keyframes with `add`; `crop()` gives (x0, y0, x1, y1) of the content."""

    def __init__(self):
        self.brightest: np.ndarray | None = None
        self._sum = self._squares = None
        self._count = 0

    def add(self, gray: np.ndarray) -> None:
        self.brightest = gray.copy() if self.brightest is None else np.maximum(self.brightest, gray)
        value = gray.astype(np.float64)
        self._sum = value if self._sum is None else self._sum + value
        self._squares = value * value if self._squares is None else self._squares + value * value
        self._count += 1

    def mean_and_spread(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel over the keyframes: the mean grey level and its standard deviation."""
        mean = self._sum / self._count
        return mean, np.sqrt(np.maximum(self._squares / self._count - mean * mean, 0.0))

    def crop(self) -> tuple[int, int, int, int]:
        img = self.brightest
        h, w = img.shape
        y0, y1 = _span(img.max(axis=1) > DARK, h)
        x0, x1 = _span(img.max(axis=0) > DARK, w)
        return x0, y0, x1, y1


def _span(lit: np.ndarray, n: int) -> tuple[int, int]:
    idx = np.flatnonzero(lit)
    if not idx.size or idx[-1] + 1 - idx[0] < MIN_CONTENT * n:
        return 0, n
    # Keep a margin of one pixel inside: the bar edge is blurred by scaling and compression.
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    if lo > 0:
        lo += 1
    if hi < n:
        hi -= 1
    return lo, hi


# Speaker view: the slide on one side, the camera tile (a live region) on the other, on a
# backdrop. Above and below the tile its columns show the backdrop: pixels that never change
# (spread over the keyframes under STEADY grey levels, BACKDROP_SHARE of them) and all alike
# (FLAT: 5th to 95th percentile). A picture-in-picture lies on the slide instead. The slide
# side must keep SLIDE_WIDTH of the width.
STEADY = 6.0
FLAT = 10.0
BACKDROP_SHARE = 0.95
SLIDE_WIDTH = 0.4


def beside_tile(mean: np.ndarray, spread: np.ndarray, live: np.ndarray) -> tuple[int, int, int, int] | None:
    """In a speaker view, the slide's box (x0, y0, x1, y1) in the content area, from the mean
    and spread of each pixel over the keyframes (LetterboxDetector.mean_and_spread, content
    area only) and the live cell mask `live` (rows x cols, widened by a cell:
    detect/live_regions.py); None when no camera tile stands beside the slide on a backdrop.
    The slide side ends at the backdrop between slide and tile (else where the tile's box, in
    whole cells, begins); its rows and columns that show only the backdrop are cut off like
    letterbox bars (a dark theme's margin as dark as the backdrop goes with them)."""
    h, w = mean.shape
    rows, cols = live.shape
    tile_cols = np.flatnonzero(live.any(axis=0))
    if not tile_cols.size:
        return None
    c0, c1 = int(tile_cols[0]), int(tile_cols[-1])
    left, right = c0, cols - 1 - c1
    if max(left, right) < SLIDE_WIDTH * cols:
        return None
    cell_w, cell_h = w / cols, h / rows
    x0, x1 = round((c0 + 1) * cell_w), round(c1 * cell_w)
    # The rows beside the tile's columns that hold no live cell: above and below a speaker's
    # tile, or between two places of a picture-in-picture that moved (over the slide).
    free_rows = ~live[:, c0:c1 + 1].any(axis=1)
    outside = np.flatnonzero(free_rows[np.minimum((np.arange(h) / cell_h).astype(int), rows - 1)])
    level = _backdrop(mean[outside, x0:x1], spread[outside, x0:x1])
    if level is None and outside.size:
        return None  # the tile lies on the slide: a picture-in-picture
    on_left = left >= right
    lo, hi = (0, min(w, round((left + 1) * cell_w))) if on_left else (max(0, round(c1 * cell_w)), w)
    if level is None:
        return lo, 0, hi, h
    backdrop = (np.abs(mean - level) <= FLAT) & (spread <= STEADY)
    lo, hi = _to_gutter(backdrop.all(axis=0), lo, hi, on_left, round(2 * cell_w))
    slide = ~backdrop[:, lo:hi]
    y0, y1 = _span(slide.any(axis=1), h)
    x0, x1 = _span(slide.any(axis=0), hi - lo)
    return lo + x0, y0, lo + x1, y1


def _to_gutter(gutter: np.ndarray, lo: int, hi: int, on_left: bool, reach: int) -> tuple[int, int]:
    """Move the slide side's inner edge (hi on the left, lo on the right) to the tile's own edge:
    the backdrop column nearest the tile within `reach` of the cell-rounded edge (the live
    box, in whole cells, may begin a cell before the tile or after the slide's end)."""
    if on_left:
        found = np.flatnonzero(gutter[max(0, hi - reach):hi + reach]) + max(0, hi - reach)
        return lo, int(found[-1]) + 1 if found.size else hi
    found = np.flatnonzero(gutter[max(0, lo - reach):lo + reach]) + max(0, lo - reach)
    return int(found[0]) if found.size else lo, hi


def _backdrop(mean: np.ndarray, spread: np.ndarray) -> float | None:
    """The backdrop's grey level if these pixels show one (steady and alike), else None."""
    if not mean.size or (spread < STEADY).mean() < BACKDROP_SHARE:
        return None
    low, high = np.percentile(mean, [5, 95])
    return float(np.median(mean)) if high - low < FLAT else None
