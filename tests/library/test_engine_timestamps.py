"""A video whose timestamps are damaged (a few flipped bytes of an MP4's index): the engine
never reports a time past the video's end; many such packets are a damaged file, refused with
a message that says so (the trial's verona.mp4 "succeeded" with a slide ending at 129766.6 s of
a 195 s video)."""

from __future__ import annotations

import struct

import pytest

from slidecast.errors import CorruptVideo
from support.engine_clips import extract_fast


def stamped_past_the_end(data: bytes, every: int) -> bytes:
    """`data` (an MP4 with B-frames) with every `every`-th composition offset of its ctts box
    (how much later than decoded a picture is shown) made ~46 hours long."""
    box = data.index(b"ctts")
    entries = struct.unpack(">I", data[box + 8:box + 12])[0]
    patched = bytearray(data)
    for entry in range(every // 2, entries, every):
        at = box + 12 + entry * 8 + 4
        patched[at:at + 4] = struct.pack(">I", 0x7FFF0000)
    return bytes(patched)


def test_many_packets_stamped_past_the_end_are_a_damaged_file(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(stamped_past_the_end(video.read_bytes(), every=20))
    with pytest.raises(CorruptVideo, match=r"packet\(s\) are stamped past its end \(up to \d+\.\d s of \d+\.\d s\)"):
        extract_fast(broken, tmp_path / "out")


def test_one_packet_stamped_past_the_end_is_left_out(engine_clip, tmp_path):
    video, truth = engine_clip("cuts")
    broken = tmp_path / "broken.mp4"
    data = video.read_bytes()
    entries = struct.unpack(">I", data[data.index(b"ctts") + 8:][:4])[0]
    broken.write_bytes(stamped_past_the_end(data, every=entries))  # the middle entry only
    manifest = extract_fast(broken, tmp_path / "out")
    assert manifest.video.duration <= truth["duration"] + 1
    assert all(slide.end <= truth["duration"] + 1 for slide in manifest.slides)
