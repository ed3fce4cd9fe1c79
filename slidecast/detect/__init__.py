"""Slide detection: a video's first pass in, its slide timeline out. `find_slides` is the entry.

The steps, one module each (PySceneDetect style: one detection idea per module):

- screening.py: from the first pass (packet sizes, small keyframes) find the content area
  (letterbox.py), the live regions (live_regions.py) and which groups of pictures need dense
  decoding (cells.py on keyframe pairs, packets.py on packet sizes).
- second_pass.py: decode what screening marked, feed the frames to the transition detector.
- transitions.py: the settle state machine that turns frames into stable screen states.
- timeline.py: screen states into slides (short states, builds via builds.py, returns).
- explain.py: every candidate change and the rule that decided it (explain.json).
- analysis.py: the frame every step is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

from ..options import ExtractOptions
from ..video import Scan, VideoMeta
from .cells import ChangeMeter
from .explain import Explanation
from .screening import Screening, screen
from .second_pass import PassStats, SecondPass
from .timeline import Slide, build_timeline
from .transitions import ScreenState, TransitionDetector

__all__ = ["ChangeMeter", "Detection", "Explanation", "PictureSink", "ScreenState", "Slide", "find_slides"]


class PictureSink(Protocol):
    """Where each finished screen state goes as soon as it ends (its picture is written then)."""

    def set_crop(self, crop: tuple[int, int, int, int], picture: tuple[int, int, int, int]) -> None:
        """The content area (analysis pixels) that states show, and the part of it a slide's
        picture shows (the slide beside a speaker view's camera tile); told once, before any
        state."""

    def keep(self, state: ScreenState) -> None:
        """A finished state: keep its picture, then `state.pack(spill)` it (maybe on another
        thread)."""

    def finish(self) -> None:
        """Every state handed to `keep` is kept and packed (called before the timeline)."""


@dataclass
class Detection:
    slides: list[Slide]
    plan: Screening
    stats: PassStats
    explanation: Explanation


def find_slides(meta: VideoMeta, first: Scan, options: ExtractOptions, size: tuple[int, int],
                pictures: PictureSink, report: Callable[[float], None] | None = None) -> Detection:
    """Find the slides shown in the stretch `first` covers (the first pass, video.scan).

    Each screen state goes to `pictures` as it ends, in time order; the slides (timeline.Slide:
    start, end, states, same_as) come back with the screening plan, the second pass's counters
    and the explanation of every candidate change. `report(fraction)` is called at least every
    2 s of video; an exception it raises (Cancelled) stops the work.
    """
    explanation = Explanation()
    began = time.perf_counter()
    plan = screen(first, meta, options, size)
    screened = time.perf_counter() - began
    pictures.set_crop(plan.crop, plan.picture or plan.crop)
    states: list[ScreenState] = []

    def keep(state: ScreenState) -> None:
        pictures.keep(state)
        states.append(state)

    detector = TransitionDetector(plan.meter, keep, start=first.start, explanation=explanation)
    stats = SecondPass(meta, first, plan, detector, size, report).run()
    pictures.finish()
    stats.screen_seconds = screened
    slides = build_timeline(states, plan.meter, options.min_slide_duration, options.builds_kept,
                            explanation)
    plan.explain_quiet_pairs(explanation)
    return Detection(slides, plan, stats, explanation)
