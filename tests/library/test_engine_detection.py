"""The engine finds every slide change of each difficulty clip, once, at default settings.

Each clip (slidecast.synthetic) carries its ground truth: the transition times (builds merged,
a crossfade at its midpoint), the appearances and which appearance repeats which.
"""

from __future__ import annotations

import pytest

from support.engine_clips import extract_fast, unmatched
from slidecast.synthetic import LectureSpec, SlideSpec, render_lecture

DIFFICULTIES = ["cuts", "crossfade", "builds", "webcam", "pointer", "noise", "flicker", "short",
                "return", "letterbox", "camera"]


def changes(manifest) -> list[float]:
    return [slide.start for slide in manifest.slides[1:]]


@pytest.mark.parametrize("name", DIFFICULTIES)
def test_each_difficulty_gives_exactly_the_true_slide_changes(name, engine_clip, tmp_path):
    video, truth = engine_clip(name)
    manifest = extract_fast(video, tmp_path / "out")
    missed, extra = unmatched(truth["transitions"], changes(manifest))
    assert (missed, extra) == ([], []), f"{name}: missed {missed}, extra {extra}"
    assert len(manifest.slides) == len(truth["appearances"])
    assert [s.same_as for s in manifest.slides] == [a["same_as_appearance"] for a in truth["appearances"]]


def test_return_to_an_earlier_slide_names_its_first_appearance(engine_clip, tmp_path):
    video, truth = engine_clip("return")
    manifest = extract_fast(video, tmp_path / "out")
    returns = [s for s in manifest.slides if s.same_as is not None]
    assert returns, "the clip goes back to earlier slides"
    for slide in returns:
        first = manifest.slides[slide.same_as - 1]
        assert first.same_as is None and first.index < slide.index
    assert len(manifest.distinct()) == len(truth["slides"])


def test_keep_builds_makes_every_build_step_a_slide(engine_clip, tmp_path):
    video, truth = engine_clip("builds")
    manifest = extract_fast(video, tmp_path / "out", keep_builds=True)
    expected = sorted(truth["transitions"] + truth["build_transitions"])
    assert unmatched(expected, changes(manifest)) == ([], [])


def test_a_built_slide_is_shown_by_its_fullest_state(engine_clip, tmp_path):
    video, truth = engine_clip("builds")
    manifest = extract_fast(video, tmp_path / "out")
    builds = sorted(truth["build_transitions"])
    for slide in manifest.slides:
        steps = [t for t in builds if slide.start < t < slide.end]
        if steps:
            assert slide.frame_time >= max(steps), f"slide {slide.index} shows a partial build"


def test_a_return_inside_one_long_gop_is_found_by_packet_sizes(tmp_path):
    # A -> B -> A within one 10 s group of pictures: both keyframes show A, so only the packet
    # sizes betray B. Keyframes at 0, 10, 20 s; B is shown from 3 s to 6 s.
    spec = LectureSpec([SlideSpec(1, 3.0), SlideSpec(2, 3.0), SlideSpec(1, 14.0)], gop_seconds=10.0,
                       seed=7)
    video = tmp_path / "gop10.mp4"
    truth = render_lecture(spec, video)
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(truth["transitions"], changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, 1]


def test_an_ignored_region_hides_changes_inside_it(engine_clip, tmp_path):
    # Ignoring the whole frame leaves nothing that can change: one slide for the whole video.
    video, _ = engine_clip("cuts")
    everything = [{"x": 0.0, "y": 0.0, "w": 1.0, "h": 1.0}]
    manifest = extract_fast(video, tmp_path / "out", ignore_regions=everything)
    assert len(manifest.slides) == 1


def test_a_filmed_screen_that_drifts_during_a_long_slide_stays_one_slide(tmp_path):
    """The camera creeps by about a pixel over a 10-s slide (seed 21 of bench/camera_seeds.py):
    every edge has moved from the slide's first frame by then, which used to start a new slide
    at 19 s. A frame that is the old one shifted is the same screen."""
    slides = [SlideSpec(1, 4.0), SlideSpec(4, 6.5), SlideSpec(3, 10.0), SlideSpec(4, 4.5)]
    video = tmp_path / "filmed.mp4"
    truth = render_lecture(LectureSpec(slides=slides, seed=21, camera=True), video)
    manifest = extract_fast(video, tmp_path / "out")
    missed, extra = unmatched(truth["transitions"], changes(manifest))
    assert (missed, extra) == ([], [])
