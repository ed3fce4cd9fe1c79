"""Long videos in chunks (slidecast.chunks): cut, extract each piece, merge = one run."""

from pathlib import Path

import pytest

from slidecast import ExtractOptions, extract
from slidecast.chunks import PieceResult, cut, merge
from slidecast.synthetic import make_clip

OPTIONS = ExtractOptions(ocr=False, pdf=False, notes=False, subtitles=False)


@pytest.fixture(scope="module")
def return_clip(tmp_path_factory) -> Path:
    """30 s, six appearances, two of them returns to earlier slides (same_as)."""
    path = tmp_path_factory.mktemp("chunks") / "return.mp4"
    make_clip("return", path)
    return path


def chunked(video: Path, folder: Path, chunk_seconds: float, whole_video):
    pieces = cut(video, folder / "pieces", chunk_seconds)
    results = [PieceResult(extract(p.path, folder / f"p{p.index}", OPTIONS), folder / f"p{p.index}", p)
               for p in pieces]
    return pieces, merge(results, whole_video, folder / "merged")


@pytest.fixture(scope="module")
def whole(return_clip, tmp_path_factory):
    return extract(return_clip, tmp_path_factory.mktemp("whole"), OPTIONS)


def test_chunked_extraction_equals_one_run(return_clip, tmp_path, whole):
    pieces, merged = chunked(return_clip, tmp_path, 6, whole.video)
    assert len(pieces) >= 4, "the clip must really be cut for this test to mean anything"
    assert len(merged.slides) == len(whole.slides) == 6
    for one, other in zip(whole.slides, merged.slides):
        assert abs(one.start - other.start) <= 0.5 and abs(one.end - other.end) <= 0.5
        assert one.same_as == other.same_as
    assert [s.index for s in merged.slides] == list(range(1, 7))
    for slide in merged.slides:
        assert (tmp_path / "merged" / slide.image).stat().st_size > 0
        assert (tmp_path / "merged" / slide.thumbnail).stat().st_size > 0
    inner_cuts = [p.end for p in pieces if p.end is not None]
    assert any(s.start < c < s.end for s in merged.slides for c in inner_cuts), \
        "some slide is on screen across a cut, and it is still one slide"


def test_a_short_video_is_one_piece(return_clip, tmp_path):
    pieces = cut(return_clip, tmp_path, 600)
    assert len(pieces) == 1 and pieces[0].offset == 0.0 and pieces[0].end is None
