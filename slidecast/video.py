"""Opening, probing and decoding videos with PyAV, and the cheap first pass over a file.

Nothing here holds the video in memory: the first pass (`scan`) demuxes every packet without
decoding it (keeping only its time and size) and decodes keyframes only, shrunk to small grey
frames; `DenseDecoder` decodes selected stretches frame by frame. The first pass may cover a
time window of the video only (`Window`: long videos split across workers); times are always
whole-video times. Errors are mapped to the
slidecast.errors classes with a message a person can act on.

Policy for damaged files (what a user wants: slides they can trust, or a clear error):
- a container that cannot be opened: NotAVideo, or CorruptVideo if the file starts like a known
  media container (a truncated MP4 whose index is missing);
- video data that stops well before the duration the container declares (more than 10% and more
  than 1 s missing; for a window: before the window's end): CorruptVideo, never a manifest
  claiming the full duration;
- packets that fail to decode: in the last 2 s (or 5%) of the video they are tolerated with a
  logged warning (a recording cut off while writing is common, and its slides are all there);
  elsewhere more than 0.5% of the packets decoded is CorruptVideo (so one broken keyframe in a
  short clip is an error, a few in a two-hour lecture are not). Stretches the engine does not
  decode (between equal keyframes) are not checked. A window counts its own packets, and its
  tail is the whole video's tail.
"""

from __future__ import annotations

import logging
import math
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from .errors import CorruptVideo, InputNotFound, NotAVideo, NoVideoStream
from .frames import Packed, Spill, sharpness, small_gray

log = logging.getLogger(__name__)

TAIL_SECONDS = 2.0
TAIL_SHARE = 0.05
MIDDLE_SHARE = 0.005
# A packet stamped this far past the declared duration (seconds, or this share of it, whichever
# is more) has a damaged timestamp: a few flipped bytes of an MP4's index put one at 129766 s of
# a 195 s video, and the manifest then claimed 36 hours.
STRAY_SECONDS = 10.0
STRAY_SHARE = 0.1
# Leading bytes of containers we know; a file that starts like one but cannot be read is damaged.
_MEDIA_SIGNATURES = (b"ftyp", b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba",
                     b"\x47")
_AV_ERRORS = (av.error.FFmpegError, ValueError)
# Decoding threads of the dense decoder (video frames in flight at once): unset or 0 lets FFmpeg
# choose (one per core); the engine's decisions do not depend on it (docs/engine.md).
DECODE_THREADS_ENV = "SLIDECAST_DECODE_THREADS"
# FFmpeg opens a picture as a one-frame "video"; a slide deck needs a real one.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe"}


@dataclass
class VideoMeta:
    """What the container says about the video stream; times in seconds."""

    path: Path
    width: int
    height: int
    fps: float
    duration: float
    has_audio: bool
    start: float = 0.0


@dataclass
class KeyFrame:
    t: float
    small: Packed  # the small grey frame, packed in the scan's spill file
    sharpness: float
    packet: tuple[int, int] | None = None  # its packet's (byte offset, size) in an MP4 file

    def gray(self) -> np.ndarray:
        return self.small.image()


# Containers whose packets lie in the file as they are (a packet's `pos` is where its bytes
# start): a keyframe's packet can be read back and decoded alone (FrameGrabber).
_PLAIN_PACKETS = {"mov,mp4,m4a,3gp,3g2,mj2"}


@dataclass
class Scan:
    """Result of the first pass: every packet's time and size, and every keyframe, small."""

    packet_t: np.ndarray
    packet_size: np.ndarray
    keyframes: list[KeyFrame] = field(default_factory=list)
    end: float = 0.0  # where the scanned pictures end (a window: its closing keyframe)
    bad_times: list = field(default_factory=list)  # times of packets that failed to decode
    start: float = 0.0  # where the scanned pictures start (a window: its first keyframe)
    video_end: float = 0.0  # where the whole video's pictures end (a window: see _check_complete)
    # Where the keyframes' small pictures are kept; later steps keep theirs there too.
    spill: Spill = field(default_factory=Spill)
    decoder: "DecoderSetup | None" = None  # how to decode a keyframe's packet alone (MP4)


