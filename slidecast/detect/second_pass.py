"""The second pass: feed the detector every frame that can tell something, in time order.

Clean GOPs (screening.py) contribute their keyframe from the first pass; dirty GOPs are decoded
frame by frame, and within a dirty GOP decoding stops early once the screen has settled into the
state the next keyframe shows and no packet spike remains later in that GOP. The pass covers
what the first pass covered (the whole video or a window of it), and nothing else.

Dense stretches are decoded on a second thread (_DecodeAhead), a few frames ahead of the
detector, which shrinks the frames it expects the detector to look at; the detector works on
the main thread. Both threads spend most of their time in FFmpeg and OpenCV, which release the
GIL, so the two cores of a small machine share the work. Which frames the detector sees does not
depend on how far ahead the decoder runs: once it has decided that nothing changes before the
next keyframe, it ignores every frame before that keyframe, including those decoded meanwhile.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..frames import small_gray
from ..video import DenseDecoder, GopGate, Scan, VideoMeta, check_damage
from .analysis import AnalysisFrame
from .screening import Screening, cropped
from .transitions import TransitionDetector

STILL_STEP = 0.12  # seconds between analysed frames while the screen stands still
REPORT_EVERY = 2.0  # seconds of video between progress reports (each one may cancel)
AHEAD_FRAMES = 8  # shrunk frames waiting for the detector at most (~1.4 MB each at 720p)
DECODED_FRAMES = 2  # decoded frames waiting to be shrunk at most


@dataclass
class PassStats:
    screen_seconds: float = 0.0
    decode_seconds: float = 0.0
    detect_seconds: float = 0.0
    frames_decoded: int = 0
    dirty_gops: int = 0


class SecondPass:
    """Runs `detector` over the video as planned by `screening`; see the module docstring."""

    def __init__(self, meta: VideoMeta, scan: Scan, screening: Screening, detector: TransitionDetector,
                 size: tuple[int, int], report=None):
        self.meta, self.scan, self.screening = meta, scan, screening
        self.detector, self.size = detector, size
        self.report = report or (lambda fraction: None)
        self.stats = PassStats(dirty_gops=sum(g.dirty for g in screening.gops))
        self._key_norms: dict[int, np.ndarray] = {}
        self._analysed = -1.0  # time of the last densely decoded frame that was analysed
        self._ahead_t = -1.0  # the decoding thread's guess of the same (see _prepare_ahead)
        self._gate = GopGate()  # the dense stretch's gate (the decoding thread reads it too)
        self._next_shown: tuple | None = None  # see _shows_key
        self._reported = -REPORT_EVERY

    def run(self) -> PassStats:
        decoder = DenseDecoder(self.meta)
        try:
            gops, i = self.screening.gops, 0
            while i < len(gops):
                if not gops[i].dirty:
                    self._feed(self._keyframe(i))
                    self._progress(gops[i].end)
                    i += 1
                    continue
                j = i
                while j + 1 < len(gops) and gops[j + 1].dirty:
                    j += 1
                self._dense(decoder, gops[i].start, gops[j].end)
                i = j + 1
            self.detector.finish(self.scan.end)
        finally:
            decoder.close()
        self.stats.frames_decoded = decoder.decoded
        check_damage(decoder.bad_times, decoder.decoded, self.scan.video_end, self.meta.path)
        return self.stats

    def _dense(self, decoder: DenseDecoder, start: float, end: float) -> None:
        gate = self._gate = GopGate()
        self._ahead_t = -1.0
        ahead = _DecodeAhead(decoder.run(start, end, gate), self._prepare_ahead)
        try:
            while True:
                began = time.perf_counter()
                item = ahead.get()
                self.stats.decode_seconds += time.perf_counter() - began
                if item is None:
                    return
                t, frame, prepared = item
                self._progress(t)
                if not frame.key_frame and self._before_gate(t):
                    continue  # decoded before the decoder heard that nothing changes until the keyframe
                if not self.detector.moving and not frame.key_frame and t - self._analysed < STILL_STEP:
                    continue  # a still screen is checked every STILL_STEP only: a change is caught
                    # at most that late, and its time is still known to half of it
                self._analysed = t
                self._feed(prepared or self._analysis_frame(t, frame, frame.key_frame))
                if t >= gate.skip_until:
                    gate.skip_until = self._skip_until(t)
        finally:
            ahead.stop()

    def _before_gate(self, t: float) -> bool:
        """True for a frame before the point from which nothing changes until the next keyframe
        (by more than half a frame: times are rounded)."""
        return t < self._gate.skip_until - 0.5 / max(self.meta.fps, 1.0)

    def _prepare_ahead(self, t: float, frame) -> AnalysisFrame | None:
        """On the decoding thread: the analysis frame of a frame the detector will probably
        look at (a guess from its state a few frames behind; a wrong guess costs a shrink on
        one thread or the other, never a different answer, since both make the same frame)."""
        if frame.key_frame:
            return self._analysis_frame(t, frame, True)
        if self._before_gate(t):
            return None
        if not self.detector.moving and t - max(self._analysed, self._ahead_t) < STILL_STEP:
            return None
        self._ahead_t = t
        return self._analysis_frame(t, frame, False)

    def _progress(self, t: float) -> None:
        if t - self._reported >= REPORT_EVERY:
            self._reported = t
            span = max(self.scan.end - self.scan.start, 1e-6)
            self.report(min(1.0, (t - self.scan.start) / span))

    def _skip_until(self, t: float) -> float:
        """The next keyframe's time if nothing more can change before it, else 0."""
        gop = self.screening.gop_at(t)
        if gop.index + 1 >= len(self.screening.gops) or self.detector.moving:
            return 0.0
        if (gop.spikes > t).any():
            return 0.0
        return gop.end if self._shows_key(gop.index + 1) else 0.0

    def _shows_key(self, index: int) -> bool:
        """Whether the detector's settled state shows keyframe `index`. Asked for every analysed
        frame of a still screen, but the answer only changes with the settled state (a new
        array each time it changes), so it is worked out once per state and keyframe."""
        state = self.detector.current_norm
        cached = self._next_shown
        if cached is None or cached[0] != index or cached[1] is not state:
            self._next_shown = cached = (index, state, self.detector.shows_current(self._key_norm(index)))
        return cached[2]

    def _feed(self, frame: AnalysisFrame) -> None:
        began = time.perf_counter()
        self.detector.process(frame)
        self.stats.detect_seconds += time.perf_counter() - began

    def _analysis_frame(self, t: float, frame, is_key: bool) -> AnalysisFrame:
        gray = small_gray(frame, self.size, self.screening.crop)
        return AnalysisFrame(t, gray, self.screening.meter.normalise(gray), bool(is_key), frame)

    def _keyframe(self, index: int) -> AnalysisFrame:
        key = self.scan.keyframes[index]
        gray = cropped(key.gray(), self.screening.crop)
        return AnalysisFrame(key.t, gray, self._key_norm(index), True, None)

    def _key_norm(self, index: int) -> np.ndarray:
        if index not in self._key_norms:
            self._key_norms.clear()  # only the next keyframe is ever asked for again: stay small
            gray = cropped(self.scan.keyframes[index].gray(), self.screening.crop)
            self._key_norms[index] = self.screening.meter.normalise(gray)
        return self._key_norms[index]


