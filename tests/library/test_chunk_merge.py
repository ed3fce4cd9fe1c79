"""Long videos in chunks (slidecast.chunks): plan windows, extract each window, merge = one run."""

from pathlib import Path

import pytest

from slidecast import ExtractOptions, extract
from slidecast.chunks import PieceResult, merge, plan_pieces
from slidecast.synthetic import make_clip

OPTIONS = ExtractOptions(ocr=False, pdf=False, notes=False, subtitles=False)


@pytest.fixture(scope="module")
def return_clip(tmp_path_factory) -> Path:
    """30 s, six appearances, two of them returns to earlier slides (same_as)."""
    path = tmp_path_factory.mktemp("chunks") / "return.mp4"
    make_clip("return", path)
    return path


def chunked(video: Path, folder: Path, chunk_seconds: float, whole_video):
    pieces = plan_pieces(whole_video.duration, chunk_seconds)
    results = [PieceResult(extract(video, folder / f"p{p.index}", OPTIONS, window=p.window), folder / f"p{p.index}", p)
               for p in pieces]
    return pieces, merge(results, whole_video, folder / "merged")


@pytest.fixture(scope="module")
def whole(return_clip, tmp_path_factory):
    return extract(return_clip, tmp_path_factory.mktemp("whole"), OPTIONS)


def test_chunked_extraction_equals_one_run(return_clip, tmp_path, whole):
    pieces, merged = chunked(return_clip, tmp_path, 6, whole.video)
    assert len(pieces) >= 4, "the clip must really be split for this test to mean anything"
    assert len(merged.slides) == len(whole.slides) == 6
    for one, other in zip(whole.slides, merged.slides):
        assert abs(one.start - other.start) <= 0.5 and abs(one.end - other.end) <= 0.5
        assert one.same_as == other.same_as
    assert [s.index for s in merged.slides] == list(range(1, 7))
    assert merged.video == whole.video
    for slide in merged.slides:
        assert (tmp_path / "merged" / slide.image).stat().st_size > 0
        assert (tmp_path / "merged" / slide.thumbnail).stat().st_size > 0
    inner_cuts = [p.end for p in pieces if p.end is not None]
    assert any(s.start < c < s.end for s in merged.slides for c in inner_cuts), \
        "some slide is on screen across a cut, and it is still one slide"


def test_one_piece_merged_is_the_one_run(return_clip, tmp_path, whole):
    pieces, merged = chunked(return_clip, tmp_path, 600, whole.video)
    assert len(pieces) == 1 and pieces[0].window == (0.0, None)
    assert [(s.start, s.end, s.same_as) for s in merged.slides] == \
        [(s.start, s.end, s.same_as) for s in whole.slides]


def test_pieces_are_planned_from_the_duration():
    """Cuts every 600 s; each piece starts 4 s before its cut and is trusted from the middle of
    that overlap; a last stretch under a quarter chunk joins the piece before."""
    pieces = plan_pieces(2415.0, 600)
    assert [p.window for p in pieces] == [(0.0, 600.0), (596.0, 1200.0), (1196.0, 1800.0), (1796.0, None)]
    assert [(p.keep_from, p.keep_until) for p in pieces] == \
        [(0.0, 598.0), (598.0, 1198.0), (1198.0, 1798.0), (1798.0, None)]
    assert [p.window for p in plan_pieces(1349.0, 600)] == [(0.0, 600.0), (596.0, None)]
