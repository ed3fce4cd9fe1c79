"""Which earlier distinct slides a slide may show again: the return judge's shortlist.

ReturnJudge.mark judges each slide against every earlier distinct slide that the cell
pre-check lets through, and in an unfilmed video that judgement ends in the colour check (a
few ms a pair: two 480-px pictures unpacked, fitted to one exposure and compared). A template
deck's slides pass the grey cell pre-check against most earlier slides, so a talk of n
distinct slides paid about n^2/2 colour checks (issue #10: a 20-minute talk of 45 slides, 830
pairs, most of the engine's time after the decode; a 2-hour one would pay minutes).

The index keeps a few numbers per distinct slide instead, the mean colour of each CELL-px cell
of its 480-px picture (11 KB), and compares a new slide with all of them at once, as the colour
check would: one picture mapped to the other's exposure (a gain and offset per channel, fitted
on the cells neither picture clips; both ways, the closer counting). A slide with more than
SPREAD cells beyond FAR grey levels from an earlier one is taken for another slide and is not
judged against it. Measured on every pair of slides of the ten dev videos, the 20-minute talk
and the noise and fade seeds 1-20 and picture-in-picture seeds 1-9 (bench/real; filmed videos
left out): of the 65 pairs the judge found one slide (noise, exposure steps and a picture late
in a fade included) none had more than 4 cells beyond 16 levels (fade seed 7: 31 beyond 12, 834
beyond 8), so FAR keeps a margin of half again; of the 2578 pairs of different slides that the
grey pre-check let through, 86% have more than SPREAD cells beyond FAR.
"""

from __future__ import annotations

import cv2
import numpy as np

from .builds import CLIP_HIGH, CLIP_LOW, EXPOSURE_GAIN

CELL = 12  # px of the 480-px picture: about a line of small text
FAR = 24  # grey levels (0-255) of a cell's mean colour
SPREAD = 24  # cells: more than a pointer where it was and where it is, and a webcam's edge
FIT_CELLS = 20  # unclipped cells to fit an exposure on, at least; else every free cell


class ReturnIndex:
    """The cell colours of the distinct slides so far (see the module docstring)."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask  # the meter's cell mask: live regions, not the slide
        self.cells: list[np.ndarray | None] = []
        self._free: np.ndarray | None = None

    def add(self, rgb: np.ndarray | None) -> None:
        """Enter the next distinct slide (its 480-px picture, or None: always a candidate)."""
        self.cells.append(self._cells(rgb))

    def possible(self, rgb: np.ndarray | None) -> list[bool]:
        """For each slide entered, whether `rgb` may show it (False: surely another slide)."""
        mine = self._cells(rgb)
        possible = [True] * len(self.cells)
        if mine is None:
            return possible
        known = [k for k, cells in enumerate(self.cells) if cells is not None and cells.shape == mine.shape]
        if not known:
            return possible
        earlier = np.stack([self.cells[k] for k in known])
        far = np.minimum(_far_cells(earlier, mine[None], self._free), _far_cells(mine[None], earlier, self._free))
        for k, count in zip(known, far):
            possible[k] = bool(count <= SPREAD)
        return possible

    def _cells(self, rgb: np.ndarray | None) -> np.ndarray | None:
        if rgb is None:
            return None
        h, w = rgb.shape[:2]
        size = (max(1, w // CELL), max(1, h // CELL))
        if self._free is None or self._free.shape != size[::-1]:
            self._free = cv2.resize((~self.mask).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def _far_cells(x: np.ndarray, y: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Per pair of the stacks `x` and `y` (n, rows, columns, 3; either may be one picture), the
    free cells more than FAR from each other in some channel, `x` mapped to `y`'s exposure."""
    x, y = np.broadcast_arrays(x[:, free], y[:, free])  # (n, free cells, 3)
    unclipped = (x > CLIP_LOW) & (x < CLIP_HIGH) & (y > CLIP_LOW) & (y < CLIP_HIGH)
    gain, offset = _lines(x, y, unclipped)
    use_all = (unclipped.sum(axis=1) < FIT_CELLS) | (gain < EXPOSURE_GAIN[0]) | (gain > EXPOSURE_GAIN[1])
    if use_all.any():
        everywhere = _lines(x, y, None)
        gain, offset = np.where(use_all, everywhere[0], gain), np.where(use_all, everywhere[1], offset)
    mapped = np.clip(gain[:, None, :] * x + offset[:, None, :], 0.0, 255.0)
    return (np.abs(mapped - y).max(axis=2) > FAR).sum(axis=1)


def _lines(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares gain and offset per pair and channel taking `x` to `y` over the cells of
    `weight` (n, cells, 3; None: all); a gain of 1 where `x` is one flat colour there."""
    w = np.ones_like(x) if weight is None else weight.astype(np.float32)
    count = np.maximum(w.sum(axis=1), 1.0)
    wx = w * x
    mx, my = wx.sum(axis=1) / count, (w * y).sum(axis=1) / count
    spread = (wx * x).sum(axis=1) / count - mx * mx
    flat = spread < 1.0
    covariance = (wx * y).sum(axis=1) / count - mx * my
    gain = np.where(flat, 1.0, covariance / np.where(flat, 1.0, spread))
    return gain, my - gain * mx
