"""From screen states to the slide timeline: short states, builds and returns.

- A state shown for less than `min_slide_duration` is part of a transition: it is dropped and
  the following state starts where it started (a state at the very end extends the one before).
  Two neighbours that then show the same screen become one.
- A state the return judge (returns.py) finds to show the slide before it (a keyframe's encoder
  noise drawn afresh, an exposure step) joins that slide; not on a filmed screen.
- Builds (content added, nothing removed; detect.builds) are one slide by default, shown by its
  fullest (last) state; with `keep_builds` every step is a slide of its own.
- A slide equal to an earlier distinct slide gets `same_as` = that slide's first appearance
  (1-based index on the timeline; returns.py). Each appearance keeps its own picture.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from .builds import aligned, is_build
from .cells import ChangeMeter
from .explain import Explanation, pair_measures
from .returns import ReturnJudge, Shown
from .transitions import ScreenState


# A state that moves on from the one before in the direction of that one's own change (cosine
# of the two pixel differences at least TAIL_ALIGNED) ends that change: the two halves of a
# slow crossfade split where it crept under the threshold measure 0.97, a slide after a slide
# -0.2 to -0.6 (what the one added, the next takes away), a build step after a build step ~0.
TAIL_ALIGNED = 0.6
# ... if the state before was shown for less than TAIL_SECONDS (the rest of a fade, not a slide:
# a portrait deck's pages 3, 5 and 1 line up as well, each shown for 4 s).
TAIL_SECONDS = 1.8


@dataclass
class Slide:
    start: float
    end: float
    states: list[ScreenState] = field(default_factory=list)
    same_as: int | None = None
    # A build step of the slide before, a slide of its own only because builds are kept
    # (with a deck, which may join it back when no page tells the two apart).
    build_step: bool = False

    @property
    def shown(self) -> ScreenState:
        """The state that represents the slide: its fullest build."""
        return self.states[-1]


def build_timeline(states: list[ScreenState], meter: ChangeMeter, min_duration: float,
                   keep_builds: bool, explanation: Explanation | None = None) -> list[Slide]:
    """Turn detected states (in time order) into slides; see the module docstring. Each state
    after the first is entered in `explanation` with the rule that decided it."""
    explanation = explanation or Explanation()
    normalised = _Normalised(meter)
    kept = _drop_short(states, min_duration, meter, explanation, normalised)
    slides: list[Slide] = []
    same_slide_judge = ReturnJudge(meter, colour_decides=not meter.filmed)
    for state in kept:
        last = slides[-1] if slides else None
        if last is None:
            slides.append(Slide(state.start, state.end, [state]))
            continue
        old, new = normalised(last.shown), normalised(state)
        new_aligned = aligned(old, new, meter)
        if not meter.content(meter.diff(old, new_aligned)).any():
            # Nothing new once the camera's drift and levels are undone: a filmed screen that
            # moved, the same slide (dev focus-projector at 37.9 s).
            explanation.add(state.start, "camera drift", **pair_measures(meter, meter.diff(old, new)))
            last.states.append(state)
            last.end = state.end
            continue
        if not meter.filmed_early and same_slide_judge.judge(Shown(old, last.shown.fine_rgb),
                                                             Shown(new, state.fine_rgb)).same:
            # The slide before, drawn again: what the return judge calls one slide when it comes
            # back minutes later is one slide when it follows itself too. A keyframe draws a
            # clean page afresh, faintly different in cells all over it (wipe-push seed 10: 75
            # cells at 0.035 along the page's edges, over a clean video's lowered threshold, no
            # pixel changed colour), and the slide came out twice, the second a "return" of the
            # first. Not on a filmed screen (the drift test above does this there): small text
            # through a soft lens changes no pixel by the judge's colour step, and a new A4
            # page after a fade was taken for the one before (projector seed 17 at 30.2). As
            # for returns, the colour check decides also where grey cells pass the old base:
            # a gain step that clips the paper moves small text's cells by up to 2-3 times it
            # and no pixel's colour beyond the step (realism noise seeds 1 and 20).
            explanation.add(state.start, "same slide", **pair_measures(meter, meter.diff(old, new)))
            last.states.append(state)
            last.end = state.end
            continue
        build = is_build(old, new, meter, functools.partial(_fine_pair, last.shown, state), new_aligned)
        rule = "slide change" if not build else "build kept" if keep_builds else "build"
        explanation.add(state.start, rule, **pair_measures(meter, meter.diff(old, new)))
        if build and not keep_builds:
            last.states.append(state)
            last.end = state.end
        else:
            slides.append(Slide(state.start, state.end, [state], build_step=build))
    # A slide shown again in a noisy unfilmed video can pass even the old base (realism noise
    # seeds 21 and 40: 70 and 333 cells, up to 0.12 and 0.10 against 0.08; seed 31 too) where
    # its colour pictures, mapped to one exposure, differ in 0-4 pixels: the colour check
    # decides there. Not on a filmed screen, whose soft small text moves too few pixels in
    # colour to tell two pages apart (as for the same-slide rule above).
    ReturnJudge(meter, colour_decides=not meter.filmed).mark(slides, explanation)
    return slides


def _fine_pair(old: ScreenState, new: ScreenState) -> tuple[np.ndarray, np.ndarray] | None:
    """The two states' colour pictures (ScreenState.keep_fine), or None if one has none."""
    fine = (old.fine_rgb(), new.fine_rgb())
    return fine if fine[0] is not None and fine[1] is not None else None