def _looks_like_media(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head[4:8] == b"ftyp" or any(head.startswith(sig) for sig in _MEDIA_SIGNATURES[1:])


def is_pdf(path: Path) -> bool:
    """Does the file start as a PDF does (a talk's slides given in place of its video)?"""
    with open(path, "rb") as fh:
        return fh.read(5) == b"%PDF-"


def open_video(path: Path):
    """Open a container; raise InputNotFound / NotAVideo / CorruptVideo / NoVideoStream."""
    path = Path(path)
    if not path.exists():
        raise InputNotFound(f"input file not found: {path}")
    if not path.is_file():
        raise NotAVideo(f"not a video file (it is a directory): {path}")
    if path.stat().st_size == 0:
        raise NotAVideo(f"not a video file (the file is empty: 0 bytes): {path}")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except _AV_ERRORS as exc:
        if _looks_like_media(path):
            raise CorruptVideo(f"video file is damaged or truncated and cannot be opened: {path}") from exc
        if is_pdf(path):
            raise NotAVideo(f"not a video file (it is a PDF: give the talk's video, and this PDF as its "
                            f"deck with --deck): {path}") from exc
        raise NotAVideo(f"not a video file (unrecognised format): {path}") from exc
    if not container.streams.video:
        container.close()
        raise NoVideoStream(f"file has no video stream (audio only?): {path}")
    if container.format.name in _IMAGE_FORMATS or container.format.name.endswith("_pipe"):
        container.close()
        raise NotAVideo(f"not a video file (it is a still image): {path}")
    return container


def probe(path: Path) -> VideoMeta:
    """Read the header of `path`: size, frame rate, declared duration, audio presence."""
    container = open_video(path)
    try:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise CorruptVideo(f"video stream has no picture size (damaged header): {path}")
        rate = stream.average_rate or stream.guessed_rate or 25
        if stream.duration is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        return VideoMeta(Path(path), ctx.width, ctx.height, float(rate), duration,
                         bool(container.streams.audio), start)
    finally:
        container.close()


def _packet_time(packet, time_base: float) -> float | None:
    """`time_base` as a float, worked out once per pass: this runs for every packet of the
    file, and `stream.time_base` makes a new Fraction each time it is read."""
    pts = packet.pts if packet.pts is not None else packet.dts
    return None if pts is None else pts * time_base


def scan(meta: VideoMeta, size: tuple[int, int], on_progress=None, window=None) -> Scan:
    """First pass: demux all packets (time, size) and decode keyframes only, to small frames.

    `window=(start, end)` reads only that stretch (see Window); times stay whole-video times.
    `on_progress(fraction)` is called now and then; it may raise to stop the scan.
    """
    span = Window(window, meta)
    container = open_video(meta.path)
    stream = container.streams.video[0]
    stream.codec_context.skip_frame = "NONKEY"
    stream.thread_type = "AUTO"  # keyframes decode side by side (same pictures, less waiting)
    span.seek(container, stream)
    # array, not list: 8 bytes a packet instead of ~60 (a 2-hour video has ~200,000 packets)
    times, sizes, keyframes, key_times, bad, strays = array("d"), array("q"), [], [], [], []
    spill = Spill()
    plain = container.format.name in _PLAIN_PACKETS
    setup = DecoderSetup.of(stream) if plain else None
    key_packets: dict[int, tuple[int, int]] = {}  # pts -> (offset, size), until decoded

    def decode(packet, t):
        try:
            frames = stream.codec_context.decode(packet)
        except av.error.EOFError:
            return
        except _AV_ERRORS:
            bad.append(t)
            return
        for frame in frames:
            # A frame without a pts takes its keyframe packet's time (keyframes leave the
            # decoder in presentation order).
            ft = frame_time(frame, time_base, meta.start)
            if ft is None and len(keyframes) < len(key_times):
                ft = key_times[len(keyframes)]
            if ft is not None:
                where = key_packets.pop(frame.pts, None) if frame.pts is not None else None
                keyframes.append(_keyframe(frame, float(ft), size, spill, where))

    time_base = float(stream.time_base)
    # This loop runs for every packet of the file (37,000 in a 20-minute video) on one thread
    # while the keyframes decode on others: what it asks of each packet is read once.
    stray_after = _stray_after(meta)
    video_start, whole = meta.start, span.whole
    try:
        for packet in _demux(container, stream, meta.path):
            t = _packet_time(packet, time_base)
            is_key, packet_size = packet.is_keyframe, packet.size
            if t is not None:
                t -= video_start
                if t > stray_after:
                    strays.append(t)
                    continue  # neither a time of the video nor a picture of it
            if not whole:  # the whole video takes every packet (Window.take)
                verdict = span.take(t, is_key)
                if verdict == "stop":
                    decode(None, None)  # flush: keyframes still inside the decoder
                    break
                if verdict == "skip":
                    continue
            if t is not None and packet_size:
                times.append(t)
                sizes.append(packet_size)
                if on_progress and len(times) % 500 == 0:
                    on_progress(span.fraction(t))
            if is_key and t is not None:
                key_times.append(t)
                if plain and packet.pts is not None and packet.pos is not None and packet.pos >= 0:
                    key_packets[packet.pts] = (packet.pos, packet_size)
            if packet_size and not is_key:
                continue  # never decoded: sending it to the decoder only to be skipped costs time
            decode(packet if packet_size else None, t)
    finally:
        container.close()
    times_a, sizes_a = np.frombuffer(times, np.float64), np.frombuffer(sizes, np.int64)
    order = np.argsort(times_a, kind="stable")
    result = Scan(times_a[order], sizes_a[order],
                  sorted(keyframes, key=lambda k: k.t), bad_times=bad, start=span.first_key, spill=spill,
                  decoder=setup)
    result.end, result.video_end = _check_complete(meta, result, span)
    _check_strays(strays, len(times), meta)
    return result


def _stray_after(meta: VideoMeta) -> float:
    """Packets stamped after this time have a damaged timestamp (STRAY_SECONDS); inf if the
    container declares no duration."""
    if meta.duration > 0:
        return meta.duration + max(STRAY_SECONDS, STRAY_SHARE * meta.duration)
    return math.inf


def _check_strays(strays: list, packets: int, meta: VideoMeta) -> None:
    """Packets stamped past the video's end (_stray_after) were left out; more than MIDDLE_SHARE of
    them is a damaged file (CorruptVideo), a few are logged."""
    if len(strays) > int(MIDDLE_SHARE * packets):
        raise CorruptVideo(f"video file is damaged: {len(strays)} packet(s) are stamped past its end (up to "
                           f"{max(strays):.1f} s of {meta.duration:.1f} s); re-export or re-download it: {meta.path}")
    if strays:
        log.warning("%s: %d packet(s) stamped past the end (%.1f s) left out", meta.path, len(strays), meta.duration)


class Window:
    """Which packets the first pass takes for a time window [start, end) of the video.

    The window runs from the keyframe at or before `start` (the pass seeks there) to the first
    keyframe at or after `end`, which is where its last GOP ends: that keyframe is not taken,
    but packets after it in decode order that are shown before it are (B-frames of the GOP
    before). No window (None) is the whole video; `end` None is the end of the video.
    """

    def __init__(self, window, meta: VideoMeta):
        start, end = window or (0.0, None)
        self.start, self.end = max(0.0, float(start)), math.inf if end is None else float(end)
        self.meta, self.eps = meta, 0.5 / max(meta.fps, 1.0)
        self.whole = window is None
        self.first = -math.inf if self.whole else None  # time of the first keyframe taken
        self.stop: float | None = None  # time of the keyframe at or after `end`, once seen

    @property
    def first_key(self) -> float:
        return 0.0 if self.whole or self.first is None else self.first

    def seek(self, container, stream) -> None:
        if self.start > 0:
            target = int((self.start + self.meta.start + self.eps) / stream.time_base)
            container.seek(target, stream=stream, backward=True, any_frame=False)

    def take(self, t: float | None, is_key: bool) -> str:
        """"keep", "skip" (not part of the window) or "stop" (nothing more is)."""
        if t is None:
            return "keep"
        if self.stop is not None:
            return "keep" if not is_key and t < self.stop else "stop"
        if is_key and t >= self.end - self.eps:
            self.stop = t
            return "skip"
        if self.first is None:
            if not is_key:
                return "skip"  # before the first keyframe after the seek: not decodable
            self.first = t
        return "skip" if t < self.first - self.eps else "keep"  # B-frames of the GOP before

    def fraction(self, t: float) -> float:
        until = min(self.end, self.meta.duration) if self.meta.duration else self.end
        span = until - self.first_key
        return min(1.0, (t - self.first_key) / span) if span > 0 and math.isfinite(span) else 0.0


def _demux(container, stream, path):
    """container.demux that turns a read error part way into CorruptVideo."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except _AV_ERRORS as exc:
            raise CorruptVideo(f"video file is damaged: reading failed part way ({exc}): {path}") from exc
        yield packet


def frame_time(frame, time_base: float, start: float) -> float | None:
    """A decoded frame's time in the video (None if it has none), from its pts and the stream's
    time base. Not `frame.time`: frames that leave the decoder when it is flushed (the last few
    of a decoded stretch) have no time base in PyAV, so `frame.time` is NaN; how many frames
    that is depends on the decoder's delay, and so on its thread count."""
    return None if frame.pts is None else frame.pts * time_base - start


def _keyframe(frame, t: float, size, spill: Spill, packet: tuple[int, int] | None) -> KeyFrame:
    gray = small_gray(frame, size)
    return KeyFrame(t, spill.put(gray), sharpness(gray), packet)


def _check_complete(meta: VideoMeta, result: Scan, span: Window) -> tuple[float, float]:
    """Apply the damaged-file policy (module docstring); return where the scanned stretch ends
    and where the whole video's pictures end (for a window that stops before the end of the
    file: its closing keyframe, and the declared duration)."""
    if (not len(result.packet_t) or not result.keyframes) and not span.whole:
        raise CorruptVideo(f"video file is truncated or damaged: no picture from {span.start:.1f} s "
                           f"of {meta.duration:.1f} s; re-export or re-download it: {meta.path}")
    if not len(result.packet_t) or not result.keyframes:
        raise CorruptVideo(f"video stream holds no decodable picture: {meta.path}")
    if span.stop is not None:
        end, video_end = span.stop, max(meta.duration, span.stop)
    else:
        end = video_end = float(result.packet_t[-1]) + 1.0 / max(meta.fps, 1.0)
    missing = min(meta.duration, span.end) - end  # what the window (or the file) should hold
    if meta.duration and missing > 1.0 and missing > 0.1 * meta.duration:
        raise CorruptVideo(f"video file is truncated: pictures stop at {end:.1f} s of "
                           f"{meta.duration:.1f} s; re-export or re-download it: {meta.path}")
    check_damage(result.bad_times, len(result.keyframes) + len(result.bad_times), video_end, meta.path)
    return end, video_end


def check_damage(bad_times: list, decoded: int, end: float, path) -> None:
    """Apply the damaged-packet policy (module docstring); log a warning for tolerated damage.

    Damage in the last TAIL_SECONDS (or TAIL_SHARE of the video) is tolerated; elsewhere, at
    most MIDDLE_SHARE of the packets decoded may fail.
    """
    tail = end - max(TAIL_SECONDS, TAIL_SHARE * end)
    middle = [t for t in bad_times if t is None or t < tail]
    if len(middle) > int(MIDDLE_SHARE * decoded):
        where = next((t for t in middle if t is not None), None)
        at = f" from {where:.1f} s" if where is not None else ""
        raise CorruptVideo(f"video file is damaged: {len(middle)} packet(s){at} cannot be decoded; "
                           f"re-export or re-download it: {path}")
    if bad_times:
        log.warning("%s: %d damaged packet(s) skipped", path, len(bad_times))


def sample_runs(meta: VideoMeta, size: tuple[int, int], starts: list[float], seconds: float,
                step: float):
    """For each keyframe time in `starts`, a list of small grey frames `step` seconds apart over
    the `seconds` after it (fewer if the video ends or a packet is damaged)."""
    with RunSampler(meta, size) as sampler:
        return [sampler.run(start, seconds, step) for start in starts]


class RunSampler:
    """One container for many short runs of small grey frames (`run`, as sample_runs): opening
    an MP4 reads its index of every frame, 0.2-0.3 s for a 2-hour video, so a caller with a run
    per slide (live.py) opens it once, not once a slide. Reference frames only, no deblocking."""

    def __init__(self, meta: VideoMeta, size: tuple[int, int]):
        self.meta, self.size = meta, size
        self.container = open_video(meta.path)
        self.stream = self.container.streams.video[0]
        self.stream.codec_context.skip_frame = "NONREF"
        self.stream.codec_context.options = {"skip_loop_filter": "all"}

    def __enter__(self) -> "RunSampler":
        return self

    def __exit__(self, *exc) -> None:
        self.container.close()

    def run(self, start: float, seconds: float, step: float) -> list:
        stream = self.stream
        self.container.seek(int((start + self.meta.start) / stream.time_base), stream=stream,
                            backward=True, any_frame=False)
        stream.codec_context.flush_buffers()
        return _run_from(self.container, stream, self.meta, self.size, start, seconds, step)


def _run_from(container, stream, meta, size, start, seconds, step) -> list:
    frames, next_t = [], start - 0.5 / max(meta.fps, 1.0)
    time_base = float(stream.time_base)
    try:
        for frame in container.decode(stream):
            t = frame_time(frame, time_base, meta.start)
            if t is None:
                continue
            if t > start + seconds:
                break
            if t >= next_t:
                next_t = t + step
                frames.append(small_gray(frame, size))
    except _AV_ERRORS:
        pass  # damage is judged by the passes proper
    return frames


class DenseDecoder:
    """Decodes chosen stretches of a video frame by frame (frame threading on).

    `run(start, end, gate)` seeks to the keyframe at `start` and yields (t, av.VideoFrame) in
    time order for frames before `end`. The consumer may set `gate.skip_until` to a keyframe
    time to stop decoding until there (packets are dropped, which is safe in decode order).
    """

    def __init__(self, meta: VideoMeta):
        self.meta = meta
        self.container = open_video(meta.path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.stream.codec_context.thread_count = decode_threads()
        self.time_base = float(self.stream.time_base)
        # Frames no other frame refers to (most B-frames) are not decoded at all: about half
        # the frames, and the rest are still a few hundredths of a second apart.
        self.stream.codec_context.skip_frame = "NONREF"
        # Deblocking stays on. Skipping it (a third less decoding work) lets the error build up
        # along a GOP, since each predicted frame is made from an undeblocked one: after a
        # fade, the next keyframe then showed the same slide differently enough to count as a
        # change (issue #10: extra slides at keyframes, often in a clip's last second).
        self.bad_times: list = []
        self.decoded = 0

    def close(self):
        self.container.close()

    def run(self, start: float, end: float, gate: "GopGate"):
        stream, eps = self.stream, 0.5 / max(self.meta.fps, 1.0)
        target = int((start + self.meta.start) / stream.time_base)
        self.container.seek(target, stream=stream, backward=True, any_frame=False)
        ctx = stream.codec_context
        for packet in _demux(self.container, stream, self.meta.path):
            t = _packet_time(packet, self.time_base)
            if t is not None:
                t -= self.meta.start
                if packet.is_keyframe and t >= end - eps:
                    break
                if not packet.is_keyframe and t < gate.skip_until - eps:
                    continue
            yield from self._decode(ctx, packet, end)
        yield from self._decode(ctx, None, end)
        ctx.flush_buffers()

    def _decode(self, ctx, packet, end):
        try:
            frames = ctx.decode(packet)
        except av.error.EOFError:
            return
        except _AV_ERRORS:
            t = _packet_time(packet, self.time_base) if packet is not None else None
            self.bad_times.append(None if t is None else t - self.meta.start)
            return
        for frame in frames:
            t = frame_time(frame, self.time_base, self.meta.start)
            if t is not None and t < end:
                self.decoded += 1
                yield t, frame


def decode_threads() -> int:
    """$SLIDECAST_DECODE_THREADS as a thread count for FFmpeg (0: its own choice)."""
    value = os.environ.get(DECODE_THREADS_ENV, "").strip() or "0"
    try:
        threads = int(value)
    except ValueError:
        raise ValueError(f"{DECODE_THREADS_ENV} must be a whole number of threads (0: one per core), "
                         f"not {value!r}") from None
    if threads < 0:
        raise ValueError(f"{DECODE_THREADS_ENV} must be 0 or more, not {threads}")
    return threads


@dataclass
class GopGate:
    """Set by the consumer of DenseDecoder.run: drop non-key packets before `skip_until`.

    The consumer sees frames some packets after the demuxer read them (decoder delay, frame
    threads), so it names the time up to which nothing is needed (the next keyframe) rather
    than saying "stop now".
    """

    skip_until: float = 0.0


@dataclass(frozen=True)
class DecoderSetup:
    """What a decoder needs to decode one packet of a video stream without its container:
    the codec, its extradata (H.264's parameter sets in an MP4) and the colour description
    the container gives (used when the bitstream has none, as by the container's decoder)."""

    codec: str
    extradata: bytes | None
    colour: dict

    COLOUR = ("color_range", "colorspace", "color_primaries", "color_trc")

    @classmethod
    def of(cls, stream) -> "DecoderSetup":
        ctx = stream.codec_context
        return cls(ctx.name, ctx.extradata, {name: getattr(ctx, name) for name in cls.COLOUR})

    def open(self):
        ctx = av.CodecContext.create(self.codec, "r")
        if self.extradata:
            ctx.extradata = self.extradata
        for name, value in self.colour.items():
            setattr(ctx, name, value)
        return ctx


class FrameGrabber:
    """Decodes single full-resolution frames by time.

    A first-pass keyframe of an MP4 file (`keyframes`: its time -> KeyFrame, with the
    packet's place) is decoded alone from its packet's bytes: a keyframe needs no other
    frame, and this needs no container. Any other time is decoded by seeking to the keyframe
    before it and decoding forward, in a container opened on first need. An open container
    holds the index of every frame of the file (~50 bytes a frame: 10-25 MB for a 2-hour video),
    so keeping one open beside the dense decoder's made the peak memory grow with the video's
    length; the pictures the grabber is asked for are almost all first-pass keyframes.
    """

    def __init__(self, meta: VideoMeta, keyframes: dict[float, KeyFrame] | None = None,
                 setup: DecoderSetup | None = None):
        self.meta = meta
        self.keyframes = keyframes if setup is not None else {}
        self.setup = setup
        self.container = self.stream = self.file = self.ctx = None

    def close(self):
        if self.container is not None:
            self.container.close()
        if self.file is not None:
            self.file.close()

    def grab_rgb(self, t: float) -> np.ndarray:
        """RGB array (h, w, 3) of the first frame at or after `t` seconds."""
        key = self.keyframes.get(t)
        if key is not None and key.packet is not None:
            rgb = self._decode_alone(*key.packet)
            if rgb is not None:
                return rgb
        return self._seek_and_decode(t)

    def _decode_alone(self, offset: int, size: int) -> np.ndarray | None:
        """The picture of the packet at `offset`, or None if it does not decode to a whole
        frame of the video's size on its own (the caller then seeks)."""
        if self.file is None:
            self.file = open(self.meta.path, "rb")
            self.ctx = self.setup.open()
        data = os.pread(self.file.fileno(), size, offset)
        try:
            frames = self.ctx.decode(av.Packet(data)) + self.ctx.decode(None)
        except _AV_ERRORS:
            frames = []
        finally:
            self.ctx.flush_buffers()  # ready for the next packet after the drain
        if len(frames) != 1 or (frames[0].width, frames[0].height) != (self.meta.width, self.meta.height):
            return None
        return frames[0].to_ndarray(format="rgb24")

    def _seek_and_decode(self, t: float) -> np.ndarray:
        if self.container is None:
            self.container = open_video(self.meta.path)
            self.stream = self.container.streams.video[0]
        stream, eps = self.stream, 0.5 / max(self.meta.fps, 1.0)
        self.container.seek(int((t + self.meta.start) / stream.time_base), stream=stream,
                            backward=True, any_frame=False)
        stream.codec_context.flush_buffers()
        last, time_base = None, float(stream.time_base)
        try:
            for frame in self.container.decode(stream):
                last = frame
                shown = frame_time(frame, time_base, self.meta.start)
                if shown is not None and shown >= t - eps:
                    break
        except _AV_ERRORS as exc:
            raise CorruptVideo(f"video file is damaged near {t:.1f} s: {self.meta.path}") from exc
        if last is None:
            raise CorruptVideo(f"no picture can be decoded near {t:.1f} s: {self.meta.path}")
        return last.to_ndarray(format="rgb24")


def is_mpegts(path: Path) -> bool:
    """True if FFmpeg reads `path` as MPEG-TS (False for anything it cannot open: the caller's
    probe says why)."""
    try:
        with av.open(str(path)) as container:
            return container.format.name == "mpegts"
    except av.FFmpegError:
        return False


def mpegts_as_mp4(source: Path, target: Path) -> bool:
    """If `source` is MPEG-TS, copy it into MP4 at `target` (packets unchanged) and return True.
    MPEG-TS has no index, so seeking in it is by byte position and imprecise: the test clip
    "cuts" as .ts had 3 of its 4 slide changes found 1-2 s early, and an upload's check that its
    end decodes refused every .ts as truncated; the same packets in MP4 behave as the original."""
    if not is_mpegts(source):
        return False
    remux(source, target, "mp4")
    return True


def remux(source: Path, target: Path, format: str, options: dict | None = None) -> None:
    """Copy the video and audio packets of `source` into a new `format` container at `target`
    (FFmpeg muxer options in `options`), without re-encoding: MPEG-TS to MP4, MP4 to HLS."""
    with av.open(str(source)) as src, av.open(str(target), "w", format=format, options=options or {}) as out:
        inputs = [s for s in src.streams if s.type in ("video", "audio")]
        outputs = {s.index: out.add_stream_from_template(s) for s in inputs}
        for packet in src.demux(*inputs):
            if packet.dts is None:  # the demuxer's flush packets
                continue
            packet.stream = outputs[packet.stream.index]
            out.mux(packet)