class _DecodeAhead:
    """Runs a DenseDecoder.run generator on its own thread and `prepare` on each frame it
    yields on another, at most AHEAD_FRAMES ahead of the consumer; each item is (t, frame,
    prepare(t, frame)), then None at the end. An error on either thread is raised by `get`.

    Decoding and shrinking on threads of their own, beside the detector on the caller's: the
    thread that hands packets to FFmpeg's frame threads no longer stops while a frame is shrunk
    (docs/benchmarks.md, engine-speed)."""

    def __init__(self, frames, prepare):
        self.frames, self.prepare = frames, prepare
        self.decoded: queue.Queue = queue.Queue(DECODED_FRAMES)
        self.items: queue.Queue = queue.Queue(AHEAD_FRAMES)
        self.stopping = False
        self.threads = [threading.Thread(target=self._decode, name="slidecast-decode", daemon=True),
                        threading.Thread(target=self._prepare, name="slidecast-shrink", daemon=True)]
        for thread in self.threads:
            thread.start()

    def _decode(self) -> None:
        try:
            for t, frame in self.frames:
                if self.stopping:
                    return
                self.decoded.put((t, frame))
            self.decoded.put(None)
        except BaseException as exc:  # handed on to the consumer, raised there
            self.decoded.put(exc)

    def _prepare(self) -> None:
        while True:
            try:
                item = self.decoded.get(timeout=0.05)
            except queue.Empty:
                if self.stopping:
                    return
                continue
            if item is None or isinstance(item, BaseException):
                self.items.put(item)
                return
            t, frame = item
            try:
                prepared = self.prepare(t, frame)
            except BaseException as exc:
                self.items.put(exc)
                return
            self.items.put((t, frame, prepared))

    def get(self):
        item = self.items.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        """Stop early (the consumer failed or was cancelled) or after the end: drain and join."""
        self.stopping = True
        while any(thread.is_alive() for thread in self.threads):
            for waiting in (self.decoded, self.items):
                try:
                    while True:
                        waiting.get_nowait()
                except queue.Empty:
                    pass
            for thread in self.threads:
                thread.join(timeout=0.01)
