"""What extract() leaves in OUT: a schema-valid manifest, full-size slides, thumbnails; and
nothing that looks finished after a cancelled or failed run."""

from __future__ import annotations

import json
import threading

import av
import cv2
import numpy as np
import pytest

from support.engine_clips import ENGINE_ONLY, extract_fast
from slidecast.errors import Cancelled, CorruptVideo
from slidecast.output.manifest import validate
from slidecast.pipeline import extract
from slidecast.video import remux


def test_manifest_is_valid_and_pictures_are_full_size(engine_clip, tmp_path):
    video, truth = engine_clip("cuts")
    out = tmp_path / "out"
    manifest = extract_fast(video, out)
    data = json.loads((out / "manifest.json").read_text())
    validate(data)
    assert data == json.loads(manifest.to_json())
    assert data["video"]["width"] == truth["width"] and data["video"]["height"] == truth["height"]
    assert abs(data["video"]["duration"] - truth["duration"]) < 0.2
    assert {"decode", "detect"} <= set(data["timings"])
    for slide in data["slides"]:
        image = cv2.imread(str(out / slide["image"]))
        thumb = cv2.imread(str(out / slide["thumbnail"]))
        assert image.shape[:2] == (truth["height"], truth["width"])
        assert thumb.shape[1] == 320
        assert slide["start"] <= slide["frame_time"] <= slide["end"]
    assert data["slides"][-1]["end"] == pytest.approx(data["video"]["duration"], abs=0.05)


def test_slide_picture_shows_the_slide_not_the_letterbox_bars(engine_clip, tmp_path):
    video, truth = engine_clip("letterbox")
    manifest = extract_fast(video, tmp_path / "out")
    image = cv2.imread(str(tmp_path / "out" / manifest.slides[0].image), cv2.IMREAD_GRAYSCALE)
    assert image.shape[0] < truth["height"] or image.shape[1] < truth["width"]
    for border in (image[0], image[-1], image[:, 0], image[:, -1]):
        assert border.mean() > 40, "a black bar was kept"


def test_progress_reports_stages_in_order_and_never_goes_back(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    seen = []
    extract(video, tmp_path / "out", ENGINE_ONLY, progress=lambda *args: seen.append(args))
    stages = [stage for stage, _, _ in seen]
    assert stages.index("decoding") < stages.index("detecting")
    for stage in set(stages):
        fractions = [f for s, f, _ in seen if s == stage]
        assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] <= 1.0
    # The count at the end of detection is of candidates: later steps may still join some, and
    # the message must not promise a number of slides the job does not end with.
    detected = [message for stage, _, message in seen if stage == "detecting"][-1]
    assert detected.endswith("slide candidates found"), detected


def test_cancel_stops_and_leaves_no_manifest_even_over_an_old_result(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    out = tmp_path / "out"
    extract_fast(video, out)
    assert (out / "manifest.json").exists()

    def cancel(stage, fraction, message):
        if stage == "detecting":
            raise Cancelled("stopped by the user")

    with pytest.raises(Cancelled):
        extract(video, out, ENGINE_ONLY, progress=cancel)
    assert not (out / "manifest.json").exists()
    assert not list(out.glob(".work-*")), "the private work folder is cleaned up"


def test_cancelling_in_the_second_pass_stops_every_engine_thread(real_clip, tmp_path):
    """Dense decoding and the slide pictures run on threads of their own: a job cancelled in
    the middle of the second pass must not leave them decoding after extract() returns."""
    video, _ = real_clip("noisy")  # long dense stretches: progress is reported inside one
    # Threads other tests of this process left (a service's hourly expiry) are not the engine's.
    before = set(threading.enumerate())
    seen = []

    def cancel(stage, fraction, message):
        decoding = any(t.name == "slidecast-decode" for t in threading.enumerate())
        if stage == "detecting" and decoding:
            seen.append(fraction)
            raise Cancelled("stopped by the user")

    with pytest.raises(Cancelled):
        extract(video, tmp_path / "out", ENGINE_ONLY, progress=cancel)
    assert seen, "cancelled while a dense stretch was being decoded"
    assert [t.name for t in set(threading.enumerate()) - before if t.name.startswith("slidecast-")] == []
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_damaged_video_leaves_no_manifest(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    data = video.read_bytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    extract_fast(video, out)
    with pytest.raises(CorruptVideo):
        extract_fast(broken, out)
    assert not (out / "manifest.json").exists()
    assert not list((out / "slides").glob("*.png")), "stale slides of the old run are gone"


def _frames_at(video, times: set[float]) -> dict[float, np.ndarray]:
    """BGR pictures of the frames shown at `times` (seconds, as the manifest rounds them), from
    an ordinary decode of the whole file."""
    found = {}
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            t = round(float(frame.pts * stream.time_base), 3)
            if t in times:
                found[t] = frame.to_ndarray(format="bgr24")
    return found


def _keyframe_times(video) -> set[float]:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return {round(float(p.pts * stream.time_base), 3) for p in container.demux(stream)
                if p.is_keyframe and p.pts is not None}


def test_each_slide_picture_is_exactly_the_frame_shown_at_its_time(engine_clip, tmp_path):
    """A slide pictured by a keyframe that only the first pass decoded is decoded again from
    that keyframe's bytes alone (no second container held open, see video.FrameGrabber): the
    picture must still be, pixel for pixel, the frame a player shows at the slide's frame_time."""
    video, _ = engine_clip("cuts")
    out = tmp_path / "out"
    manifest = extract_fast(video, out)
    times = {s.frame_time for s in manifest.slides}
    assert times & _keyframe_times(video), "some slide is pictured by a keyframe"
    frames = _frames_at(video, times)
    for slide in manifest.slides:
        picture = cv2.imread(str(out / slide.image))
        assert (picture == frames[slide.frame_time]).all(), f"slide {slide.index} at {slide.frame_time} s"


def test_a_matroska_copy_gives_the_same_slides_and_pictures(engine_clip, tmp_path):
    """In Matroska a packet's bytes cannot be read back from the file as they are, so its
    keyframe pictures are made by seeking: the slides and pictures equal the MP4's."""
    video, _ = engine_clip("cuts")
    copy = tmp_path / "cuts.mkv"
    remux(video, copy, "matroska")
    mp4 = extract_fast(video, tmp_path / "mp4")
    mkv = extract_fast(copy, tmp_path / "mkv")
    assert [(s.start, s.frame_time) for s in mkv.slides] == [(s.start, s.frame_time) for s in mp4.slides]
    for a, b in zip(mp4.slides, mkv.slides):
        assert (cv2.imread(str(tmp_path / "mp4" / a.image)) == cv2.imread(str(tmp_path / "mkv" / b.image))).all()
