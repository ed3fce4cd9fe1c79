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

from .detect.cells import ChangeMeter
from .detect.letterbox import LetterboxDetector
from .detect.live_regions import LiveRegionDetector, regions_mask
from .detect.packets import find_spikes
from .frames import ROBUST_QUANTILE, decode_small, normalise
from .options import ExtractOptions
from .video import Scan, VideoMeta, sample_start

# Live regions are also learnt from frames this far apart in the first seconds of the video:
# with long GOPs or a short clip there are too few keyframe pairs to tell a webcam from slides.
LEARN_SECONDS = 8.0
LEARN_STEP = 0.4
ENOUGH_QUIET_PAIRS = 20  # keyframe pairs alone suffice beyond this (a long video)

# Dirty test on keyframe pairs is more sensitive than the slide test: a false "dirty" costs
# decoding time, a false "clean" costs a slide.
DIRTY_SCALE = 0.7


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

    def __post_init__(self):
        self._starts = [g.start for g in self.gops]

    def gop_at(self, t: float) -> Gop:
        """The GOP that shows time `t`."""
        return self.gops[max(0, bisect.bisect_right(self._starts, t) - 1)]


def cropped(gray: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = crop
    return gray[y0:y1, x0:x1]


def screen(scan: Scan, meta: VideoMeta, options: ExtractOptions, size: tuple[int, int]) -> Screening:
    """Plan the second pass; see the module docstring."""
    letterbox = LetterboxDetector()
    for key in scan.keyframes:
        letterbox.add(decode_small(key.small))
    crop = letterbox.crop()
    meter = ChangeMeter(options.sensitivity)
    live = LiveRegionDetector(meter)
    for key in scan.keyframes:
        live.add(normalise(cropped(decode_small(key.small), crop), quantile=ROBUST_QUANTILE))
    if live.quiet_pairs < ENOUGH_QUIET_PAIRS:
        _learn_from_start(live, meta, crop, size)
    meter.set_mask(live.mask() | regions_mask(options.ignore_regions, meter.grid))
    diffs, previous = [], None
    for key in scan.keyframes:
        norm = meter.normalise(cropped(decode_small(key.small), crop))
        if previous is not None:
            diffs.append(meter.diff(previous, norm))
        previous = norm
    is_key = np.isin(scan.packet_t, [k.t for k in scan.keyframes])
    spikes = find_spikes(scan.packet_t, scan.packet_size, is_key, meta.fps, meta.width * meta.height,
                         options.sensitivity)
    gops = []
    for i, key in enumerate(scan.keyframes):
        end = scan.keyframes[i + 1].t if i + 1 < len(scan.keyframes) else scan.end
        inside = spikes[(spikes > key.t) & (spikes < end)]
        last = i + 1 == len(scan.keyframes)
        differs = not last and meter.content_cells(meter.changed_cells(diffs[i], DIRTY_SCALE)).any()
        gops.append(Gop(i, key.t, end, bool(last or differs or inside.size), inside))
    return Screening(crop, meter, gops)


def _learn_from_start(live: LiveRegionDetector, meta: VideoMeta, crop, size) -> None:
    live.previous = None
    for gray in sample_start(meta, size, LEARN_SECONDS, LEARN_STEP):
        live.add(normalise(cropped(gray, crop), quantile=ROBUST_QUANTILE))
