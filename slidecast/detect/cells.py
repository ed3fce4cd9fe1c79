"""Which grid cells changed between two normalised frames.

A cell changed if its mean absolute difference exceeds a threshold that adapts to the noise of
this very pair of frames (a low percentile of the cell differences: some cells of a slide do not
change even when the slide does, while noise moves every cell). Masked cells (live regions, user
ignore regions) never count.
Small isolated blobs of changed cells (a mouse pointer, a laser dot, a speck of noise) are not a
slide change, unless there are many of them at once (small edits all over the slide).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..frames import GRID, cell_diff, normalise

DEFAULT_SENSITIVITY = 0.5
# Threshold in normalised units (fractions of the ink contrast, frames.normalise) at sensitivity 0.5; each 0.25 of sensitivity halves/doubles it.
BASE_THRESHOLD = 0.07
NOISE_FACTOR = 3.0
# The noise floor of a pair is this percentile of its cell differences. Not the median: when a
# slide change or an exposure step moves more than half of the cells (a new sidebar picture, a
# new section banner), the median is the change itself, and the change then hid below its own
# "noise" (issue #10: nine slides of one template taken for one).
NOISE_QUANTILE = 20
# ... and never more than CAP_MIN + CAP_FACTOR x the video's typical floor (learn_noise).
CAP_MIN = 0.05
CAP_FACTOR = 3.0
# A blob of at most this many cells is a pointer, not content (at sensitivity 0.5).
POINTER_CELLS = 4
LINE_GAP = 2  # cells: see content_cells
# A video shows a pointer when pointer-sized spots (and nothing more) changed in at least this
# share of its keyframe pairs without a content change (a pointer wanders all the time; noise
# or a webcam's edge leaves a spot now and then); with fewer than POINTER_MIN_PAIRS such pairs
# the engine cannot tell and assumes a pointer.
POINTER_PAIRS = 0.5
POINTER_MIN_PAIRS = 8
# ... and with fewer such pairs (a short clip, long groups of pictures), from the steps of the
# learning runs (live_regions: frames 0.2 s apart after keyframes): a pointer that moves on
# leaves spots in at least POINTER_STEPS of the quiet steps (0.55 in the laser clip), a video
# without one in almost none (0-0.01: pushes, wipes and webcam tiles). Assuming a pointer there
# made a small change between two slides (a 7-cell blob, 4 strong cells) a laser's halo
# (wipe-push seed 2 at 33.2).
POINTER_STEPS = 0.2
# A filmed screen drifts as the camera settles or the tripod creeps (the bench's camera clips:
# up to 1.2 px over tens of seconds). Over a long slide that moves every edge far enough from
# the state's first frame to count as a change, so before a new state is declared the new
# frame's shift against the old one is measured (phase correlation, sub-pixel); a shift of at
# most DRIFT_PIXELS (analysis pixels) that, undone, leaves nothing significant is the same
# screen. Only the one measured shift is tried: trying many would let misaligned edges raise
# the noise-adaptive threshold until a real change passed too.
DRIFT_PIXELS = 1.5
# ... and only when the two frames are one picture shifted: phase correlation's peak response
# at least DRIFT_RESPONSE (0.85-0.99 for the drifts of the filmed-projector clips; 0.76 for a
# new slide of one template whose lines sit a little lower, issue #10's fade seed 3).
DRIFT_RESPONSE = 0.8
# A clean video (a screen recording, a rendered deck) moves no cell between two frames of one
# screen by more than a few thousandths of the ink contrast, and BASE_THRESHOLD then hides a
# word recoloured or a short line added at 360p (0.02-0.045 per cell: issue #10, metropolis
# overlays in speaker view). The base threshold is lowered to QUIET_FACTOR times the video's
# quiet level (see learn_noise), never below QUIET_FLOOR of BASE_THRESHOLD; a noisy or filmed
# video keeps BASE_THRESHOLD.
QUIET_QUANTILE = 98
QUIET_FACTOR = 6.0
QUIET_FLOOR = 0.25
# The quiet level comes from neighbouring predicted frames, which x264 draws from one reference:
# a noisy video's sensor noise is smoothed away between them, and looks as quiet as a clean
# one. Each keyframe draws the noise afresh, so two keyframes of one still screen differ by it
# (issue #10's noise seeds 16 and 18: the lowered base took keyframes for slide changes). A
# keyframe that differs from the settled state by no more than REDRAW_FACTOR times the keyframe
# redraw level (QUIET_QUANTILE of the cell differences of keyframe pairs that show one still
# screen, their median; never above BASE_THRESHOLD) redraws it (ChangeMeter.redrawn). The base
# itself stays: a change between keyframes as faint as the noise (a blue page after its green
# twin, in grey) is still seen on the predicted frames, and a raised base lost it (the
# noisy-return clip). Only pairs that did not move count: on a filmed screen, keyframes seconds
# apart differ by the camera's drift, and a raised base missed changes there (projector seeds
# 2, 3, 10 and 18: a filmed A4 page changes its cells by 0.07-0.1 only, and its keyframe pairs
# without drift differ by 0.055 as well). A pair moved if undoing phase correlation's shift
# brings it under REDRAW_GEOMETRY of what doubling the shift leaves (a shift's size alone does
# not tell: on a still noisy page phase correlation reads up to half a pixel into the noise);
# such pairs mark the video filmed, where the drift rule (same_but_shifted) does this. More
# than half of the pairs whose shift could be measured must have moved: one chance pair is no
# camera. In unfilmed videos one or two pairs in a noisy or busy video come out at 0.74-0.79
# (dev noise seed 60: 2 of 11; metropolis-pip: 1 of 95, a webcam beside the slide), which
# made every build test there use the filmed colour step; filmed clips move in nearly every
# such pair (0.13-0.6: projector seeds 14 of 16, 17 of 18, 11 of 11; a short clip 1 of 1).
REDRAW_FACTOR = 2.0
REDRAW_GEOMETRY = 0.8
TONE_SPREAD = 0.25  # see tone_only
TONE_PEAK = 2.0
TONE_RESIDUAL = 0.5  # see _tone_curve_explains


def percentile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, q) of a 1-D float array without NaNs, to the last bit (the same
    linear interpolation, in the array's precision), 50x cheaper: the noise floor is taken
    for every frame compared, and np.percentile's generality cost 0.3 ms each time."""
    n = values.size
    at = (n - 1) * (q / 100)
    low = math.floor(at)
    high = min(low + 1, n - 1)
    part = np.partition(values, (low, high))
    a, b = part[low], part[high]
    step, weight = b - a, at - low
    return float(b - step * (1 - weight) if weight >= 0.5 else a + step * weight)


