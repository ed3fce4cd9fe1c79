"""Incremental builds: a new screen state that only adds content to the old one.

The cells that changed must have been background (no ink) in the old state, or kept their old
ink pixels (new ink beside old in one cell), and hold ink in the new one. A pointer's worth of
changed cells on old content is tolerated (10% for big builds): a new line drawn just below an
old one can share a cell with it, and the edge of a webcam picture beside it moves now and then
(seen on the 2-hour bench video). Two changes are never a build, whatever their size beside the
added content: content taken away (a cell that held ink holds none: going back to an earlier
overlay step) and a changed title (old ink touched in the top TITLE_ROWS of the grid).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from ..frames import cell_detail, cell_means
from .cells import DRIFT_PIXELS, ChangeMeter, moved_back, percentile

BACKGROUND = 0.05  # cell detail (std, in units of ink contrast) below which a cell holds no ink
TOUCHED_TOLERANCE = 0.1  # fraction of changed cells that may have held old ink
TITLE_ROWS = 0.2  # the top fifth of the grid holds the title of most slide templates
REMOVED_TOLERANCE = 1  # cells that lost their ink (one: a stroke at a cell's edge)
# A pixel is ink when INK_LEVEL or more (ink contrast units) from the background; it changed
# when it moved by more than PIXEL_CHANGE; a cell lost its ink when more than LOST_SHARE of its
# ink pixels changed.
INK_LEVEL = 0.25
PIXEL_CHANGE = 0.25
LOST_SHARE = 0.3
# The colour check on the states' pictures (adds_only): a channel moving by FINE_INK (0-255)
# is a change, and ink.
FINE_INK = 40
# ... on a filmed screen, per pixel, FINE_SHARE of the old ink's own distance from its
# background, at least FINE_FLOOR: text through a soft lens at grey 120-170 on a 188 slide
# changes by 20-35 when recoloured or taken away, under 40 (issue #10, projector seeds 23, 35,
# 37: overlay steps taken for builds). Not one step for the whole picture: a red sidebar's
# edges or a screen's dark surround set the picture's contrast, not the faint text.
FINE_SHARE = 0.5
FINE_FLOOR = 25
FINE_TOLERANCE = 0.005
FINE_SLACK = 8
POINTER_SPOT = 24  # px at FINE_REFERENCE width: a pointer, a laser dot, a webcam edge, blurred
FINE_REFERENCE = 480
SPOTS = 3  # compact spots forgiven: the pointer where it was and where it is, a webcam's edge
# ... in a video that shows no pointer (ChangeMeter.shows_pointer) only the webcam's edge: a
# circle around a symbol taken away leaves two pointer-sized arcs (issue #10, b2t at 324 s).
SPOTS_NO_POINTER = 1
# Re-levelling a filmed state onto the one before (aligned): fitted on the LEVEL_QUANTILE of
# pixels that fit best (a build adds ink to a minority), kept if the gain is an exposure's.
LEVEL_QUANTILE = 75
LEVEL_GAIN = (0.5, 2.0)


def is_build(old: np.ndarray, new: np.ndarray, meter: ChangeMeter,
             fine: tuple[np.ndarray, np.ndarray] | Callable[[], tuple | None] | None = None,
             new_aligned: np.ndarray | None = None) -> bool:
    """True if normalised frame `new` is `old` with content added and nothing removed; with
    `fine` (the two states' RGB pictures, see ScreenState.keep_fine, or a function that
    unpacks them or returns None) that must hold in colour, pixel by pixel, too (`adds_only`).
    Each test passes with the pictures as they are or with a filmed screen's drift and grey
    levels undone (`aligned`, `_fine_aligned`): undoing a shift that phase correlation read
    into a clean picture's added ink, or refitting the grey levels of a picture that only
    changed faintly, can move what did not change (dev talk-cuts at 191.4 s, fade seed 12 at
    1.9 s). `new_aligned`: `aligned(old, new, meter)` if the caller has it already."""
    if not _adds_cells(old, new, meter):
        moved = aligned(old, new, meter) if new_aligned is None else new_aligned
        if not _adds_cells(old, moved, meter):
            return False
    # The colour check last: both must hold, and its 31-px median blur costs more than all the
    # cell tests, which turn down most pairs (a new slide) on their own.
    if callable(fine):
        fine = fine()  # unpacked only for a pair that passed the cell tests
    if fine is None:
        return True
    spots = SPOTS if meter.pointer_seen else SPOTS_NO_POINTER
    step = filmed_step(fine[0]) if meter.filmed else FINE_INK
    return bool(adds_only(*fine, meter.mask, spots, step)
                or adds_only(*_fine_aligned(fine, new.shape[1]), meter.mask, spots, step))


def filmed_step(image: np.ndarray) -> np.ndarray:
    """Per pixel of a filmed RGB picture, the colour step that counts as a change (FINE_SHARE)."""
    return np.clip(FINE_SHARE * _ink_distance(image), FINE_FLOOR, FINE_INK)


def _adds_cells(old: np.ndarray, new: np.ndarray, meter: ChangeMeter) -> bool:
    """The cell tests of is_build: something changed, nothing taken away, the title kept."""
    changed = meter.content(meter.diff(old, new))
    if not changed.any():
        return False
    old_detail, new_detail = cell_detail(old, meter.grid), cell_detail(new, meter.grid)
    floor = BACKGROUND + 2.0 * percentile(old_detail.ravel(), 20)
    had_ink, has_ink = old_detail > floor, new_detail > floor
    touched = changed & had_ink & (_ink_lost(old, new, meter.grid) > LOST_SHARE)
    if (changed & had_ink & ~has_ink).sum() > REMOVED_TOLERANCE:
        return False
    if touched[:max(1, int(round(TITLE_ROWS * touched.shape[0])))].any():
        return False
    allowed = max(meter.pointer_cells, int(TOUCHED_TOLERANCE * changed.sum()))
    return bool(touched.sum() <= allowed and (changed & has_ink).sum() >= 0.5 * changed.sum())


def aligned(old: np.ndarray, new: np.ndarray, meter: ChangeMeter) -> np.ndarray:
    """Normalised frame `new` brought back to `old`'s position and grey levels where a filmed
    screen moved them between the two states: a build step leaves most of the picture as it
    was, so what moved all of it is the camera, not the slide (issue #10, dev focus-projector:
    three build steps kept as slides).
    - Drift: the one shift phase correlation measures (at most DRIFT_PIXELS, as same_but_shifted)
      is undone; a slide's edges moved a fraction of a pixel otherwise count as old ink
      changed all along the slide. Whatever its peak response: the ink a build adds lowers it
      (0.73 for a subtitle added on a noisy filmed screen), and undoing a shift this small
      cannot make content taken away look added.
    - Levels: `normalise` takes each frame's median grey as its background, and in a filmed
      frame whose dark surround is about as large as the light slide, a dark block added moves
      the median from one to the other (every cell moved by 0.3-0.6). `new` is re-levelled by
      the gain and offset that map it onto `old` over the pixels that moved least (the added
      ink is the minority), when that gain is a plausible exposure (LEVEL_GAIN)."""
    new = _undrifted(old, new, DRIFT_PIXELS)
    keep = meter.free_pixels(new.shape)
    x, y = new[keep].astype(np.float64), old[keep].astype(np.float64)
    use = np.ones(x.size, bool)
    for _ in range(3):
        fit = gain_offset(x[use], y[use])
        if fit is None:
            return new  # a blank picture: no grey levels to fit
        gain, offset = fit
        residual = np.abs(gain * x + offset - y)
        use = residual <= percentile(residual, LEVEL_QUANTILE)
    if LEVEL_GAIN[0] <= gain <= LEVEL_GAIN[1]:
        new = (gain * new + offset).astype(np.float32)
    return new


# Grey levels a camera clips (paper pushed past white, shadows crushed): left out of the fit
# of an exposure step (returns._exposure, return_index).
CLIP_LOW, CLIP_HIGH = 5, 250
EXPOSURE_GAIN = (0.5, 2.0)  # a camera's exposure steps by less (the realism bench: 0.8-1.15)


def gain_offset(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """Least-squares gain and offset taking x to y; None if x is (nearly) one value."""
    if x.size < 2:
        return None
    mx, my = float(x.mean()), float(y.mean())
    spread = float(((x - mx) ** 2).mean())
    if not spread >= 1e-6:  # also NaN
        return None
    gain = float(((x - mx) * (y - my)).mean()) / spread
    return gain, my - gain * mx


def _fine_aligned(fine: tuple[np.ndarray, np.ndarray], analysis_width: int) -> tuple[np.ndarray, np.ndarray]:
    """The two RGB pictures with the later one's drift undone (see `aligned`), measured on the
    pictures themselves: the analysis frame's blur and size put a 0.8-px drift at 0.2 px
    (focus-projector at 11.2 s)."""
    old, new = fine
    if old.shape != new.shape:
        return fine
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in fine]
    return old, _undrifted(*grey, DRIFT_PIXELS * new.shape[1] / analysis_width, moved=new)


def _undrifted(old: np.ndarray, new: np.ndarray, limit: float, moved: np.ndarray | None = None) -> np.ndarray:
    """`moved` (default `new`) shifted back by the drift phase correlation measures from `old`
    to `new`, if that drift is at most `limit` pixels and undoing it brings `new` closer to
    `old`; else `moved` unchanged. In a picture that did not move, phase correlation still
    reads a fraction of a pixel into the change itself, and shifting by it moves every edge:
    speaker seed 18 (a clean video) had a 6-cell change, a line recoloured and one added, taken
    for a build once 0.2 px "undone" made 33 cells change, most of them ink edges."""
    moved = new if moved is None else moved
    (dx, dy), _ = cv2.phaseCorrelate(old, new)
    if not 0 < max(abs(dx), abs(dy)) <= limit:
        return moved
    if _mismatch(old, moved_back(new, (dx, dy))) >= _mismatch(old, new):
        return moved  # the shift explains nothing: the camera did not move
    return moved_back(moved, (dx, dy))


def _mismatch(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two grey pictures."""
    return float(cv2.absdiff(a, b).mean())


