"""Between the two passes: decide where to look closely.

From the first pass (every packet's size, every keyframe small) this finds the content area
(letterbox), the live regions (webcam), and which groups of pictures (GOPs) are *dirty*: their
two bounding keyframes differ, or a packet inside is a size spike. Only dirty GOPs are decoded
frame by frame; a clean GOP is represented by its keyframe alone, since nothing can have changed
between two equal keyframes without a spike. The last GOP has no closing keyframe: always dirty.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from ..frames import ROBUST_QUANTILE, normalise
from ..options import ExtractOptions
from ..video import Scan, VideoMeta, sample_runs
from .cells import NOISE_FACTOR, ChangeMeter
from .explain import Explanation, pair_measures
from .letterbox import LetterboxDetector, beside_tile
from .live_regions import LiveRegionDetector, regions_mask
from .packets import find_spikes

# Live regions are learnt from short runs of frames after LEARN_RUNS keyframes spread over the
# video (detect/live_regions.py): LEARN_SECONDS long, a frame every LEARN_STEP.
LEARN_RUNS = 16
LEARN_SECONDS = 1.2
LEARN_STEP = 0.2

# Dirty test on keyframe pairs is more sensitive than the slide test: a false "dirty" costs
# decoding time, a false "clean" costs a slide.
DIRTY_SCALE = 0.7
NEAR_MISS = 0.5  # a keyframe pair changed at this share of the threshold is explained as noise


@dataclass
class Gop:
    index: int
    start: float
    end: float
    dirty: bool
    spikes: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class Screening:
    crop: tuple[int, int, int, int]
    meter: ChangeMeter
    gops: list[Gop]
    key_diffs: list[np.ndarray] = field(default_factory=list)  # per-cell, keyframe i vs i + 1
    # What a slide's picture shows (analysis pixels): the content area, or in a speaker view
    # only the slide beside the camera tile (letterbox.beside_tile).
    picture: tuple[int, int, int, int] | None = None

    def __post_init__(self):
        self._starts = [g.start for g in self.gops]

    def gop_at(self, t: float) -> Gop:
        """The GOP that shows time `t`."""
        return self.gops[max(0, bisect.bisect_right(self._starts, t) - 1)]

    def explain_quiet_pairs(self, explanation: Explanation) -> None:
        """Enter keyframe pairs that differ somewhat but hold no candidate change: a change
        kept inside a live region, pointer-sized, or under the threshold (at half of it)."""
        seen = explanation.times()
        for gop, diff in zip(self.gops, self.key_diffs):
            if seen.size and ((seen > gop.start) & (seen <= gop.end)).any():
                continue
            changed = self.meter.changed_cells(diff)
            live = (diff > self.meter.threshold + NOISE_FACTOR * self.meter.noise_floor(diff)) & self.meter.mask
            if self.meter.content(diff).any():
                continue  # seen by the second pass, which found the screen unchanged after all
            if changed.any():
                rule = "pointer"
            elif live.sum() > self.meter.pointer_cells:
                rule = "live region"
            elif self.meter.content(diff, NEAR_MISS).any():
                rule = "noise"
            else:
                continue
            explanation.add((gop.start + gop.end) / 2, rule, between=[round(gop.start, 3), round(gop.end, 3)],
                            **pair_measures(self.meter, diff))


def cropped(gray: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = crop
    return gray[y0:y1, x0:x1]


def screen(scan: Scan, meta: VideoMeta, options: ExtractOptions, size: tuple[int, int]) -> Screening:
    """Plan the second pass; see the module docstring."""
    letterbox = LetterboxDetector()
    for key in scan.keyframes:
        letterbox.add(key.gray())
    crop = letterbox.crop()
    meter = ChangeMeter(options.sensitivity)
    live = _learn_live(scan, meta, crop, size, meter.grid)
    live_mask = live.mask()
    meter.set_mask(live_mask | regions_mask(options.ignore_regions, meter.grid))
    meter.learn_noise(live.still_floors, live.still_steps)
    diffs, redraws, previous = [], [], None
    for key in scan.keyframes:
        norm = meter.normalise(cropped(key.gray(), crop))
        if previous is not None:
            diffs.append(meter.diff(previous, norm))
            redraws.append(meter.redraw_level(previous, norm, diffs[-1]))
        previous = norm
    meter.learn_redraw(redraws)
    meter.filmed_early = meter.filmed
    meter.cap_noise_by_redraw()
    meter.pointer_seen = meter.at_default().shows_pointer(diffs, live.still_steps)
    is_key = np.isin(scan.packet_t, [k.t for k in scan.keyframes])
    spikes = find_spikes(scan.packet_t, scan.packet_size, is_key, meta.fps, meta.width * meta.height,
                         options.sensitivity)
    gops = []
    for i, key in enumerate(scan.keyframes):
        end = scan.keyframes[i + 1].t if i + 1 < len(scan.keyframes) else scan.end
        inside = spikes[(spikes > key.t) & (spikes < end)]
        last = i + 1 == len(scan.keyframes)
        differs = not last and meter.content(diffs[i], DIRTY_SCALE).any()
        gops.append(Gop(i, key.t, end, bool(last or differs or inside.size), inside))
    return Screening(crop, meter, gops, diffs, _picture_box(letterbox, crop, live_mask))


def _picture_box(letterbox: LetterboxDetector, crop, live_mask: np.ndarray) -> tuple[int, int, int, int]:
    mean, spread = letterbox.mean_and_spread()
    slide = beside_tile(cropped(mean, crop), cropped(spread, crop), live_mask) if live_mask.any() else None
    if slide is None:
        return crop
    return crop[0] + slide[0], crop[1] + slide[1], crop[0] + slide[2], crop[1] + slide[3]


def _learn_live(scan: Scan, meta: VideoMeta, crop, size, grid) -> LiveRegionDetector:
    live = LiveRegionDetector(grid)
    for key in scan.keyframes:
        live.add_key(normalise(cropped(key.gray(), crop), quantile=ROBUST_QUANTILE))
    keys = [k.t for k in scan.keyframes]
    picks = np.unique(np.linspace(0, len(keys) - 1, min(LEARN_RUNS, len(keys))).round().astype(int))
    # A short video has few keyframes: read longer stretches after each and cut them into
    # runs, up to 2 x LEARN_RUNS of them (a 40-s clip with a keyframe every 10 s gave 4 runs,
    # too few to find a swaying face: every sway split a slide). A stretch stays inside its
    # group of pictures, like the runs of a long video: across the next keyframe, the pieces
    # of a crossfade it caught looked like motion (the crossfade clip).
    gop = float(np.median(np.diff(keys))) if len(keys) > 1 else LEARN_SECONDS
    wanted = 1 if len(picks) >= LEARN_RUNS else int(np.ceil(2 * LEARN_RUNS / len(picks)))
    per_key = max(1, min(wanted, int(gop // LEARN_SECONDS)))
    frames = int(round(LEARN_SECONDS / LEARN_STEP))
    for stretch in sample_runs(meta, size, [keys[i] for i in picks], per_key * LEARN_SECONDS, LEARN_STEP):
        norms = [normalise(cropped(gray, crop), quantile=ROBUST_QUANTILE) for gray in stretch]
        for at in range(0, len(norms), frames):
            live.add_run(norms[at:at + frames + 1])
    return live
