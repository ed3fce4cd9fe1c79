"""Extraction of a time window of a video (what each piece of a long video is, slidecast.chunks).

The "return" clip: 30 s, keyframes every 2 s, transitions at 5, 10, 16, 20 and 25 s.
"""

from __future__ import annotations

import av
import pytest

from support.engine_clips import ENGINE_ONLY
from slidecast import CorruptVideo, extract
from slidecast.chunks import same_screen
from slidecast.frames import analysis_size
from slidecast.video import probe, scan


@pytest.fixture(scope="module")
def clip(engine_clip):
    return engine_clip("return")[0]


@pytest.fixture(scope="module")
def whole(clip, tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    return folder, extract(clip, folder, ENGINE_ONLY)


def test_a_window_finds_the_slides_of_its_stretch_in_video_time(clip, whole, tmp_path):
    """Window 7-17 s runs from keyframe 6 to keyframe 18: it shows the slides of 5-10, 10-16
    and 16-20 s of the whole run, at the same times, with the same pictures."""
    whole_dir, one_run = whole
    manifest = extract(clip, tmp_path, ENGINE_ONLY, window=(7.0, 17.0))
    inside = [s for s in one_run.slides if s.end > 6.0 and s.start < 18.0]
    assert len(manifest.slides) == len(inside) == 3
    assert manifest.slides[0].start == pytest.approx(6.0, abs=0.05), "from the keyframe at or before 7 s"
    assert manifest.slides[-1].end == pytest.approx(18.0, abs=0.05), "to the keyframe at or after 17 s"
    for mine, theirs in zip(manifest.slides[1:], inside[1:]):
        assert abs(mine.start - theirs.start) <= 0.5
    for mine, theirs in zip(manifest.slides[:-1], inside[:-1]):
        assert abs(mine.end - theirs.end) <= 0.5
    for mine, theirs in zip(manifest.slides, inside):
        assert same_screen(tmp_path / mine.image, whole_dir / theirs.image)
    # the window stops 12 s before the end: the truncation check must not take it for a cut-off file
    assert manifest.video.duration == pytest.approx(one_run.video.duration, abs=0.1)
    assert manifest.video.sha256 == one_run.video.sha256


def test_a_window_to_the_end_matches_the_whole_run_there(clip, whole, tmp_path):
    _, one_run = whole
    manifest = extract(clip, tmp_path, ENGINE_ONLY, window=(19.0, None))
    inside = [s for s in one_run.slides if s.end > 18.0]
    assert [round(s.end, 1) for s in manifest.slides] == [round(s.end, 1) for s in inside]
    assert manifest.video.duration == one_run.video.duration


def test_the_first_pass_reads_only_the_window(clip):
    meta = probe(clip)
    first = scan(meta, analysis_size(meta.width, meta.height), window=(7.0, 17.0))
    assert (first.start, first.end) == (pytest.approx(6.0), pytest.approx(18.0))
    assert first.packet_t.min() >= 6.0 - 1e-6 and first.packet_t.max() < 18.0
    assert [round(k.t, 2) for k in first.keyframes] == [6.0, 8.0, 10.0, 12.0, 14.0, 16.0]


def faststart_copy(video, path):
    """The same video with its index first, so a file cut short still opens (a download cut
    off part way); packets copied, not re-encoded."""
    with av.open(str(video)) as source, av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return path


def test_a_window_past_where_a_cut_off_file_stops_is_an_error(clip, tmp_path):
    whole = faststart_copy(clip, tmp_path / "whole.mp4")
    half = tmp_path / "half.mp4"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    there = extract(half, tmp_path / "there", ENGINE_ONLY, window=(2.0, 8.0))
    assert len(there.slides) == 2, "the stretch that is in the file is extracted"
    with pytest.raises(CorruptVideo, match="truncated"):
        extract(half, tmp_path / "gone", ENGINE_ONLY, window=(24.0, None))
