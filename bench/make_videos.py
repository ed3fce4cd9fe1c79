"""Generate the benchmark videos (deterministic) into bench/videos/ with their ground truth.

    python bench/make_videos.py                 # the default set: one per difficulty, lecture, long20
    python bench/make_videos.py --only long20   # just some of them
    python bench/make_videos.py --only long120  # the 2-hour video for the memory check (on request)

A video whose file and truth already match its recipe is not rendered again (--force does).
Each video is `NAME.mp4` plus `NAME.mp4.truth.json` (format: slidecast/synthetic/).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from slidecast.synthetic import LectureSpec, SlideSpec, render_lecture  # noqa: E402

VIDEO_DIR = Path(__file__).resolve().parent / "videos"

# name: (seconds, LectureSpec flags, timeline knobs). Difficulty videos are 1280x720 @ 25 fps
# with a keyframe every 2 s; long20/long120 are encoded as streaming sites do (30 fps, 10 s GOP).
HD = {"width": 1280, "height": 720}
STREAMING = {**HD, "fps": 30.0, "gop_seconds": 10.0}
RECIPES = {
    "cuts": (180, {}, {}),
    "crossfade": (180, {}, {"fade_share": 1.0}),
    "builds": (180, {}, {"build_share": 0.6}),
    "webcam": (180, {"webcam": True}, {}),
    "pointer": (180, {"pointer": True}, {}),
    "noise": (180, {"noise": 5.0}, {}),
    "flicker": (180, {"flicker": 0.06}, {}),
    "short": (180, {}, {"shorts": 8, "typical": 15}),
    "return": (180, {}, {"returns": 3}),
    "pillarbox": (180, {"letterbox": True}, {}),
    "letterbox": (180, {"letterbox": True, "width": 960, "height": 720}, {}),
    "camera": (180, {"camera": True}, {}),
    # A screen recording with every overlay at once; camera/letterbox are left out because a
    # filmed projector does not carry a picture-in-picture webcam.
    "lecture": (240, {"webcam": True, "pointer": True, "noise": 3.0, "flicker": 0.03},
                {"fade_share": 0.4, "build_share": 0.3, "returns": 2, "shorts": 3}),
    "long20": (1200, {**STREAMING, "webcam": True, "noise": 3.0},
               {"fade_share": 0.3, "build_share": 0.25, "returns": 2, "shorts": 3, "typical": 32}),
    # Only for the memory check: x264 "ultrafast" (no B-frames) and no sensor noise, so that it
    # renders in well under an hour on two cores; slides, webcam, fades and builds as in long20.
    "long120": (7200, {**STREAMING, "webcam": True, "preset": "ultrafast"},
                {"fade_share": 0.3, "build_share": 0.25, "returns": 8, "shorts": 12, "typical": 32}),
}
# long120's encoding at long20's length: tells memory growth with length from growth with bitrate.
RECIPES["long20u"] = (1200, RECIPES["long120"][1], {**RECIPES["long120"][2], "returns": 2, "shorts": 3})
DEFAULT_SET = [name for name in RECIPES if name not in ("long120", "long20u")]


def slide_durations(rng: np.random.Generator, total: float, shorts: int, typical: float = 28) -> list[float]:
    """Durations of 10-90 s (log-normal around `typical`) plus `shorts` slides of 2 s, summing
    to total."""
    durations: list[float] = []
    budget = total - 2.0 * shorts
    while sum(durations) < budget:
        durations.append(float(np.clip(np.exp(rng.normal(math.log(typical), 0.55)), 10, 90)))
    excess = sum(durations) - budget
    while excess > 1e-9:  # take the overshoot from the longest slides, keeping each >= 10 s
        k = int(np.argmax(durations))
        cut = min(excess, durations[k] - 10.0)
        durations[k] -= cut
        excess -= cut
    durations = [round(d * 5) / 5 for d in durations]  # whole frames at 25 and 30 fps
    durations[-1] = round(budget - sum(durations[:-1]), 2)
    for _ in range(shorts):  # never first, never two short slides in a row
        slots = [k for k in range(1, len(durations) + 1)
                 if durations[k - 1] != 2.0 and (k == len(durations) or durations[k] != 2.0)]
        slots = slots or list(range(1, len(durations) + 1))
        durations.insert(slots[int(rng.integers(len(slots)))], 2.0)
    return durations


def timeline(seed: int, total: float, fade_share: float = 0.0, build_share: float = 0.0,
             returns: int = 0, shorts: int = 2, typical: float = 28) -> list[SlideSpec]:
    """A realistic slide sequence: fades, builds and returns to earlier slides as asked."""
    rng = np.random.default_rng([seed, 99])
    slides, next_id = [], 1
    durations = slide_durations(rng, total, shorts, typical)
    back_at = set(rng.choice(np.arange(3, len(durations) - 1), size=returns, replace=False).tolist())
    for k, duration in enumerate(durations):
        slide = SlideSpec(next_id, duration)
        if k in back_at:  # go back to an earlier slide that is not a neighbour
            earlier = sorted({s.slide_id for s in slides[:-1]} - {slides[-1].slide_id})
            slide.slide_id = int(rng.choice(earlier))
        else:
            next_id += 1
            if duration >= 10 and rng.random() < build_share:
                slide.builds = int(rng.integers(2, 5))
        if k and rng.random() < fade_share:
            slide.transition = "fade"
            slide.fade = round(float(min(rng.uniform(0.5, 1.2), duration, slides[-1].duration)), 2)
        slides.append(slide)
    return slides


def recipe_spec(name: str) -> LectureSpec:
    seconds, flags, knobs = RECIPES[name]
    seed = 1000 + list(RECIPES).index(name)
    slides = timeline(seed, seconds, **knobs)
    return LectureSpec(slides=slides, seed=seed, title=f"Benchmark: {name}", **{**HD, **flags})


def is_current(spec: LectureSpec, video: Path) -> bool:
    truth_file = Path(str(video) + ".truth.json")
    if not (video.exists() and truth_file.exists()):
        return False
    stored = json.loads(truth_file.read_text()).get("spec")
    return stored == json.loads(json.dumps(dataclasses.asdict(spec)))


def make(name: str, out_dir: Path, force: bool = False) -> Path:
    spec = recipe_spec(name)
    video = out_dir / f"{name}.mp4"
    if not force and is_current(spec, video):
        print(f"{name}: up to date ({video})", flush=True)
        return video
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if done == total or time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            print(f"  {name}: {done}/{total} frames ({100 * done / total:.0f}%)", flush=True)

    truth = render_lecture(spec, video, progress=progress)
    seconds = time.perf_counter() - started
    print(f"{name}: {truth['duration']:.0f} s video, {len(truth['appearances'])} appearances, "
          f"{len(truth['transitions'])} transitions, {spec.width}x{spec.height}@{spec.fps:g}, "
          f"rendered in {seconds:.0f} s ({truth['duration'] / seconds:.1f}x real time)", flush=True)
    return video


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=list(RECIPES), help="videos to make")
    parser.add_argument("--out", type=Path, default=VIDEO_DIR)
    parser.add_argument("--force", action="store_true", help="render even if up to date")
    args = parser.parse_args(argv)
    for name in args.only or DEFAULT_SET:
        make(name, args.out, args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
