"""Long videos in time chunks: cut a video into pieces at keyframes, merge their timelines.

A worker extracts each piece with `slidecast.extract` as if it were a video of its own; `merge`
then shifts every piece's slides to the time of the whole video and joins the last slide of a
piece with the first slide of the next when they show the same screen (a slide that spans a cut
is one slide), and finds returns to earlier slides across pieces (`same_as`).

Pieces are cut by copying packets (no re-encoding) from one keyframe to the next, so cutting a
40-minute video takes seconds and every piece starts with a decodable picture. Only the video
stream is copied: the transcript is made from the whole file. Known limit: an incremental build
whose steps straddle a cut is two slides (the engine's build test needs both states in one run).
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import av
import cv2
import numpy as np

from .errors import CorruptVideo
from .manifest import Manifest, SlideEntry, VideoInfo
from .output import OutputDir

# Mean absolute difference (0..255) of two slide pictures at COMPARE_SIZE below which they show
# the same screen. Video noise and compression stay far below; one changed line of text does not.
SAME_SCREEN = 2.5
COMPARE_SIZE = (192, 108)


@dataclass
class Piece:
    """One chunk: its file, where its first picture is in the whole video (`offset`, seconds),
    and the stretch of the whole video its slides are trusted for (`keep_from`, `keep_until`).

    Pieces overlap by at least OVERLAP seconds: the engine drops a screen state shorter than
    min_slide_duration at either end of a piece, so a change close to a cut is taken from the
    piece in which it lies well inside (merge keeps each piece's slides up to the middle of
    the overlap)."""

    index: int
    path: Path
    offset: float
    start: float = 0.0  # keyframe where the piece starts (whole-video time)
    end: float | None = None  # keyframe where it stops (exclusive); None: the end of the video
    keep_from: float = 0.0
    keep_until: float | None = None


OVERLAP = 4.0


def plan_pieces(keyframes: list[float], duration: float, chunk_seconds: float, folder: Path) -> list[Piece]:
    """Pieces of about `chunk_seconds`, cut at keyframes; a last piece shorter than a quarter
    chunk is joined to the one before it."""
    keyframes = sorted(keyframes)
    cuts, target = [], chunk_seconds
    for t in keyframes:
        if t >= target and duration - t >= chunk_seconds / 4:
            cuts.append(t)
            target = t + chunk_seconds
    pieces = [Piece(0, folder / "000.mp4", 0.0)]
    for i, c in enumerate(cuts, start=1):
        lead = max([k for k in keyframes if k <= c - OVERLAP] or [0.0])
        middle = round((lead + c) / 2, 3)
        pieces[-1].end, pieces[-1].keep_until = c, middle
        pieces.append(Piece(i, folder / f"{i:03d}.mp4", lead, start=lead, keep_from=middle))
    return pieces


def keyframe_times(path: Path) -> tuple[list[float], float]:
    """Times of the video's keyframes (from the packet index, nothing decoded) and its duration."""
    with _open(path) as container:
        stream = container.streams.video[0]
        start = _stream_start(stream)
        times, end = [], 0.0
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            t = float(packet.pts * stream.time_base) - start
            end = max(end, t)
            if packet.is_keyframe:
                times.append(t)
    return times, end


