"""Shortcuts the engine takes for speed give exactly what the long way gives: a faster engine
must not move a single decision (docs/benchmarks.md, engine-speed)."""

from __future__ import annotations

import threading

import av
import numpy as np
import pytest

from slidecast import extract
from slidecast.detect.cells import ChangeMeter
from slidecast.detect.second_pass import _DecodeAhead
from slidecast.detect.timeline import _Normalised
from slidecast.detect.transitions import ScreenState
from slidecast.frames import Spill, analysis_size, small_gray
from slidecast.video import probe, remux
from support.engine_clips import ENGINE_ONLY


def _frame(width: int, height: int, seed: int) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    rgb[height // 4:height // 2, width // 5:width // 2] = 255  # a flat block among the noise
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080), (854, 480), (640, 480)])
def test_shrinking_only_the_content_area_gives_the_pixels_of_shrinking_all_and_cropping(width, height):
    size = analysis_size(width, height)
    rng = np.random.default_rng(width)
    for seed in range(3):
        frame = _frame(width, height, seed)
        whole = small_gray(frame, size)
        for _ in range(30):
            x0, x1 = sorted(int(v) for v in rng.integers(0, size[0] + 1, 2))
            y0, y1 = sorted(int(v) for v in rng.integers(0, size[1] + 1, 2))
            if x1 == x0 or y1 == y0:
                continue
            assert np.array_equal(small_gray(frame, size, (x0, y0, x1, y1)), whole[y0:y1, x0:x1])


def test_a_states_normalised_picture_is_made_once_and_equals_the_meters():
    meter, spill = ChangeMeter(), Spill()
    rng = np.random.default_rng(3)
    states = []
    for i in range(6):
        gray = rng.integers(0, 256, (180, 320), dtype=np.uint8)
        state = ScreenState(float(i), float(i), float(i + 1), gray, None)
        state.packed, state.gray = spill.put(gray), None
        states.append((state, gray))
    normalised = _Normalised(meter)
    for state, gray in states:
        first = normalised(state)
        assert np.array_equal(first, meter.normalise(gray))
        assert normalised(state) is first  # kept, not made again
        assert not first.flags.writeable  # shared by later comparisons: none may change it
    assert len(normalised.kept) == _Normalised.KEEP  # the last few only: memory stays flat


def test_decoding_ahead_hands_over_every_frame_in_order_and_the_decoders_error():
    def frames(fail: bool):
        for i in range(50):
            yield i / 10, i
        if fail:
            raise ValueError("damaged packet")

    ahead = _DecodeAhead(frames(False), lambda t, frame: frame * 2)
    got = []
    while (item := ahead.get()) is not None:
        got.append(item)
    ahead.stop()
    assert got == [(i / 10, i, 2 * i) for i in range(50)]

    ahead = _DecodeAhead(frames(True), lambda t, frame: None)
    with pytest.raises(ValueError, match="damaged packet"):
        while ahead.get() is not None:
            pass
    ahead.stop()


def test_stopping_early_leaves_no_decoding_thread_behind():
    def endless():
        i = 0
        while True:
            yield i / 30, i
            i += 1

    before = threading.active_count()
    ahead = _DecodeAhead(endless(), lambda t, frame: frame)
    assert ahead.get()[1] == 0
    ahead.stop()
    assert threading.active_count() == before


def test_a_probe_the_caller_already_read_gives_the_slides_of_the_long_way_also_for_mpegts(engine_clip, tmp_path):
    # The service probes the video for its progress bands and hands that to extract, which then
    # does not open the file again. An MPEG-TS file's probe names the .ts, not the MP4 it is
    # copied into for exact seeking: used as it is, slides came 1-2 s early (issue #13).
    video, _ = engine_clip("cuts")
    stream = tmp_path / "lecture.ts"
    remux(video, stream, "mpegts")
    for path in (video, stream):
        plain = extract(path, tmp_path / f"plain{path.suffix}", ENGINE_ONLY)
        given = extract(path, tmp_path / f"given{path.suffix}", ENGINE_ONLY, meta=probe(path))
        assert [(s.start, s.end) for s in given.slides] == [(s.start, s.end) for s in plain.slides], path
        assert given.video == plain.video