class _Normalised:
    """Each state's small picture, normalised (ChangeMeter.normalise), made once while it is
    in hand: the timeline compares every state with the one before it (twice: short states,
    then builds) and a fade's tail with the two before it, and unpacked and normalised both
    pictures of every pair again. The last KEEP states' pictures are kept (230 KB each at
    320 px), not all: memory stays flat however many states a lecture has."""

    KEEP = 4

    def __init__(self, meter: ChangeMeter):
        self.meter = meter
        self.kept: OrderedDict[int, tuple[ScreenState, np.ndarray]] = OrderedDict()

    def __call__(self, state: ScreenState) -> np.ndarray:
        hit = self.kept.get(id(state))
        if hit is not None and hit[0] is state:
            self.kept.move_to_end(id(state))
            return hit[1]
        norm = self.meter.normalise(state.small())
        norm.flags.writeable = False  # shared by the comparisons that follow: none may change it
        self.kept[id(state)] = (state, norm)
        if len(self.kept) > self.KEEP:
            self.kept.popitem(last=False)
        return norm


def _drop_short(states: list[ScreenState], min_duration: float, meter: ChangeMeter,
                explanation: Explanation, normalised: _Normalised | None = None) -> list[ScreenState]:
    normalised = normalised or _Normalised(meter)
    kept: list[ScreenState] = []
    pending_start = None
    for i, state in enumerate(states):
        if pending_start is not None:
            state.start = pending_start
            pending_start = None
        shown = state.end - state.start
        short = shown < min_duration
        if short and (i + 1 < len(states) or kept):
            explanation.add(state.start, "too short", shown_seconds=shown)
        if short and i + 1 < len(states):
            pending_start = state.start
            continue
        if short and kept:
            kept[-1].end = state.end
            continue
        if kept and not meter.significant(normalised(kept[-1]), normalised(state)):
            explanation.add(state.start, "same screen")
            kept[-1].end = state.end  # the screen came back after a flash: one state
            continue
        halfway = len(kept) >= 2 and kept[-1].end - kept[-1].start < TAIL_SECONDS
        if halfway and _continues(kept[-2], kept[-1], state, meter, normalised):
            explanation.add(state.start, "fade tail")
            state.start = kept[-1].start  # one change: pictured by its last, cleanest state
            kept[-1] = state
            continue
        kept.append(state)
    return kept


def _continues(a: ScreenState, b: ScreenState, c: ScreenState, meter: ChangeMeter,
               normalised: _Normalised) -> bool:
    """True if going from b to c finishes the change from a to b: a step the same way, pixel by
    pixel (a crossfade that crept under the threshold, settled halfway and went on). A new
    slide, a build step (ink elsewhere) or going back point another way."""
    na, nb, nc = (normalised(s) for s in (a, b, c))
    keep = meter.free_pixels(nb.shape)
    step, before = (nc - nb)[keep], (nb - na)[keep]
    size, done = float(np.linalg.norm(step)), float(np.linalg.norm(before))
    if size == 0.0 or done == 0.0:
        return False
    return float(step @ before) / (size * done) >= TAIL_ALIGNED
