"""Live regions: parts of the picture that keep moving while the slide stays the same.

A webcam picture-in-picture, the camera tile of a speaker view or a video playing inside a
slide keeps changing; a slide changes a few times a minute, and in one step (a cut) or one
fade. Two views of the video must agree before a cell is called live:

- *short runs*: about a second of frames decoded after keyframes spread over the whole video
  (a face that moves to another corner midway is live in both places). A cell that changed in
  the run and wandered (MONOTONE: not a cut or a fade caught in the act, which go one way) in at
  least LIVE_FRACTION of the runs moves by itself.
- *keyframe pairs*: the cell changed in at least LIVE_FRACTION of the pairs of neighbouring
  keyframes in which most of the picture stood still.

Either view alone is fooled: keyframe pairs seconds apart take the body of a deck that builds
line by line for a live region, and a short run can catch a slow fade or a push transition (the
whole slide sliding sideways: every cell it crosses wanders, and is not monotone). A run with a
step that moves the whole picture (PUSH_PIXELS or more, and the move explains the step) caught a
push and does not vote. A run whose middle frames are each a mix of its first and last (BLEND)
caught a crossfade and votes no cell. Each live blob is widened
to its bounding box, then by one cell all round, and masked for all slide decisions.

Liveness is always judged at the default sensitivity: a more sensitive run must not mask more
of the slide (that would find fewer changes, not more).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from .cells import ChangeMeter

BUSY = 0.5  # a pair with at least this fraction of cells changed shows a slide change
# A cut or a fade takes each pixel once from the old value to the new: the run's total change
# (first frame to last) is about the sum of its steps. Moving things wander: the sum of the
# steps is much larger. A moved cell is live only if its total is under this share of its steps.
MONOTONE = 0.7
LIVE_FRACTION = 0.2  # a cell changed in at least this fraction of counted runs/pairs is live
MIN_COUNTED = 3
# A picture-in-picture moved to another corner is seen there in fewer runs, and by fewer
# keyframe pairs still (a 40-s clip has 3 or 4): a blob of cells changed in at least
# MOVED_FRACTION of the runs (the short-run view alone) is the same tile in its other place
# when its box is at least half the size of a live box in both directions.
MOVED_FRACTION = 0.1
# A push transition caught in a run: a step whose picture, moved back by the shift phase
# correlation measures (at least PUSH_PIXELS analysis pixels), matches the one before up to
# PUSH_EXPLAINED of the step's difference where the two overlap. A webcam tile that glides to
# another corner does not: the still slide around it does not move with it. (Issue #10,
# wipe-push seed 2: two pushes caught in runs masked half the slide, 351 cells, and a slide's
# small change inside it went unseen.)
PUSH_PIXELS = 4
PUSH_EXPLAINED = 0.3
# A crossfade caught in a run (_blended): its middle frames are mixes of its first and last up
# to this share of their difference (0.05-0.09 for projector seed 27's fades; a speaker tile's
# runs 0.12-0.76, speaker seed 5).
BLEND = 0.1
MARGIN = 2  # cells masked around a live box: the tile's quiet border (a flat backdrop) and shadow
# A tile caught leaving or arriving by a keyframe pair changes its whole rectangle, also the side
# that never moves (a plain sky behind the speaker), which the votes leave out of its live box:
# a blob of changed cells that fills at least SOLID of its bounding box, covers a whole live box
# and is at most twice its size (+ MARGIN) each way is the tile seen whole (realism pip seed 16:
# a tile 10 cells wide, live in 5; its still edge outside the mask split a return).
SOLID = 0.75


class _Votes:
    def __init__(self, shape):
        self.counts, self.total = np.zeros(shape, np.int32), 0

    def add(self, changed: np.ndarray) -> None:
        self.total += 1
        self.counts += changed

    def live(self, fraction: float = LIVE_FRACTION, least: int = 2) -> np.ndarray | None:
        """Cells changed often enough (in `fraction` of the votes, `least` of them at least), or
        None when there were too few votes to tell."""
        if self.total < MIN_COUNTED:
            return None
        return self.counts >= max(least, fraction * self.total)


class LiveRegionDetector:
    """Feed runs of normalised frames (`add_run`) and consecutive normalised keyframes
    (`add_key`); `mask()` is the boolean cell mask."""

    def __init__(self, grid: tuple[int, int]):
        self.meter = ChangeMeter(0.5, grid=grid)
        shape = (grid[1], grid[0])
        self.runs, self.keys = _Votes(shape), _Votes(shape)
        self._previous_key: np.ndarray | None = None
        self.solid_blobs: set[tuple[int, int, int, int]] = set()  # (x, y, w, h) in counted keyframe pairs
        self.still_floors: list[float] = []  # noise floors of neighbouring frames in runs
        self.still_steps: list[np.ndarray] = []  # their per-cell differences (a few KB each)

    def add_run(self, norms: list[np.ndarray]) -> None:
        if len(norms) < 3:
            return
        steps = [self.meter.diff(a, b) for a, b in zip(norms, norms[1:])]
        self.still_floors += [self.meter.noise_floor(d) for d in steps]
        self.still_steps += steps
        moved = np.logical_or.reduce([self.meter.changed(norms[0], n) for n in norms[1:]])
        if not moved.any() or moved.mean() >= BUSY:
            return
        if any(_pushed(a, b) for a, b, d in zip(norms, norms[1:], steps) if self.meter.changed_cells(d).any()):
            return  # a push transition, not something moving by itself
        path = sum(np.maximum(d - self.meter.noise_floor(d), 0.0) for d in steps)
        direct = self._beyond_noise(norms[0], norms[-1])
        wandering = moved & (direct < MONOTONE * path)
        if wandering.any() and _blended(norms, moved):
            wandering[:] = False  # a crossfade caught in the act: the run counts, its cells do not
        self.runs.add(wandering)

    def _beyond_noise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = self.meter.diff(a, b)
        return np.maximum(d - self.meter.noise_floor(d), 0.0)

    def add_key(self, norm: np.ndarray) -> None:
        previous, self._previous_key = self._previous_key, norm
        if previous is None:
            return
        changed = self.meter.changed(previous, norm)
        if changed.mean() < BUSY:
            self.keys.add(changed)
            self.solid_blobs.update(_solid_blobs(changed))

    def mask(self) -> np.ndarray:
        # The keyframe view only confirms what the runs saw wander: one pair is enough (from 6
        # pairs on, LIVE_FRACTION of them asks for 2 anyway). A short
        # clip with a keyframe every 10 s has 3 or 4 pairs with most of the picture still, and a
        # swaying tile changed only some cells in 2 of them: a speaker tile masked in a few
        # cells, its edge taken for builds (realism speaker seed 5: a return not linked).
        runs, keys = self.runs.live(), self.keys.live(least=1)
        if runs is None:
            return np.zeros_like(self.runs.counts, bool)
        live = runs if keys is None else runs & keys
        boxes = _boxes(live.astype(np.uint8))
        if not boxes.any():
            return boxes.astype(bool)
        boxes = _aligned(boxes | _moved_tiles(self.runs.live(MOVED_FRACTION) & ~boxes.astype(bool), boxes))
        size = 2 * MARGIN + 1
        mask = cv2.dilate(boxes, np.ones((size, size), np.uint8))
        tiles = _whole_tiles(self.solid_blobs, boxes)
        if tiles.any():
            # One cell round the tile seen whole, not MARGIN: its edge is known, and the slide's
            # content right beside it must stay in view (dev metropolis-pip's overlay step at
            # 134.8 beside a tile live almost to its edge). Its other place gets its columns (or rows).
            mask |= cv2.dilate(_aligned(boxes | tiles), np.ones((3, 3), np.uint8))
        return mask.astype(bool)


def _blended(norms: list[np.ndarray], moved: np.ndarray) -> bool:
    """True if every frame of the run is, in the moved cells, a blend of its first and last
    frames (an affine mix of the two, up to BLEND of their difference): a crossfade. Frames are
    normalised on their own contrast, which dips halfway through a fade, so a fade's cells do
    not go one way from old to new and looked wandering (projector seed 27: two runs that caught
    fades voted 205 and 171 cells, and the whole slide was masked live). A moving tile's middle
    frames show it where neither end does."""
    h, w = norms[0].shape
    area = cv2.resize(moved.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    first, last = norms[0][area].astype(np.float64), norms[-1][area].astype(np.float64)
    ends = np.stack([first, last, np.ones_like(first)], axis=1)
    span = float(np.linalg.norm(last - first))
    for frame in norms[1:-1]:
        y = frame[area].astype(np.float64)
        mix, *_ = np.linalg.lstsq(ends, y, rcond=None)
        if not float(np.linalg.norm(ends @ mix - y)) <= BLEND * span:
            return False
    return True


def _pushed(a: np.ndarray, b: np.ndarray) -> bool:
    """True if normalised frame `b` is `a` moved as a whole by PUSH_PIXELS or more (see
    PUSH_EXPLAINED). A Hann window keeps the picture's borders, which a push does not move
    alike (the strip it uncovers), from pulling phase correlation's peak to no shift. Applied
    here, not passed to phaseCorrelate: OpenCV 5.0 then windows the frames in place, and the
    run's frames (the next run's first one too) were changed for every later test."""
    h, w = a.shape
    window = _hann(w, h)
    (dx, dy), _ = cv2.phaseCorrelate(a * window, b * window)
    x, y = int(round(dx)), int(round(dy))
    if max(abs(x), abs(y)) < PUSH_PIXELS or 2 * abs(x) >= w or 2 * abs(y) >= h:
        return False
    # b[r, c] = a[r - y, c - x] where both are in the picture; compared with `a` in place there.
    moved = b[max(0, y):h + min(0, y), max(0, x):w + min(0, x)]
    source = a[max(0, -y):h - max(0, y), max(0, -x):w - max(0, x)]
    in_place = a[max(0, y):h + min(0, y), max(0, x):w + min(0, x)]
    return float(np.abs(moved - source).mean()) <= PUSH_EXPLAINED * float(np.abs(moved - in_place).mean())


@functools.lru_cache(maxsize=4)
def _hann(width: int, height: int) -> np.ndarray:
    """A Hann window of the analysis size (one per video: made once, not on every run's step)."""
    window = cv2.createHanningWindow((width, height), cv2.CV_32F)
    window.flags.writeable = False
    return window


def _boxes(live: np.ndarray) -> np.ndarray:
    """Each live blob widened to its bounding box: a webcam picture or an embedded video is a
    rectangle, and its quieter corners (a still background behind the speaker) move too, now
    and then. A picture-in-picture keeps its size when the speaker moves it to another corner,
    but it was seen less often in the place it held for a shorter time: a box at least a third
    of the largest one's size is grown about its centre to the largest one's size."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(live, connectivity=8)
    out = np.zeros_like(live)
    if count < 2:
        return out
    big_w, big_h = int(stats[1:, 2].max()), int(stats[1:, 3].max())
    for x, y, w, h, _area in stats[1:]:
        if 3 * w >= big_w and 3 * h >= big_h:
            x, w = _grow(x, w, big_w, live.shape[1])
            y, h = _grow(y, h, big_h, live.shape[0])
        out[y:y + h, x:x + w] = 1
    return out


def _solid_blobs(changed: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x, y, w, h) of the blobs of changed cells that fill at least SOLID of them."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h, area in stats[1:] if area >= SOLID * w * h]


def _whole_tiles(blobs: set[tuple[int, int, int, int]], boxes: np.ndarray) -> np.ndarray:
    """The solid blobs that cover a whole live box and are at most twice its size (+ MARGIN)
    each way, as a cell mask: a tile seen leaving or arriving (a sway or a lean changes only
    part of its box). A tile keeps its size when it moves: a blob more than a cell larger than
    the smallest one kept, either way, caught the tile on its way, its path with it (realism
    pip seed 2: 11 rows for a tile of 6, three columns of the slide beside the path masked)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(boxes, connectivity=8)
    tiles = [(x, y, w, h) for x, y, w, h in blobs for bx, by, bw, bh, _area in stats[1:]
             if x <= bx and y <= by and bx + bw <= x + w and by + bh <= y + h
             and w <= 2 * bw + MARGIN and h <= 2 * bh + MARGIN]
    out = np.zeros_like(boxes)
    if not tiles:
        return out
    _, _, least_w, least_h = min(tiles, key=lambda t: t[2] * t[3])
    for x, y, w, h in tiles:
        if w <= least_w + 1 and h <= least_h + 1:
            out[y:y + h, x:x + w] = 1
    return out


def _moved_tiles(weak: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Boxes of the blobs of `weak` cells that are the size of the largest live box (at least
    half of it each way), grown to it: the tile in the place it held for a shorter time. A tile
    moved along a side keeps the columns (or rows) of the largest box where they overlap: a
    moved corner's few votes put its box a cell off, and its edge then split a return."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(boxes, connectivity=8)
    big_x, big_y, big_w, big_h = (int(v) for v in stats[1 + int(np.argmax(stats[1:, 4])), :4])
    count, _, stats, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    out = np.zeros_like(boxes)
    for x, y, w, h, _area in stats[1:]:
        if 2 * w >= big_w and 2 * h >= big_h:
            x, w = (big_x, big_w) if x < big_x + big_w and big_x < x + w else _grow(x, w, big_w, out.shape[1])
            y, h = (big_y, big_h) if y < big_y + big_h and big_y < y + h else _grow(y, h, big_h, out.shape[0])
            out[y:y + h, x:x + w] = 1
    return out


def _aligned(boxes: np.ndarray) -> np.ndarray:
    """Boxes that share columns (a tile moved up or down) all get the columns of both, and
    boxes that share rows the rows of both: the tile is one size and was seen a cell narrower
    in one place (its edge there then split a return, realism pip seed 18)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(boxes, connectivity=8)
    spans = [[int(x), int(x + w), int(y), int(y + h)] for x, y, w, h, _area in stats[1:]]
    for a in spans:
        for b in spans:
            if a is not b and a[0] < b[1] and b[0] < a[1]:
                a[0], a[1] = min(a[0], b[0]), max(a[1], b[1])
            if a is not b and a[2] < b[3] and b[2] < a[3]:
                a[2], a[3] = min(a[2], b[2]), max(a[3], b[3])
    out = np.zeros_like(boxes)
    for x0, x1, y0, y1 in spans:
        out[y0:y1, x0:x1] = 1
    return out


def _grow(start: int, size: int, wanted: int, limit: int) -> tuple[int, int]:
    if size >= wanted:
        return start, size
    start = int(np.clip(start - (wanted - size) // 2, 0, max(0, limit - wanted)))
    return start, wanted


def regions_mask(regions, grid: tuple[int, int]) -> np.ndarray:
    """Cell mask of user ignore regions (fractions of the content area), rounded outwards."""
    cols, rows = grid
    mask = np.zeros((rows, cols), bool)
    for r in regions:
        x0, x1 = int(np.floor(r.x * cols)), int(np.ceil((r.x + r.w) * cols))
        y0, y1 = int(np.floor(r.y * rows)), int(np.ceil((r.y + r.h) * rows))
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return mask
