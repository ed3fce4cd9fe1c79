"""The settle state machine: frames in, stable screen states out.

A screen state is what the screen shows while it stands still. The detector compares each frame
with the current *settled* state (not with the previous frame, so a pointer that drifts or a
slow fade cannot creep past the threshold). When a frame differs, a transition starts; the new
state is settled once frames stop changing for `settle` seconds (each frame is compared with the
first frame of the still run, its anchor). A crossfade is therefore one change. If the settled
frame equals the old state again (a pointer swept by, a flash), nothing happened.

The transition time is the midpoint between the last frame of the old state and the first
settled frame of the new one. Frames may come with gaps (keyframes only) where the caller knows
nothing changes. Each finished state is handed to `on_state` at once, so its representative
frame can be written out and dropped: memory stays flat however long the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from ..frames import Packed, Spill
from .analysis import AnalysisFrame
from .cells import ChangeMeter
from .explain import Explanation, pair_measures

SETTLE_SECONDS = 0.4
KEYFRAME_BONUS = 1.05  # an I-frame is the best-compressed picture of a still screen
# A frame known only from the first pass must be decoded again (a seek) to be written out;
# among the near-identical frames of a still slide, one in hand is worth more.
REDECODE_PENALTY = 0.95
FINE_WIDTH = 480
CANDIDATE_EVERY = 0.25  # seconds between frames weighed as a still state's picture (keyframes always)


@dataclass
class ScreenState:
    """One stable screen state; `gray` is its small settled frame (content area)."""

    start: float
    settled: float
    end: float
    gray: np.ndarray | None
    best: AnalysisFrame
    key: int = -1  # set by whoever keeps the state's picture
    packed: Packed | None = None
    fine: Packed | None = None  # see keep_fine

    def small(self) -> np.ndarray:
        """The small settled frame (unpacked if `pack` was called)."""
        return self.gray if self.gray is not None else self.packed.image()

    def keep_fine(self, rgb: np.ndarray, spill: Spill) -> None:
        """Keep the state's picture (RGB, content area) at FINE_WIDTH, packed in `spill`: the
        build test needs colour and more than the analysis size (a line recoloured from black
        to red is invisible in a 320-px grey frame)."""
        h, w = rgb.shape[:2]
        size = (FINE_WIDTH, max(2, round(h * FINE_WIDTH / w)))
        self.fine = spill.put(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))

    def fine_rgb(self) -> np.ndarray | None:
        return self.fine.image() if self.fine is not None else None

    def pack(self, spill: Spill) -> None:
        """Shrink a finished state to what the timeline needs, its pictures packed in `spill`
        (a temporary file) and the decoded frame dropped: memory stays flat however many
        slides a long lecture has."""
        self.packed, self.gray = spill.put(self.small()), None
        self.best = AnalysisFrame(self.best.t, None, None, self.best.is_key)



def _score(frame: AnalysisFrame) -> float:
    bonus = KEYFRAME_BONUS if frame.is_key else 1.0
    return frame.sharpness * bonus * (1.0 if frame.source is not None else REDECODE_PENALTY)


class TransitionDetector:
    """See the module docstring. `finish(end)` returns nothing; states go to `on_state`."""

    def __init__(self, meter: ChangeMeter, on_state: Callable[[ScreenState], None],
                 settle: float = SETTLE_SECONDS, start: float = 0.0,
                 explanation: Explanation | None = None):
        self.meter = meter
        # Whether the screen still moves is judged at the default sensitivity whatever the
        # user's: a more sensitive run then cuts the video into the same still runs and can
        # only find more changes between them, never fewer (--sensitivity is monotonic).
        self.stillness = meter.at_default()
        self.explanation = explanation or Explanation()
        self.start = start  # where the first state starts: 0, or a window's first keyframe
        self.on_state = on_state
        self.settle = settle
        self.current: ScreenState | None = None
        self.current_norm: np.ndarray | None = None
        self.last_still = 0.0  # time of the last frame that still showed the current state
        self.last_weighed = -1.0  # time of the last frame weighed as the state's picture
        self.anchor: AnalysisFrame | None = None  # first frame of a still run during a transition
        self.previous: AnalysisFrame | None = None  # the frame processed last
        self.last_key = float("-inf")  # time of the last keyframe processed

    @property
    def moving(self) -> bool:
        return self.anchor is not None

    def shows_current(self, norm: np.ndarray) -> bool:
        """True if a normalised frame shows the current settled state."""
        return self.current_norm is not None and not self.meter.significant(self.current_norm, norm)

    def process(self, frame: AnalysisFrame) -> None:
        try:
            self._process(frame)
        finally:
            self.previous = frame
            if frame.is_key:
                self.last_key = frame.t

    def _process(self, frame: AnalysisFrame) -> None:
        if self.current is None:
            self._begin(frame, start=self.start)
            return
        if not self.moving:
            if not self.meter.significant(self.current_norm, frame.norm):
                self._still(frame)
                return
            if self._keyframe_redraw(frame):
                return
            self.anchor = frame
            return
        self._moving(frame)

    def _still(self, frame: AnalysisFrame) -> None:
        self.last_still = frame.t
        if not frame.is_key and frame.t - self.last_weighed < CANDIDATE_EVERY:
            return  # neighbouring frames of a still screen are alike: weigh a few, cheaply
        self.last_weighed = frame.t
        if _score(frame) > _score(self.current.best):
            self.current.best = frame

    def _moving(self, frame: AnalysisFrame) -> None:
        if self.stillness.significant(self.anchor.norm, frame.norm):
            # After a gap (a clean GOP is fed by its keyframe alone) the still run began at
            # the frame before the gap if that frame shows this screen already: the screen
            # settled there, not at the end of the gap (a fade that ends inside a dense GOP
            # was timed seconds late, at the middle of the gap).
            previous = self.previous
            gap = previous is not None and previous.t > self.anchor.t and frame.t - previous.t >= self.settle
            if gap and not self.stillness.significant(previous.norm, frame.norm):
                self.anchor = previous
            else:
                self.anchor = frame
                return
        if frame.t - self.anchor.t < self.settle:
            return
        anchor, self.anchor = self.anchor, None
        if not self.meter.significant(self.current_norm, anchor.norm):
            self._reject(anchor, "same screen")
            self._still(frame)  # back to the same screen: nothing happened
            return
        if self.meter.same_but_shifted(self.current_norm, anchor.norm):
            self._reject(anchor, "camera drift")
            self.current_norm = anchor.norm  # the camera drifted: follow it, same screen
            self._still(frame)
            return
        if self.meter.tone_only(self.current_norm, anchor.norm):
            self._reject(anchor, "exposure")
            self.current_norm = anchor.norm  # the camera's exposure stepped: same screen
            self._still(frame)
            return
        start = (self.last_still + anchor.t) / 2.0
        self._end_current(start)
        # The state is pictured by the frame that ends the still run, not the anchor: at the
        # tail of a slow fade the anchor may still hold a faint ghost of the old slide.
        self._begin(frame, start=start)
        self.current.settled = anchor.t
        self.last_still = frame.t

    def _keyframe_redraw(self, frame: AnalysisFrame) -> bool:
        """True (and the state follows the keyframe) if the keyframe differs from the state
        only faintly, under the default threshold, and either the state settled on predicted
        frames since the last keyframe (right before this one) or the difference is within the
        video's keyframe redraw level (ChangeMeter.redrawn): the encoder drew the same slide
        afresh. Predicted frames drift from the picture along a group of pictures, most after a
        fade, and a clean video's lowered threshold (cells.QUIET_FACTOR) saw the keyframe that
        ends the drift as a change (issue #10's fade-then-keyframe clip); a noisy video's
        keyframes draw its noise afresh (cells.REDRAW_FACTOR). Otherwise a state already
        checked against a keyframe is not redrawn: a faint change that falls on a keyframe is
        a change."""
        # The default-threshold test first: it turns down every real change, cheaply.
        if not frame.is_key or self.stillness.significant(self.current_norm, frame.norm):
            return False
        previous = self.previous
        fresh = (previous is not None and not previous.is_key and frame.t - previous.t < self.settle
                 and self.current.settled > self.last_key)
        diff = self.meter.diff(self.current_norm, frame.norm)
        if not fresh and not self.meter.redrawn(diff):
            return False
        self.explanation.add(frame.t, "keyframe redraw", **pair_measures(self.meter, diff))
        if fresh:
            # How much a keyframe redraws this video's still screen (ChangeMeter.redrawn).
            self.meter.learn_redraw([self.meter.redraw_level(self.current_norm, frame.norm, diff)])
        self.current_norm = frame.norm
        self._still(frame)
        return True

    def _reject(self, anchor: AnalysisFrame, rule: str) -> None:
        diff = self.meter.diff(self.current_norm, anchor.norm)
        self.explanation.add((self.last_still + anchor.t) / 2.0, rule, **pair_measures(self.meter, diff))

    def _begin(self, frame: AnalysisFrame, start: float) -> None:
        self.current = ScreenState(start, frame.t, frame.t, frame.gray, frame)
        self.current_norm = frame.norm
        self.last_still = frame.t

    def _end_current(self, end: float) -> None:
        self.current.end = end
        self.on_state(self.current)

    def finish(self, end: float) -> None:
        if self.current is None:
            return
        anchor, self.anchor = self.anchor, None
        if anchor is not None and self.meter.significant(self.current_norm, anchor.norm):
            start = (self.last_still + anchor.t) / 2.0
            if end - anchor.t >= self.settle:
                self._end_current(start)
                self._begin(anchor, start=start)
            else:
                self.explanation.add(start, "too short", shown_seconds=end - anchor.t)
        self._end_current(max(end, self.current.start))
        self.current = None