def cut(path: Path, out_dir: Path, chunk_seconds: float) -> list[Piece]:
    """Cut `path` into overlapping pieces of about `chunk_seconds` (see Piece); one if short."""
    keyframes, duration = keyframe_times(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces = plan_pieces(keyframes, duration, chunk_seconds, out_dir)
    source_start = _start_of(path)
    _copy_pieces(path, pieces)
    for piece in pieces:  # the engine counts a piece's time from its first picture
        piece.offset = round(piece.offset - source_start + _start_of(piece.path), 6)
    return pieces


def _stream_start(stream) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


def _start_of(path: Path) -> float:
    with _open(path) as container:
        return _stream_start(container.streams.video[0])


def _copy_pieces(path: Path, pieces: list[Piece]) -> None:
    """One pass over the packets; each goes to every piece whose keyframe range holds its GOP."""
    writers: dict[int, _PieceWriter] = {}
    with _open(path) as source:
        stream = source.streams.video[0]
        start, gop = _stream_start(stream), 0.0
        try:
            for packet in source.demux(stream):
                if packet.dts is None and packet.pts is None:
                    continue
                if packet.is_keyframe:
                    gop = float((packet.pts if packet.pts is not None else packet.dts) * stream.time_base) - start
                for piece in pieces:
                    inside = piece.start - 1e-6 <= gop and (piece.end is None or gop < piece.end - 1e-6)
                    if inside and piece.index not in writers and packet.is_keyframe:
                        writers[piece.index] = _PieceWriter(piece, stream, packet)
                    if inside and piece.index in writers:
                        writers[piece.index].add(packet)
                    elif not inside and piece.index in writers:
                        writers.pop(piece.index).close()
        finally:
            for writer in writers.values():
                writer.close()


class _PieceWriter:
    """Copies packets into one piece with timestamps shifted to start at 0; records the offset."""

    def __init__(self, piece: Piece, stream, first_packet):
        self.piece = piece
        self.out = av.open(str(piece.path), "w", format="mp4")
        self.stream = self.out.add_stream_from_template(stream)
        self.base = first_packet.dts if first_packet.dts is not None else first_packet.pts
        self.time_base = stream.time_base

    def add(self, packet) -> None:
        # A packet may go to two overlapping pieces: each gets its own copy.
        copy = av.Packet(bytes(packet))
        copy.pts = None if packet.pts is None else packet.pts - self.base
        copy.dts = None if packet.dts is None else packet.dts - self.base
        copy.time_base = packet.time_base
        copy.is_keyframe = packet.is_keyframe
        copy.stream = self.stream
        self.out.mux(copy)

    def close(self) -> None:
        self.out.close()
        # Shifted time 0 is `base` in the source's raw time (cut() makes it a video time).
        self.piece.offset = float(self.base * self.time_base)


def _open(path: Path):
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise CorruptVideo(f"cannot read the video to cut it into chunks: {path}") from exc


# ---- merging --------------------------------------------------------------------------------
@dataclass
class PieceResult:
    """A piece's manifest, the folder its pictures are in, and its Piece."""

    manifest: Manifest
    folder: Path
    piece: Piece


def merge(results: list[PieceResult], video: VideoInfo, out_dir: Path) -> Manifest:
    """One manifest for the whole video in `out_dir` (slides/ and thumbs/ copied and renumbered,
    manifest.json not written). `video` describes the whole file."""
    out = OutputDir(out_dir)
    out.prepare()
    out.cleanup()
    slides: list[tuple[SlideEntry, Path]] = []
    small = functools.cache(_small)  # this merge's pictures, read once each
    for result in sorted(results, key=lambda r: r.piece.start):
        for entry in _trusted(result):
            picture = result.folder / entry.image
            if slides and same_screen(slides[-1][1], picture, small):
                slides[-1][0].end = max(slides[-1][0].end, entry.end)  # one slide across the cut
                continue
            if slides:  # pieces disagree by a little near the cut: the later piece decides
                entry.start = max(entry.start, slides[-1][0].start)
                slides[-1][0].end = entry.start
            slides.append((entry, picture))
    entries = _renumber(slides, out_dir, small)
    timings: dict[str, float] = {}
    for result in results:
        for key, value in result.manifest.timings.items():
            timings[key] = round(timings.get(key, 0.0) + value, 3)
    options = results[0].manifest.options if results else {}
    return Manifest(video, entries, timings=timings, options=options)


def _trusted(result: PieceResult) -> list[SlideEntry]:
    """The piece's slides in whole-video time that overlap its trusted stretch."""
    piece = result.piece
    moved = [_shifted(e, piece.offset) for e in result.manifest.slides]
    return [e for e in moved if e.end > piece.keep_from
            and (piece.keep_until is None or e.start < piece.keep_until)]


def _shifted(entry: SlideEntry, offset: float) -> SlideEntry:
    return replace(entry, start=round(entry.start + offset, 3), end=round(entry.end + offset, 3),
                   frame_time=round(entry.frame_time + offset, 3), same_as=None, words=[], keywords=[])


def _renumber(slides, out_dir: Path, small) -> list[SlideEntry]:
    """Copy pictures to slides/NNN.png, thumbs/NNN.jpg in timeline order; mark returns."""
    entries, distinct = [], []  # distinct: (index, picture) of first appearances
    for index, (entry, picture) in enumerate(slides, start=1):
        image, thumb = f"slides/{index:03d}.png", f"thumbs/{index:03d}.jpg"
        shutil.copyfile(picture, out_dir / image)
        shutil.copyfile(picture.parent.parent / entry.thumbnail, out_dir / thumb)
        first = next((i for i, p in distinct if same_screen(p, picture, small)), None)
        if first is None:
            distinct.append((index, picture))
        entries.append(replace(entry, index=index, image=image, thumbnail=thumb, same_as=first))
    return entries


def same_screen(a: Path, b: Path, small=None) -> bool:
    """Whether two slide pictures show the same screen (see SAME_SCREEN). `small` may be a
    caching version of the picture reader (merge compares each slide with many others)."""
    small = small or _small
    first, second = small(a), small(b)
    return float(np.mean(np.abs(first.astype(np.int16) - second))) < SAME_SCREEN


def _small(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise CorruptVideo(f"cannot read slide picture {path}")
    return cv2.resize(image, COMPARE_SIZE, interpolation=cv2.INTER_AREA)
