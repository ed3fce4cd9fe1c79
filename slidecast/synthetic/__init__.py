"""Deterministic synthetic lecture videos with ground truth, for tests and the benchmark.

    spec = LectureSpec(slides=[SlideSpec(1, 6.0), SlideSpec(2, 5.0, transition="fade")])
    truth = render_lecture(spec, "lecture.mp4")      # also writes lecture.mp4.truth.json
    truth = make_clip("webcam", "webcam.mp4")         # one small clip per difficulty

The same spec always gives the same pixels and the same truth. Times in the truth are seconds:
a slide change is at the boundary between two SlideSpecs (a fade's midpoint); a build step at
start + k * duration / builds; each time is that of the first frame showing the new state. Run `python -m slidecast.synthetic NAME OUT.mp4` for one clip
(NAME in CLIP_NAMES, or "sample" for a 45 s demo lecture).
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from . import effects as fx
from . import slides as art

CLIP_NAMES = ("cuts", "crossfade", "builds", "webcam", "pointer", "noise", "flicker", "short",
              "return", "letterbox", "camera")


@dataclass
class SlideSpec:
    """One appearance of slide `slide_id` for `duration` seconds.

    `transition` is how this slide enters ("cut" or "fade" over `fade` seconds centred on its
    start). `builds` steps split the duration evenly; each step adds bullets, removes nothing.
    """

    slide_id: int
    duration: float
    builds: int = 1
    transition: str = "cut"
    fade: float = 0.8


@dataclass
class LectureSpec:
    slides: list[SlideSpec]
    width: int = 640
    height: int = 360
    fps: float = 25.0
    gop_seconds: float = 2.0
    seed: int = 0
    webcam: bool = False
    pointer: bool = False
    noise: float = 0.0
    flicker: float = 0.0
    letterbox: bool = False
    camera: bool = False
    title: str = "Synthetic lecture"
    # x264 speed/quality; "veryfast"/crf 23 is what streaming uploads look like.
    preset: str = "veryfast"
    crf: int = 23


@dataclass
class _Timeline:
    starts: list[float]
    ends: list[float]
    slides: list[SlideSpec] = field(default_factory=list)

    def index_at(self, t: float) -> int:
        return max(0, min(len(self.starts) - 1, bisect.bisect_right(self.starts, t + 1e-6) - 1))

    def step_at(self, k: int, t: float) -> int:
        spec = self.slides[k]
        local = min(max(t - self.starts[k], 0.0), spec.duration - 1e-9)
        return min(spec.builds - 1, int(local * spec.builds / spec.duration + 1e-6))


def _timeline(spec: LectureSpec) -> _Timeline:
    _validate(spec)
    starts, t = [], 0.0
    for slide in spec.slides:
        starts.append(t)
        t += slide.duration
    return _Timeline(starts, starts[1:] + [t], list(spec.slides))


def _validate(spec: LectureSpec) -> None:
    if not spec.slides:
        raise ValueError("a lecture needs at least one slide")
    if spec.width % 2 or spec.height % 2:
        raise ValueError("width and height must be even (yuv420p)")
    for prev, cur in zip(spec.slides, spec.slides[1:]):
        if prev.slide_id == cur.slide_id:
            raise ValueError(f"slide {cur.slide_id} follows itself: merge the two SlideSpecs")
        if cur.transition == "fade" and cur.fade > min(prev.duration, cur.duration):
            raise ValueError(f"fade into slide {cur.slide_id} is longer than a neighbour slide")
    for slide in spec.slides:
        if slide.transition not in ("cut", "fade"):
            raise ValueError(f"unknown transition {slide.transition!r}")
        if slide.builds < 1 or slide.duration <= 0:
            raise ValueError(f"slide {slide.slide_id}: builds >= 1 and duration > 0 required")


def ground_truth(spec: LectureSpec) -> dict:
    """The truth dict for `spec` (see module doc); slide texts need the renderer, so they
    are filled by render_lecture."""
    line = _timeline(spec)
    frames = _frame_count(spec)
    first_seen: dict[int, int] = {}

    def snap(t: float) -> float:  # the time of the first frame that shows the new state
        return round(min(math.ceil(t * spec.fps - 1e-6), frames) / spec.fps, 3)

    appearances, transitions, builds = [], [], []
    for k, slide in enumerate(spec.slides):
        start, end = line.starts[k], line.ends[k]
        appearances.append({"start": snap(start), "end": snap(end), "slide_id": slide.slide_id,
                            "same_as_appearance": first_seen.get(slide.slide_id)})
        first_seen.setdefault(slide.slide_id, k + 1)
        if k:
            transitions.append(snap(start))
        builds += [snap(start + j * slide.duration / slide.builds) for j in range(1, slide.builds)]
    return {"duration": round(frames / spec.fps, 3), "fps": spec.fps, "width": spec.width,
            "height": spec.height, "appearances": appearances, "transitions": transitions,
            "build_transitions": builds, "slides": {}, "title": spec.title,
            "spec": dataclasses.asdict(spec)}


def _frame_count(spec: LectureSpec) -> int:
    return int(round(sum(s.duration for s in spec.slides) * spec.fps))


class _Renderer:
    """Composes frame i of a lecture from cached slide states and the per-frame effects."""

    def __init__(self, spec: LectureSpec):
        self.spec = spec
        self.line = _timeline(spec)
        self.style = art.deck_style(spec.seed)
        self.contents: dict[int, art.SlideContent] = {}
        self.states: dict[tuple[int, int, int], np.ndarray] = {}
        self.texts: dict[int, tuple[str, list[str]]] = {}
        w, h, seed = spec.width, spec.height, spec.seed
        self.webcam = fx.Webcam(w, h, seed) if spec.webcam else None
        self.pointer = fx.Pointer(w, h, seed) if spec.pointer else None
        self.camera = fx.Camera(w, h, seed) if spec.camera else None
        sigma = max(spec.noise, 2.0) if spec.camera else spec.noise
        self.noise = fx.NoiseBank(w, h, sigma, seed) if sigma > 0 else None

    def content(self, slide_id: int) -> art.SlideContent:
        if slide_id not in self.contents:
            self.contents[slide_id] = art.slide_content(self.spec.seed, slide_id, self.style)
        return self.contents[slide_id]

    def state(self, k: int, step: int) -> np.ndarray:
        """The full frame (letterbox included) of slide spec k at build step `step`."""
        slide = self.line.slides[k]
        key = (slide.slide_id, step, slide.builds)
        if key not in self.states:
            content = self.content(slide.slide_id)
            image, texts = art.render_slide(content, self.style, self._content_size(), step, slide.builds)
            image = self._place(image)
            # A filmed screen is out of focus: blur the cached state once, not every frame.
            self.states[key] = self.camera.soften(image) if self.camera else image
            if step == slide.builds - 1:
                self.texts[slide.slide_id] = (content.title, texts)
        return self.states[key]

    def _content_size(self) -> tuple[int, int]:
        w, h = self.spec.width, self.spec.height
        if not self.spec.letterbox:
            return w, h
        if w / h > 1.5:  # wide frame: 4:3 content with bars left and right
            return int(h * 4 / 3) // 2 * 2, h
        return w, int(w * 9 / 16) // 2 * 2  # tall frame: 16:9 content with bars top and bottom

    def _place(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        if (w, h) == (self.spec.width, self.spec.height):
            return image
        frame = np.zeros((self.spec.height, self.spec.width, 3), np.uint8)
        y, x = (self.spec.height - h) // 2, (self.spec.width - w) // 2
        frame[y:y + h, x:x + w] = image
        return frame

    def base(self, t: float) -> np.ndarray:
        """The slide picture at time t, crossfaded when t lies inside a fade window."""
        line = self.line
        k = line.index_at(t)
        here = self.state(k, line.step_at(k, t))
        nxt = k + 1 if k + 1 < len(line.slides) else None
        if nxt is not None and line.slides[nxt].transition == "fade":
            half = line.slides[nxt].fade / 2
            if t >= line.ends[k] - half:
                alpha = (t - (line.ends[k] - half)) / (2 * half)
                return cv2.addWeighted(here, 1 - alpha, self.state(nxt, 0), alpha, 0)
        if k > 0 and line.slides[k].transition == "fade":
            half = line.slides[k].fade / 2
            if t < line.starts[k] + half:
                alpha = (t - (line.starts[k] - half)) / (2 * half)
                prev = self.state(k - 1, line.slides[k - 1].builds - 1)
                return cv2.addWeighted(prev, 1 - alpha, here, alpha, 0)
        return here

    def frame(self, i: int) -> np.ndarray:
        t = i / self.spec.fps
        image = self.base(t)
        if self.webcam or self.pointer:
            image = image.copy()
            if self.webcam:
                self.webcam.draw(image, t, soft=self.camera is not None)
            if self.pointer:
                self.pointer.draw(image, t)
        if self.camera:
            image = self.camera.apply(image, t)
        if self.spec.flicker:
            image = cv2.convertScaleAbs(image, alpha=fx.flicker_gain(t, self.spec.flicker))
        if self.noise:
            image = self.noise.apply(image, i)
        return image

    def slide_texts(self) -> dict[str, dict]:
        for k, slide in enumerate(self.line.slides):  # make sure every fullest state is drawn
            self.state(k, slide.builds - 1)
        return {str(sid): {"title": title, "text": "\n".join(lines)}
                for sid, (title, lines) in sorted(self.texts.items())}


def encode_frames(path, encoding, frame_at, total: int, progress=None) -> None:
    """Encode `frame_at(i)` (RGB uint8) for i in range(total) as H.264 into `path`, with the
    fps, size, GOP and quality of `encoding` (a LectureSpec or anything with those fields)."""
    with av.open(str(path), "w") as container:
        stream = _video_stream(container, encoding)
        for i in range(total):
            # cv2's BT.601 limited-range I420 equals swscale's default and is 5x faster.
            yuv = cv2.cvtColor(frame_at(i), cv2.COLOR_RGB2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
            if progress and (i % 250 == 0 or i == total - 1):
                progress(i + 1, total)
        container.mux(stream.encode(None))


def render_lecture(spec: LectureSpec, path, progress=None) -> dict:
    """Write `spec` as an H.264 MP4 (yuv420p, keyframe exactly every gop_seconds, no scene-cut
    keyframes) and return its ground truth, also written to `path` + ".truth.json".

    `progress(done_frames, total_frames)` is called now and then when given.
    """
    truth = ground_truth(spec)
    renderer = _Renderer(spec)
    total = _frame_count(spec)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encode_frames(path, spec, renderer.frame, total, progress)
    truth["slides"] = renderer.slide_texts()
    Path(str(path) + ".truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def _video_stream(container, spec: LectureSpec):
    rate = Fraction(spec.fps).limit_denominator(1001)
    gop = max(1, int(round(spec.gop_seconds * spec.fps)))
    stream = container.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
    stream.time_base = 1 / rate
    stream.codec_context.gop_size = gop
    stream.options = {"preset": spec.preset, "crf": str(spec.crf), "sc_threshold": "0",
                      "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
    return stream


def _clip_slides(name: str) -> tuple[list[SlideSpec], dict]:
    """Slides and LectureSpec flags of one named test clip (640x360, 20-40 s)."""
    cut = [SlideSpec(1, 6.0), SlideSpec(2, 5.0), SlideSpec(3, 7.0), SlideSpec(4, 6.0), SlideSpec(5, 6.0)]
    table = {
        "cuts": (cut, {}),
        "crossfade": ([SlideSpec(1, 6.0), SlideSpec(2, 6.0, transition="fade", fade=1.0),
                       SlideSpec(3, 7.0, transition="fade"), SlideSpec(4, 5.0),
                       SlideSpec(5, 6.0, transition="fade", fade=1.2)], {}),
        "builds": ([SlideSpec(1, 5.0), SlideSpec(2, 8.0, builds=3), SlideSpec(3, 6.0),
                    SlideSpec(4, 8.0, builds=4), SlideSpec(5, 5.0)], {}),
        "webcam": (cut, {"webcam": True}),
        "pointer": (cut, {"pointer": True}),
        "noise": (cut, {"noise": 4.0}),
        "flicker": (cut, {"flicker": 0.06}),
        "short": ([SlideSpec(1, 6.0), SlideSpec(2, 2.0), SlideSpec(3, 5.0), SlideSpec(4, 2.0),
                   SlideSpec(5, 2.0), SlideSpec(6, 6.0), SlideSpec(7, 5.0)], {}),
        "return": ([SlideSpec(1, 5.0), SlideSpec(2, 5.0), SlideSpec(3, 6.0), SlideSpec(2, 4.0),
                    SlideSpec(4, 5.0), SlideSpec(1, 5.0)], {}),
        "letterbox": (cut, {"letterbox": True}),
        "camera": (cut, {"camera": True}),
    }
    if name not in table:
        raise ValueError(f"unknown clip {name!r}; choose one of {', '.join(CLIP_NAMES)}")
    return table[name]


def clip_spec(name: str, **overrides) -> LectureSpec:
    """The LectureSpec of a named clip; `overrides` replace LectureSpec fields."""
    slides, flags = _clip_slides(name)
    spec = LectureSpec(slides=[dataclasses.replace(s) for s in slides], seed=CLIP_NAMES.index(name),
                       title=f"Test clip: {name}", **flags)
    return dataclasses.replace(spec, **overrides)


def make_clip(name: str, path, **overrides) -> dict:
    """Render the small named test clip (one difficulty each, see CLIP_NAMES); returns truth."""
    return render_lecture(clip_spec(name, **overrides), path)


def make_sample_lecture(path, seconds: float = 45) -> dict:
    """A short 640x360 demo lecture: cuts, one fade and one build; returns its truth."""
    count = max(3, int(seconds // 7))
    each = round(seconds / count * 5) / 5  # whole frames at 25 and 30 fps
    slides = [SlideSpec(i + 1, each) for i in range(count - 1)]
    slides.append(SlideSpec(count, round(seconds - each * (count - 1), 2)))
    slides[1].transition, slides[2].builds = "fade", 3
    spec = LectureSpec(slides=slides, seed=100, title="Sample lecture")
    return render_lecture(spec, path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(f"usage: python -m slidecast.synthetic NAME OUT.mp4   (NAME: sample, {', '.join(CLIP_NAMES)})",
              file=sys.stderr)
        return 2
    name, out = argv
    truth = make_sample_lecture(out) if name == "sample" else make_clip(name, out)
    print(f"{out}: {truth['duration']} s, {len(truth['appearances'])} slides, "
          f"transitions at {truth['transitions']}")
    return 0

