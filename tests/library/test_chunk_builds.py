"""Incremental builds across chunk cuts (slidecast.chunks.merge): one slide, as in one run.

Cuts every 10 s (pieces overlap 4 s, trusted up to the middle of the overlap). Each piece merges
the build steps it sees into one slide showing its fullest step, so a build that straddles a cut
ends one piece on an earlier step than the next piece starts with; merge must join the two.
"""

from pathlib import Path

import pytest

from slidecast import ExtractOptions, extract
from slidecast.chunks import PieceResult, merge, plan_pieces
from slidecast.synthetic import LectureSpec, SlideSpec, render_lecture

OPTIONS = ExtractOptions(ocr=False, pdf=False, notes=False, subtitles=False)
CHUNK = 10.0  # cuts at 10, 20, 30 s

# Build steps at 7, 9, 11 (around the cut at 10), 22 (two seconds after the cut at 20: the
# first piece never sees it) and 29, 31 (around the cut at 30).
BUILDS = [SlideSpec(1, 5.0), SlideSpec(2, 8.0, builds=4), SlideSpec(3, 4.0), SlideSpec(4, 10.0, builds=2),
          SlideSpec(5, 6.0, builds=3), SlideSpec(6, 5.0)]
# Different slides on the same template across the cuts: a fuller slide after a sparser one at
# 10.5 (just after the cut), a return to it at 20.5 and at 31 (after the cut at 30).
DIFFERENT = [SlideSpec(1, 4.0), SlideSpec(4, 6.5), SlideSpec(3, 10.0), SlideSpec(4, 4.5),
             SlideSpec(2, 6.0), SlideSpec(4, 5.0)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chunk-builds")
    made = {}
    for name, slides in (("builds", BUILDS), ("different", DIFFERENT)):
        path = folder / f"{name}.mp4"
        made[name] = (path, render_lecture(LectureSpec(slides=slides, seed=7, title=name), path))
    return made


def chunked(video: Path, folder: Path, whole, options=OPTIONS):
    pieces = plan_pieces(whole.video.duration, CHUNK)
    assert len(pieces) == 4
    results = [PieceResult(extract(video, folder / f"p{p.index}", options, window=p.window), folder / f"p{p.index}", p)
               for p in pieces]
    return merge(results, whole.video, folder / "merged")


def assert_same_timeline(merged, whole):
    assert len(merged.slides) == len(whole.slides)
    for one, other in zip(whole.slides, merged.slides):
        assert abs(one.start - other.start) <= 0.5 and abs(one.end - other.end) <= 0.5
        assert one.same_as == other.same_as


def test_build_across_cuts_is_one_slide(clips, tmp_path):
    video, truth = clips["builds"]
    whole = extract(video, tmp_path / "whole", OPTIONS)
    assert len(whole.slides) == len(BUILDS)  # one run: every build is one slide
    merged = chunked(video, tmp_path, whole)
    assert_same_timeline(merged, whole)
    starts = [s.start for s in merged.slides[1:]]
    assert all(abs(s - t) <= 0.5 for s, t in zip(starts, truth["transitions"]))
    # each build shows its fullest step: the picture the one run chose
    for one, other in zip(whole.slides, merged.slides):
        assert abs(one.frame_time - other.frame_time) <= 2.0


def test_keep_builds_keeps_steps_across_cuts(clips, tmp_path):
    video, truth = clips["builds"]
    options = ExtractOptions(ocr=False, pdf=False, notes=False, subtitles=False, keep_builds=True)
    whole = extract(video, tmp_path / "whole", options)
    assert len(whole.slides) == len(BUILDS) + len(truth["build_transitions"])
    assert_same_timeline(chunked(video, tmp_path, whole, options), whole)


def test_different_slides_on_one_template_stay_apart(clips, tmp_path):
    video, truth = clips["different"]
    whole = extract(video, tmp_path / "whole", OPTIONS)
    assert len(whole.slides) == len(DIFFERENT)
    merged = chunked(video, tmp_path, whole)
    assert_same_timeline(merged, whole)
    assert [s.same_as for s in merged.slides] == [None, None, None, 2, None, 2]
    assert all(abs(s.start - t) <= 0.5 for s, t in zip(merged.slides[1:], truth["transitions"]))