def _ink_lost(old: np.ndarray, new: np.ndarray, grid) -> np.ndarray:
    """Per cell, the share of the old picture's ink pixels that changed. A cell that held ink
    and changed may just have received new ink beside the old (a new line right under the last
    one shares cells with it, and more so at a high sensitivity); the old ink is then intact."""
    ink = (np.abs(old) > INK_LEVEL).astype(np.float32)
    lost = ink * (np.abs(new - old) > PIXEL_CHANGE)
    return cell_means(lost, grid) / np.maximum(cell_means(ink, grid), 1e-6)


def adds_only(old: np.ndarray, new: np.ndarray, mask: np.ndarray, spots_forgiven: int = SPOTS,
              step: float | np.ndarray = FINE_INK) -> bool:
    """True if RGB picture `new` differs from `old` only where `old` showed background: no
    stroke recoloured or taken away. Outside the masked cells (live regions). Tolerated on old
    ink: up to `spots_forgiven` compact spots (the pointer where it was and where it is) and a few pixels
    (FINE_TOLERANCE of the changed ones, FINE_SLACK at least: ringing beside new strokes).
    A channel moving by more than `step` (0-255; or per pixel, see filmed_step) is a change,
    and ink."""
    if old.shape != new.shape:
        return False
    # One cell more than the live mask: the quieter edge of a webcam tile moves now and then.
    live = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    free = cv2.resize(1 - live, old.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
    changed = _moved(old, new, step) & free
    # Old ink counts as taken away only if its neighbourhood changed too (the pictures lightly
    # blurred): the encoder draws a slide sharper frame by frame after a wipe or a push, which
    # moves scattered edge pixels of old ink by just over FINE_INK (wipe-push seeds 8 and 15:
    # 48-73 such pixels, none once blurred, and a build step became a slide). Not the blurred
    # pictures alone: new ink drawn beside old would then blur onto it.
    smooth = _moved(*(cv2.GaussianBlur(p, (3, 3), 0) for p in (old, new)), step)
    removed = (changed & smooth & (_ink_distance(old) > step)).astype(np.uint8)
    # A stroke taken away or recoloured is a line of pixels; a pixel with at most one such
    # neighbour is a noisy video's grain on an ink edge (issue #10's noise seeds: 30-50 such
    # pixels on a build step, most of them alone or in pairs).
    neighbours = cv2.filter2D(removed, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    removed = removed & (neighbours >= 3).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(removed, np.ones((3, 3), np.uint8)))
    spot = POINTER_SPOT * old.shape[1] / FINE_REFERENCE
    spots = sorted((int(a) for w, h, a in stats[1:, 2:5] if w <= spot and h <= spot), reverse=True)
    pointer = sum(spots[:spots_forgiven]) * removed.sum() / max(int(stats[1:, 4].sum()), 1)  # back to undilated
    allowed = max(FINE_SLACK, FINE_TOLERANCE * int(changed.sum()))
    return removed.sum() - pointer <= allowed


def _moved(old: np.ndarray, new: np.ndarray, step: float | np.ndarray = FINE_INK) -> np.ndarray:
    """Pixels of two RGB pictures where some channel moved by more than `step`."""
    return np.abs(new.astype(np.int16) - old.astype(np.int16)).max(axis=2) > step


def _ink_distance(image: np.ndarray) -> np.ndarray:
    """Per pixel, the largest channel's distance from the local background (a wide median); ink
    where it passes the colour step. (Not "from the picture's commonest colour": in a speaker
    view that is the backdrop, and the whole slide would be ink.)"""
    return np.abs(image.astype(np.int16) - cv2.medianBlur(image, 31)).max(axis=2)
