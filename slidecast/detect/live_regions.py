"""Live regions: parts of the picture that keep moving while the slide stays the same.

A webcam picture-in-picture or a video playing inside a slide changes between almost every pair
of keyframes, also in pairs where the rest of the screen is still. Such cells are masked for all
slide decisions: each live blob widened to its bounding box, then by one cell all round. A slide
change moves many cells at once, so pairs with many changed cells are not counted: that keeps a
deck of rapidly changing slides from being masked as "live".
"""

from __future__ import annotations

import cv2
import numpy as np

from .cells import ChangeMeter

QUIET_PAIR = 0.15  # a pair with fewer changed cells than this fraction is "the slide stood still"
LIVE_FRACTION = 0.3  # a cell changed in at least this fraction of quiet pairs is live
MIN_QUIET_PAIRS = 3


class LiveRegionDetector:
    """Feed consecutive normalised keyframes with `add`; `mask()` is the boolean cell mask."""

    def __init__(self, meter: ChangeMeter):
        self.meter = meter
        self.previous: np.ndarray | None = None
        grid = meter.grid
        self.counts = np.zeros((grid[1], grid[0]), np.int32)
        self.quiet_pairs = 0

    def add(self, norm: np.ndarray) -> np.ndarray | None:
        """Add the next keyframe; return the changed-cell grid against the previous one."""
        previous, self.previous = self.previous, norm
        if previous is None:
            return None
        changed = self.meter.changed(previous, norm)
        if changed.mean() < QUIET_PAIR:
            self.quiet_pairs += 1
            self.counts += changed
        return changed

    def mask(self) -> np.ndarray:
        if self.quiet_pairs < MIN_QUIET_PAIRS:
            return np.zeros_like(self.counts, bool)
        live = (self.counts >= LIVE_FRACTION * self.quiet_pairs).astype(np.uint8)
        return cv2.dilate(_boxes(live), np.ones((3, 3), np.uint8)).astype(bool)


def _boxes(live: np.ndarray) -> np.ndarray:
    """Each live blob widened to its bounding box: a webcam picture or an embedded video is a
    rectangle, and its quieter corners (a still background behind the speaker) move too, now
    and then."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(live, connectivity=8)
    out = np.zeros_like(live)
    for x, y, w, h, _area in stats[1:]:
        out[y:y + h, x:x + w] = 1
    return out


def regions_mask(regions, grid: tuple[int, int]) -> np.ndarray:
    """Cell mask of user ignore regions (fractions of the content area), rounded outwards."""
    cols, rows = grid
    mask = np.zeros((rows, cols), bool)
    for r in regions:
        x0, x1 = int(np.floor(r.x * cols)), int(np.ceil((r.x + r.w) * cols))
        y0, y1 = int(np.floor(r.y * rows)), int(np.ceil((r.y + r.h) * rows))
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return mask