class ChangeMeter:
    """Measures change between frames on the cell grid; see the module docstring."""

    def __init__(self, sensitivity: float = 0.5, mask: np.ndarray | None = None,
                 grid: tuple[int, int] = GRID):
        s = min(max(float(sensitivity), 0.0), 1.0)
        self.grid = grid
        self.scale = 2.0 ** ((0.5 - s) * 4)  # the sensitivity's factor on the base threshold
        self.base = BASE_THRESHOLD  # see learn_noise
        self.threshold = self.base * self.scale
        self.redraws: list[float] = []  # keyframe redraw levels seen (learn_redraw)
        self.moved_pairs = 0  # keyframe pairs of one still screen that showed the camera's drift
        self.shifted_pairs = 0  # ... out of this many whose shift could be measured (redraw_level)
        # ... one of the keyframe pairs read before the second pass (screening): what a rule
        # that must not change during a run asks (timeline's same-slide test); a state and the
        # keyframe after a fade can read as moved later on (fade seed 3).
        self.filmed_early = False
        self.pointer_cells = max(1, int(round(POINTER_CELLS * 2.0 ** ((0.5 - s) * 2))))
        self.mask = np.zeros((grid[1], grid[0]), bool) if mask is None else mask
        self._pixel_mask: np.ndarray | None = None
        self._line_kernel = np.ones((1, 2 * LINE_GAP + 1), np.uint8)
        self.noise_cap = float("inf")
        self.pointer_seen = True  # see shows_pointer; until learnt, forgive pointer marks

    @property
    def filmed(self) -> bool:
        """True if most keyframe pairs with a measured shift showed a camera's drift (see
        REDRAW_GEOMETRY)."""
        return 2 * self.moved_pairs > self.shifted_pairs

    def at_default(self) -> "ChangeMeter":
        """This meter (mask, noise cap) at the default sensitivity and BASE_THRESHOLD. What the
        video is like (does the screen still move, does it show a pointer) is judged with it
        whatever the user's sensitivity: a more sensitive run then can only find more changes,
        never fewer. Not with a clean video's lowered base (QUIET_FACTOR): the faint edge of a
        swaying camera tile then kept the screen "moving", and changes were timed seconds off."""
        meter = ChangeMeter(DEFAULT_SENSITIVITY, mask=self.mask, grid=self.grid)
        meter.noise_cap = self.noise_cap
        return meter

    def set_base(self, base: float) -> None:
        """The threshold at the default sensitivity (this meter's sensitivity scales it)."""
        self.base = base
        self.threshold = base * self.scale

    def set_mask(self, mask: np.ndarray) -> None:
        """Cells to ignore from now on (live regions, user regions)."""
        self.mask = mask
        self._pixel_mask = None

    def normalise(self, gray: np.ndarray) -> np.ndarray:
        """frames.normalise with the masked cells left out of the statistics."""
        if not self.mask.any():
            return normalise(gray)
        if self._pixel_mask is None or self._pixel_mask.shape != gray.shape:
            keep = (~self.mask).astype(np.uint8) * 255
            self._pixel_mask = cv2.resize(keep, gray.shape[::-1], interpolation=cv2.INTER_NEAREST)
        return normalise(gray, self._pixel_mask)

    def diff(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-cell mean absolute difference (rows x cols)."""
        return cell_diff(a, b, self.grid)

    def changed(self, a: np.ndarray, b: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Boolean grid of changed, unmasked cells; `scale` < 1 makes it more sensitive."""
        return self.changed_cells(self.diff(a, b), scale)

    def changed_cells(self, d: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Like `changed`, from a per-cell difference grid computed earlier."""
        noise = self.noise_floor(d)
        return (d > scale * (self.threshold + NOISE_FACTOR * noise)) & ~self.mask

    def noise_floor(self, d: np.ndarray) -> float:
        """The noise level of a per-cell difference grid: NOISE_QUANTILE of the unmasked cells,
        at most `noise_cap`."""
        free = d[~self.mask]
        return min(percentile(free, NOISE_QUANTILE), self.noise_cap) if free.size else 0.0

    def learn_noise(self, still_floors: list[float], still_steps: list[np.ndarray] | None = None) -> None:
        """Cap the noise floor from the floors of pairs of frames a moment apart (the video's
        own noise): a slide change that moves more than 80% of the cells (a coloured block
        moved, a dark slide after a light one) must not pass for noise. From the same pairs'
        per-cell differences (`still_steps`), outside the mask, lower the base threshold of a
        clean video (QUIET_FACTOR)."""
        if still_floors:
            self.noise_cap = CAP_MIN + CAP_FACTOR * float(np.median(still_floors))
        free = ~self.mask
        if still_steps and free.any():
            # The median pair: the few that caught a slide change or a fade do not count.
            quiet = float(np.median([percentile(d[free], QUIET_QUANTILE) for d in still_steps]))
            self.set_base(min(BASE_THRESHOLD, max(QUIET_FLOOR * BASE_THRESHOLD, QUIET_FACTOR * quiet)))

    def redraw_level(self, a: np.ndarray, b: np.ndarray, d: np.ndarray) -> float | None:
        """QUIET_QUANTILE of the free cells of `d` (= diff(a, b): two keyframes, or a state
        settled on predicted frames and the keyframe after them) if the two show one still
        screen, else None. Judged at the default threshold, whatever the base learnt so far.
        A pair that moved (see REDRAW_GEOMETRY) counts towards the video being `filmed`."""
        free = ~self.mask
        if not free.any() or self.at_default().content(d).any():
            return None
        (dx, dy), _ = cv2.phaseCorrelate(a, b)
        if max(abs(dx), abs(dy)) > DRIFT_PIXELS:
            return None
        if max(abs(dx), abs(dy)) > 0:
            # Moved back by the shift, a filmed screen comes closer than moved on by it; noise
            # (whose texture phase correlation reads a shift into, up to half a pixel) does not.
            back = percentile(self.diff(a, moved_back(b, (dx, dy)))[free], QUIET_QUANTILE)
            on = percentile(self.diff(a, moved_back(b, (-dx, -dy)))[free], QUIET_QUANTILE)
            self.shifted_pairs += 1
            if back < REDRAW_GEOMETRY * on:
                self.moved_pairs += 1
                return None
        return percentile(d[free], QUIET_QUANTILE)

    def learn_redraw(self, levels: list[float | None]) -> None:
        """Add keyframe redraw levels (`redraw_level`; None entries are left out): from the
        keyframe pairs before the second pass, and from each keyframe redraw it meets (a short
        clip with a keyframe every 10 s has no keyframe pair without a slide change)."""
        self.redraws += [v for v in levels if v is not None]

    def cap_noise_by_redraw(self) -> None:
        """Cap the pair noise floor at REDRAW_FACTOR times the video's keyframe redraw level
        (the median of learn_redraw's levels so far that are above 0; not in a filmed video,
        whose keyframe pairs drift): two keyframes of one still screen differ in 98% of their
        cells by less than that level, so a pair whose 20th percentile lies above it shows a
        change in that many cells, not noise. The cap from learn_noise (CAP_MIN) allows 0.05 in
        a clean video, and a page of small text replaced by another beside a tile in the
        pillarbox (a fifth of the free cells black and still) changes its cells by 0.06-0.1:
        the floor read 0.034, the threshold 0.12, and the new page was missed (issue #10, pip
        seeds 19 and 35). A level of 0 is two keyframes x264 drew bit for bit the same (one
        still picture, encoded twice from the same source): it says nothing of how two
        encodings of one slide reached along different paths differ (a state settled after a
        fade, the keyframe after it: up to 0.07 per cell). Counting those zeros capped the
        floor at 0, and a return after a fade was judged on its encoder noise and left
        unlinked (validation fade seed 30)."""
        drawn = [v for v in self.redraws if v > 0]
        if self.filmed or not drawn:
            return
        self.noise_cap = min(self.noise_cap, REDRAW_FACTOR * float(np.median(drawn)))

    def redrawn(self, d: np.ndarray) -> bool:
        """True if a keyframe that differs from the settled state by `d` (per cell) only
        redraws it: nothing but pointer spots differs by more than REDRAW_FACTOR times the
        video's keyframe redraw level (their median; scaled by the sensitivity, at most
        BASE_THRESHOLD). Never in a filmed video, nor before a redraw level is known."""
        if self.filmed or not self.redraws:
            return False
        bound = min(BASE_THRESHOLD, REDRAW_FACTOR * float(np.median(self.redraws))) * self.scale
        if bound <= self.threshold:
            return False  # a clean video: its keyframes redraw nothing the threshold sees
        changed = (d > bound + NOISE_FACTOR * self.noise_floor(d)) & ~self.mask
        return not self.content_cells(changed).any()

    def shows_pointer(self, key_diffs: list[np.ndarray], run_steps: list[np.ndarray] = ()) -> bool:
        """True if pointer-sized spots alone changed in at least POINTER_PAIRS of the keyframe
        pairs (per-cell differences) whose content did not change: the video shows a pointer or
        a laser dot. With fewer than POINTER_MIN_PAIRS such pairs, judged the same way on the
        learning runs' steps (`run_steps`, POINTER_STEPS); True when those are too few as well
        (too few to tell). Judged at this meter's sensitivity (callers use the default one)."""
        for diffs, share in ((key_diffs, POINTER_PAIRS), (run_steps, POINTER_STEPS)):
            quiet = [self.changed_cells(d) for d, c in zip(diffs, map(self.content, diffs)) if not c.any()]
            if len(quiet) >= POINTER_MIN_PAIRS:
                return sum(bool(c.any()) for c in quiet) >= share * len(quiet)
        return True  # too few to tell: forgive pointer marks, as ever

    def strong_threshold(self, d: np.ndarray, scale: float = 1.0) -> float:
        """The threshold of `changed_cells` at BASE_THRESHOLD (scaled by the sensitivity) instead
        of a clean video's lowered base."""
        return scale * (BASE_THRESHOLD * self.scale + NOISE_FACTOR * self.noise_floor(d))

    def strong_cells(self, d: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The cells that pass `strong_threshold`: those a pointer's own spot changes (see
        content_cells)."""
        return (d > self.strong_threshold(d, scale)) & ~self.mask

    def content(self, d: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The changed cells of a per-cell difference grid that are content, not pointer spots;
        in a video that shows a pointer, without the faint halo around its spot (content_cells)."""
        strong = self.strong_cells(d, scale) if self.pointer_seen else None
        return self.content_cells(self.changed_cells(d, scale), strong)

    def content_cells(self, changed: np.ndarray, strong: np.ndarray | None = None) -> np.ndarray:
        """`changed` without pointer-sized blobs, unless there are many of them (text edits).

        With `strong` (the cells changed at BASE_THRESHOLD, `strong_cells`), a changed cell
        that only passed a clean video's lowered base and touches a strong cell is that spot's
        halo and does not make a blob bigger: a laser dot is a strong spot of 1-3 cells, and
        blur and compression spread it faintly into its neighbours, which the lowered base
        counts (issue #10, dev metropolis-pip: 5-6 cells, four extra slides). Faint cells away
        from any strong one are faint content (a recoloured word) and count in full. `content`
        passes `strong` only in a video that shows a pointer (`pointer_seen`): elsewhere the
        faint edge cells of a small real edit look the same and were discounted with it
        (speaker seed 15: a 6-cell change lost)."""
        if not changed.any():
            return changed
        counted = changed
        if strong is not None:
            halo = changed & ~strong & cv2.dilate(strong.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            counted = changed & ~halo
        # Cells up to LINE_GAP apart in a row belong to one blob: a new line of small text
        # changes cells along a row with gaps between words, a pointer is one compact spot.
        joined = cv2.dilate(changed.astype(np.uint8), self._line_kernel)
        count, labels = cv2.connectedComponents(joined, connectivity=8)
        area = np.bincount(labels[counted], minlength=count)
        small = np.zeros(count, bool)
        small[1:] = area[1:] <= self.pointer_cells
        if area[1:][small[1:]].sum() > 2 * self.pointer_cells:
            return changed  # many small blobs at once: a real edit, not a pointer
        return changed & ~small[labels]

    def significant(self, a: np.ndarray, b: np.ndarray, scale: float = 1.0) -> bool:
        """True if `b` differs from `a` by more than noise, pointer and masked regions."""
        return bool(self.content(self.diff(a, b), scale).any())

    def tone_only(self, a: np.ndarray, b: np.ndarray) -> bool:
        """True if `b` differs from `a` faintly all over: at least TONE_SPREAD of the free
        cells changed, none by more than TONE_PEAK times the threshold (or the base threshold
        a noisy video keeps, whichever is more). A camera's exposure
        step (gamma, clipped highlights: what normalising gain and offset leaves) looks like
        that; a new slide, even one of the same template, changes some cells strongly."""
        d = self.diff(a, b)
        changed = self.changed_cells(d)
        free = ~self.mask
        floor = NOISE_FACTOR * self.noise_floor(d)
        # Or nowhere over the base a noisy video keeps: in a video that looks clean between
        # keyframes (the lowered base) a step of the camera's gain clips the whites of the
        # slide, and the cells around them move by up to three times the lowered threshold
        # (issue #10, noise seeds 23 and 26: exposure steps taken for slide changes).
        peak = max(TONE_PEAK * (self.threshold + floor), BASE_THRESHOLD * self.scale + floor)
        if not (changed.sum() >= TONE_SPREAD * free.sum() and d[free].max() < peak):
            return False
        return self._tone_curve_explains(a, b)

    def _tone_curve_explains(self, a: np.ndarray, b: np.ndarray) -> bool:
        """True if one tone curve (a quadratic in the old grey level) takes `a` to `b` up to
        TONE_RESIDUAL of the change: an exposure step maps every grey level to another, while
        a page of small text replaced by another changes faintly all over too, but no curve
        of the old picture draws the new one (issue #10: A4 pages at 360p taken for exposure)."""
        keep = self.free_pixels(a.shape)
        old, new = a[keep].astype(np.float64), b[keep].astype(np.float64)
        change = float(np.sqrt(np.mean((new - old) ** 2)))
        if change == 0.0:
            return True
        fit = np.polyval(np.polyfit(old, new, 2), old)
        return float(np.sqrt(np.mean((new - fit) ** 2))) <= TONE_RESIDUAL * change

    def free_pixels(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixels outside the masked cells, for a frame of `shape`."""
        keep = (~self.mask).astype(np.uint8)
        return cv2.resize(keep, shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)

    def same_but_shifted(self, a: np.ndarray, b: np.ndarray) -> bool:
        """True if `b`, moved back by its measured drift (at most DRIFT_PIXELS), shows what `a`
        shows (see DRIFT_PIXELS)."""
        shift = self.drift(a, b)
        return shift is not None and not self.significant(a, moved_back(b, shift))

    def drift(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
        """`b`'s shift (dx, dy) against `a` if `b` is `a` shifted by at most DRIFT_PIXELS
        (phase correlation's peak at least DRIFT_RESPONSE), else None."""
        (dx, dy), response = cv2.phaseCorrelate(a, b)
        if not 0 < max(abs(dx), abs(dy)) <= DRIFT_PIXELS or response < DRIFT_RESPONSE:
            return None
        return dx, dy


def moved_back(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """`image` (grey or colour) moved back by `shift` = (dx, dy) pixels, edges replicated."""
    h, w = image.shape[:2]
    back = np.float32([[1, 0, -shift[0]], [0, 1, -shift[1]]])
    return cv2.warpAffine(image, back, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
