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

    def add(self, gray: np.ndarray) -> None:
        self.brightest = gray.copy() if self.brightest is None else np.maximum(self.brightest, gray)

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
