"""Returns: a slide shown again later gets `same_as` = the index of its first appearance.

Two appearances of one slide minutes apart are two encodings of one picture: the keyframes that
draw them carry fresh encoder noise (and, filmed, another exposure and drift), while the base
threshold of a clean-looking video is lowered to what frames 0.2 s apart differ by
(cells.QUIET_FACTOR). Noise then passes that threshold in cells all over the picture, and the
return went unlinked (issue #10: noise seeds 1 and 7, four held-out videos). Judging at the old
base threshold is no cure: two near-identical pages then differ in a pointer-sized spot, which
the pointer rule forgives, and a slide was linked to the wrong page (dev focus-projector).

So a return is judged on the area where the two pictures differ (ReturnJudge): the cells that
changed at the lowered threshold (in blobs the pointer rule keeps, if the video shows a pointer).
A blob that passes the old base threshold is a difference, as before. The faint rest is looked
at in colour, pixel by pixel, in the two states' 480-px pictures (ScreenState.keep_fine), one
mapped to the other's exposure (a gain and offset per channel, clipped to 0-255 as a camera
clips: _exposure; both ways, the fewer counting) and both blurred 3x3: encoder noise moved no
pixel of that area by FINE_INK on the faint returns measured (noise seeds 1, 7, 12, 13, dev
focus-projector, the test clip noisy-return; up to 206 pixels by 30, so FINE_INK is no knob to
lower), while different pages there moved 21 (a filmed projector; "Section 1" against "Section
2": 39), 290 (a word recoloured) and 1500 (a beamer theme demo's blue page against its green
twin).

A slide is judged against the earlier distinct slides that two cheap tests leave: the grey
cell pre-check (_surely_different) and, in an unfilmed video, the shortlist of cell colours
(return_index.py), without which a talk of n slides paid n^2/2 colour checks.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from ..frames import cell_means
from .builds import (CLIP_HIGH, CLIP_LOW, EXPOSURE_GAIN, FINE_INK, FINE_REFERENCE, FINE_SLACK, POINTER_SPOT,
                     gain_offset)
from .cells import BASE_THRESHOLD, ChangeMeter, moved_back
from .explain import Explanation
from .return_index import ReturnIndex

BLUR = 3  # px of the 480-px picture: a box blur that leaves a 1-px stroke a third of its contrast
CLIP_FIT_PIXELS = 50  # sampled pixels (one in 7) left to fit on, at least (_exposure)
WORD_GAP = 5  # px: changed pixels this close are one spot (the letters of a word)
BAND = 24  # rows of the 480-px picture the colour check looks at a time (_moved)
KEPT_PICTURES = 64  # distinct slides whose normalised picture stays in memory (see ReturnJudge.mark)


@dataclass
class Verdict:
    """Whether two slide pictures show one slide, the rule that said so and its measures."""

    same: bool
    rule: str
    measures: dict = field(default_factory=dict)


@dataclass
class Shown:
    """A slide's picture as the judge needs it: normalised grey (analysis size) and a way to the
    RGB picture at FINE_WIDTH (ScreenState.fine_rgb), unpacked only when a faint difference is
    looked at in colour: a 2-hour lecture's 300 slides would hold 120 MB of them. `hold`: keep
    what the colour check makes of it (_Colour, 3 MB), for the slide judged against every
    earlier one."""

    norm: np.ndarray
    fine: Callable[[], np.ndarray | None] = lambda: None
    hold: bool = False
    _colour: dict = field(default_factory=dict, repr=False)

    @property
    def rgb(self) -> np.ndarray | None:
        return self.fine()

    def colour(self, sample: np.ndarray) -> _Colour:
        """The colour picture as the colour check uses it, its exposure samples at `sample`."""
        made = self._colour.get(sample.size)
        if made is None:
            made = _Colour(self.rgb, sample, self.hold)
            if self.hold:
                self._colour[sample.size] = made
        return made


class _Colour:
    """A colour picture as the colour check uses it: its samples for the exposure fit (a float
    array per channel, contiguous: a fit on a strided column cost three times as much) and
    which of them no camera clips, made once; its rows in float and blurred, made as asked for
    (a pair of different slides is told apart in its first band or two). `hold` keeps the
    whole blurred picture, for the slide judged against every earlier one. The blur of whole
    grey levels is exact (sums of integers), so the whole picture's blur gives a band's."""

    def __init__(self, rgb: np.ndarray, sample: np.ndarray, hold: bool = False):
        self.rgb = rgb
        picked = rgb.reshape(-1, 3)[sample]
        self.samples = [np.ascontiguousarray(picked[:, c], dtype=np.float32) for c in range(3)]
        self.unclipped = [(s > CLIP_LOW) & (s < CLIP_HIGH) for s in self.samples]
        self._blurred = [cv2.blur(self.rows(c, 0, rgb.shape[0]), (BLUR, BLUR)) for c in range(3)] if hold else None

    @property
    def shape(self) -> tuple[int, int]:
        return self.rgb.shape[:2]

    def rows(self, channel: int, low: int, high: int) -> np.ndarray:
        return self.rgb[low:high, :, channel].astype(np.float32)

    def blurred(self, channel: int, low: int, high: int) -> np.ndarray:
        """Rows low:high of a channel, blurred (rows next to them taken into account)."""
        if self._blurred is not None:
            return self._blurred[channel][low:high]
        pad = BLUR // 2
        top, bottom = max(0, low - pad), min(self.rgb.shape[0], high + pad)
        return cv2.blur(self.rows(channel, top, bottom), (BLUR, BLUR))[low - top:high - top]


class ReturnJudge:
    """Decides whether a later slide shows an earlier one; see the module docstring."""

    def __init__(self, meter: ChangeMeter, colour_decides: bool = False):
        self.meter = meter
        # Whether the colour check also decides blobs above the old base (timeline.py says when).
        self.colour_decides = colour_decides
        self._free_key: tuple | None = None
        self._free_pixels: tuple[np.ndarray, np.ndarray] | None = None

    def judge(self, first: Shown, later: Shown) -> Verdict:
        """Compare two slide pictures. If they differ, a camera's drift (at most DRIFT_PIXELS,
        measured once) is undone and they are compared again; an exposure step that changed
        every cell faintly is the same slide (ChangeMeter.tone_only)."""
        verdict = self._differences(first, later)
        if verdict.same:
            return verdict
        shift = self.meter.drift(first.norm, later.norm)
        if shift is not None:
            moved = Shown(moved_back(later.norm, shift), lambda: _moved_rgb(later, shift))
            if self._differences(first, moved).same:
                return Verdict(True, "camera drift", verdict.measures)
        if self.meter.tone_only(first.norm, later.norm):
            return Verdict(True, "exposure", verdict.measures)
        return verdict

    def _differences(self, first: Shown, later: Shown) -> Verdict:
        meter = self.meter
        d = meter.diff(first.norm, later.norm)
        changed = meter.changed_cells(d)
        content = meter.content_cells(changed)
        # Pointer-sized spots are looked at too in a video that shows no pointer: "Section 1"
        # and "Section 2" differ in one digit (dev focus-projector).
        area = content if meter.pointer_seen else changed
        if not area.any():
            return Verdict(True, "same picture", {"differing_cells": 0})
        strong = meter.strong_threshold(d)  # the old base
        measures = {"differing_cells": int(area.sum()), "max_cell_diff": float(d[area].max()),
                    "base_threshold": strong}
        if content.any() and float(d[content].max()) > strong and not self.colour_decides:
            return Verdict(False, "differs", measures)
        a, b = first.rgb, later.rgb
        if a is None or b is None or a.shape != b.shape:
            return Verdict(False, "differs", measures)  # no colour to tell noise from a change
        free, sample = self._free(a.shape[:2])
        measures["colour_pixels"] = self._colour_pixels(first.colour(sample), later.colour(sample), free, area)
        if measures["colour_pixels"] > FINE_SLACK:
            return Verdict(False, "differs in colour", measures)
        return Verdict(True, "spread thin", measures)

    def _free(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The pixels of a colour picture of `shape` that no mask covers, and the one in 7 of
        them the exposure is fitted on; the mask is the meter's, made once per size."""
        key = (shape, self.meter.mask.tobytes())
        if self._free_key != key:
            h, w = shape
            free = cv2.resize((~self.meter.mask).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
            self._free_key, self._free_pixels = key, (free, np.flatnonzero(free)[::7])
        return self._free_pixels

    def _colour_pixels(self, a: _Colour, b: _Colour, free: np.ndarray, area: np.ndarray) -> int:
        """Pixels of the area (one cell around it too) that moved by more than FINE_INK in some
        channel, one picture mapped to the other's exposure (_exposure), both blurred: the fewer
        of the two ways (a step down brings back what the brighter picture clipped, which no
        mapping of that one draws again). In a video that shows a pointer, pointer-sized spots
        of them are forgiven. Above FINE_SLACK the count may stop early (see _moved)."""
        h, w = a.shape
        zone = cv2.resize(cv2.dilate(area.astype(np.uint8), np.ones((3, 3), np.uint8)), (w, h),
                          interpolation=cv2.INTER_NEAREST) > 0
        counts = []
        for x, y in ((a, b), (b, a)):
            counts.append(self._moved(x, y, free & zone))
            if counts[-1] <= FINE_SLACK:
                break
        return min(counts)

    def _moved(self, x: _Colour, y: _Colour, where: np.ndarray) -> int:
        """The counted pixels of `where` that moved from `x` (at `y`'s exposure) to `y`, worked
        out in bands of BAND rows: two different slides, judged in colour in an unfilmed video,
        are told apart by their first band of text, where the whole picture cost a talk of 45
        slides 20 CPU s (every pair the cell pre-check lets through). Stops once more than
        FINE_SLACK count: a band's counted pixels are counted in the whole picture too (a spot
        cut by a band's edge is no larger than the spot), so the decision is the same."""
        rows = np.flatnonzero(where.any(axis=1))
        if not rows.size:
            return 0
        fits = [_exposure(x.samples[c], y.samples[c], x.unclipped[c] & y.unclipped[c]) for c in range(3)]
        pad = BLUR // 2 + 1  # rows each side, so the blur inside a band sees its real neighbours
        height = x.shape[0]
        bands, counted = [], 0
        for start in range(int(rows[0]), int(rows[-1]) + 1, BAND):
            stop = min(start + BAND, int(rows[-1]) + 1)
            low, high = max(0, start - pad), min(height, stop + pad)
            moved = np.zeros((stop - start, x.shape[1]), bool)
            for c, fit in enumerate(fits):
                mapped = cv2.blur(_applied(fit, x.rows(c, low, high)), (BLUR, BLUR))[start - low:stop - low]
                moved |= np.abs(mapped - y.blurred(c, start, stop)) > FINE_INK
            bands.append(moved & where[start:stop])
            counted += self._counted(bands[-1])
            if counted > FINE_SLACK:
                return counted
        # Below the slack in every band: the exact count, spots joined across the bands' edges.
        return self._counted(np.concatenate(bands)) if self.meter.pointer_seen else counted

    def _counted(self, moved: np.ndarray) -> int:
        """The moved pixels that count: in a video that shows a pointer, not its spots."""
        w = moved.shape[1]
        if not self.meter.pointer_seen or not moved.any():
            return int(moved.sum())
        # Letters of one recoloured word are joined first: each alone is pointer-sized.
        joined = cv2.dilate(moved.astype(np.uint8), np.ones((WORD_GAP, WORD_GAP), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined)
        spot = POINTER_SPOT * w / FINE_REFERENCE
        big = (stats[:, cv2.CC_STAT_WIDTH] > spot) | (stats[:, cv2.CC_STAT_HEIGHT] > spot)
        big[0] = False
        return int(big[labels[moved]].sum())

    def mark(self, slides: list, explanation: Explanation | None = None) -> None:
        """Set `same_as` on every slide (timeline.Slide) that shows an earlier distinct slide:
        the first such slide. Each slide after the first is entered in `explanation.returns`
        with the verdict that linked it, or, unlinked, the closest verdict that did not."""
        meter = self.meter
        # (1-based index, state, cell means, picture or None) of each distinct slide. The
        # normalised picture (230 KB at 320 px) is kept for the first KEPT_PICTURES distinct slides
        # only and made again from the packed state for later ones: memory stays bounded in a
        # long lecture with hundreds of distinct slides.
        firsts: list[tuple[int, object, np.ndarray, Shown | None]] = []
        # Not on a filmed screen: its returns drift by a pixel or two, which moves the cells of
        # an edge, and there the colour check does not decide (see timeline.py).
        shortlist = ReturnIndex(meter.mask) if self.colour_decides else None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slidecast-returns") as helper:
            for index, slide in enumerate(slides, start=1):
                shown = _shown(meter, slide.shown)
                # Judged against every candidate: its colour picture is unpacked once (not kept).
                current = Shown(shown.norm, functools.cache(shown.fine), hold=True)
                means = cell_means(shown.norm, meter.grid)
                alike = shortlist.possible(current.rgb) if shortlist is not None else [True] * len(firsts)
                # The cheap pre-checks keep a long lecture from costing n^2 full compares.
                candidates = [(first_index, state, kept) for (first_index, state, first_means, kept), maybe
                              in zip(firsts, alike) if maybe and not _surely_different(means, first_means, meter)]
                closest: tuple[int, Verdict] | None = None
                for first_index, verdict in self._verdicts(candidates, current, helper):
                    if verdict.same:
                        slide.same_as = first_index
                        closest = (first_index, verdict)
                        break
                    if closest is None or _nearer(verdict, closest[1]):
                        closest = (first_index, verdict)
                else:
                    firsts.append((index, slide.shown, means, shown if len(firsts) < KEPT_PICTURES else None))
                    if shortlist is not None:
                        shortlist.add(current.rgb)
                if explanation is not None and index > 1:
                    explanation.add_return(slide.start, slide.same_as, *(closest or (None, None)))

    def _verdicts(self, candidates: list, shown: Shown, helper: ThreadPoolExecutor):
        """(first index, verdict) of each candidate earlier slide against `shown`, in order.
        Two are judged at a time, the second on `helper`: phase correlation and the cell tests
        let go of the GIL, and when the timeline is built the second pass's threads are done, so
        a core would wait. A verdict judged ahead of a link found is dropped."""
        for k in range(0, len(candidates), 2):
            ahead = helper.submit(self._verdict, candidates[k + 1], shown) if k + 1 < len(candidates) else None
            yield self._verdict(candidates[k], shown)
            if ahead is not None:
                yield ahead.result()

    def _verdict(self, candidate: tuple, shown: Shown) -> tuple[int, Verdict]:
        first_index, state, kept = candidate
        return first_index, self.judge(kept or _shown(self.meter, state), shown)


def _shown(meter: ChangeMeter, state) -> Shown:
    return Shown(meter.normalise(state.small()), state.fine_rgb)


def _moved_rgb(shown: Shown, shift: tuple[float, float]) -> np.ndarray | None:
    """`shown`'s colour picture moved back by `shift`, given in analysis pixels."""
    rgb = shown.rgb
    if rgb is None:
        return None
    scale_x, scale_y = rgb.shape[1] / shown.norm.shape[1], rgb.shape[0] / shown.norm.shape[0]
    return moved_back(rgb, (shift[0] * scale_x, shift[1] * scale_y))


def _exposure(x: np.ndarray, y: np.ndarray, unclipped: np.ndarray) -> tuple[float, float]:
    """The gain and offset a camera's exposure step takes one channel's sampled pixels `x` to
    those of the same places `y` by (the pixels a mask leaves free, one in 7). The gain is
    fitted on the pixels neither picture clips (`unclipped`): a gain step that pushes a page's
    paper past white leaves it at 255 while the ink moves on, and a line fitted through the
    clipped paper too left a hundred pixels of small text moved by FINE_INK on one page shown
    before and after the step (realism noise seed 1, 107 pixels)."""
    if unclipped.sum() >= CLIP_FIT_PIXELS:
        fit = _line(x[unclipped], y[unclipped])
        if EXPOSURE_GAIN[0] <= fit[0] <= EXPOSURE_GAIN[1]:  # else two pages, not one exposed anew
            return fit
    return _line(x, y)


def _applied(fit: tuple[float, float], a: np.ndarray) -> np.ndarray:
    """`a` through a gain and offset, clipped to 0-255 as a camera clips."""
    return np.clip(fit[0] * a + fit[1], 0.0, 255.0)


def _line(x: np.ndarray, y: np.ndarray, flat: float = 1.0) -> tuple[float, float]:
    """Gain and offset that take `x` to `y` (builds.gain_offset); an offset only if `x` varies by
    less than `flat` (its standard deviation)."""
    fit = gain_offset(x, y) if x.size >= 2 and float(x.std()) >= flat else None
    if fit is None:  # one flat colour: no gain to fit, only an offset
        return 1.0, float(y.mean() - x.mean()) if x.size else 0.0
    return fit


def _nearer(a: Verdict, b: Verdict) -> bool:
    """True if `a` came closer to a link than `b` (fewer differing cells)."""
    return a.measures.get("differing_cells", 0) < b.measures.get("differing_cells", 0)


def _surely_different(a: np.ndarray, b: np.ndarray, meter: ChangeMeter) -> bool:
    """Cell means that differ a lot in many cells imply a large mean absolute difference, also
    once a camera's exposure step is undone (a gain and offset of the cell means)."""
    free = ~meter.mask
    return _far_cells(a, b, free, meter) and _far_cells(_levelled(a, b, free), b, free, meter)


def _far_cells(a: np.ndarray, b: np.ndarray, free: np.ndarray, meter: ChangeMeter) -> bool:
    far = (np.abs(a - b) > 2 * BASE_THRESHOLD * meter.scale) & free  # not the lowered base
    return int(far.sum()) > 4 * meter.pointer_cells


def _levelled(a: np.ndarray, b: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Cell means `a` brought to `b`'s exposure by the gain and offset that fit best, if that
    gain is an exposure step's (EXPOSURE_GAIN). A normalised picture hides a plain gain, but a
    step that clips the paper lightens the ink against it (realism noise seed 60: dark ink from
    grey 143 to 160), and the cell means of one slide before and after it moved by more than
    the pre-check allows: its return went unlinked, no earlier slide looked at."""
    gain, offset = _line(a[free], b[free], flat=1e-3)
    if not EXPOSURE_GAIN[0] <= gain <= EXPOSURE_GAIN[1]:
        return a
    return gain * a + offset
