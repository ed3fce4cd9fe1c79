"""Long videos in time chunks: plan overlapping time windows of one video, merge their timelines.

A piece is a time window of the one video, not a file: a worker extracts it with
`slidecast.extract(video, out, options, window=piece.window)`, which reads only that stretch
(from the keyframe at or before its start to the first keyframe at or after its end) and gives
slide times in whole-video time. Planning needs the duration alone, so splitting costs nothing.
`merge` keeps each piece's slides in its trusted stretch, joins the last slide of a piece with
the first slide of the next when they show the same screen (a slide that spans a cut is one
slide), and finds returns to earlier slides across pieces (`same_as`). The transcript is made
from the whole file. Known limit: an incremental build whose steps straddle a cut is two slides
(the engine's build test needs both states in one run).
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

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
    """One chunk: the window [start, end) of the video it extracts (seconds; end None: to the
    end of the video), and the stretch its slides are trusted for (`keep_from`, `keep_until`).

    A piece starts OVERLAP seconds before the cut that ends the piece before it: the engine
    drops a screen state shorter than min_slide_duration at either end of a window and knows
    least about a change right at its edges, so a change close to a cut is taken from the piece
    in which it lies well inside (merge keeps each piece's slides up to the middle of the
    overlap). The engine widens each window to keyframes, which only adds overlap."""

    index: int
    start: float = 0.0
    end: float | None = None
    keep_from: float = 0.0
    keep_until: float | None = None

    @property
    def window(self) -> tuple[float, float | None]:
        return self.start, self.end


OVERLAP = 4.0


def plan_pieces(duration: float, chunk_seconds: float) -> list[Piece]:
    """Pieces cut every `chunk_seconds` of `duration`; a last piece shorter than a quarter
    chunk is joined to the one before it. One piece if the video is short."""
    cuts, cut = [], float(chunk_seconds)
    while duration - cut >= chunk_seconds / 4:
        cuts.append(cut)
        cut += chunk_seconds
    pieces = [Piece(0)]
    for index, cut in enumerate(cuts, start=1):
        middle = round(cut - OVERLAP / 2, 3)
        pieces[-1].end, pieces[-1].keep_until = cut, middle
        pieces.append(Piece(index, start=max(0.0, cut - OVERLAP), keep_from=middle))
    return pieces


# ---- merging --------------------------------------------------------------------------------
@dataclass
class PieceResult:
    """A piece's manifest, the folder its pictures are in, and its Piece."""

    manifest: Manifest
    folder: Path
    piece: Piece


def merge(results: list[PieceResult], video: VideoInfo, out_dir: Path) -> Manifest:
    """One manifest for the whole video in `out_dir` (slides/ and thumbs/ copied and renumbered,
    manifest.json not written). `video` describes the whole file; its duration is taken from
    the last piece, whose window ran to the end of the pictures (as a one-piece run measures it)."""
    results = sorted(results, key=lambda r: r.piece.start)
    if results:
        video = replace(video, duration=results[-1].manifest.video.duration)
    out = OutputDir(out_dir)
    out.prepare()
    out.cleanup()
    slides: list[tuple[SlideEntry, Path]] = []
    small = functools.cache(_small)  # this merge's pictures, read once each
    for result in results:
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
    """Copies of the piece's slides that overlap its trusted stretch (returns found anew)."""
    piece = result.piece
    return [replace(e, same_as=None, words=[], keywords=[]) for e in result.manifest.slides
            if e.end > piece.keep_from and (piece.keep_until is None or e.start < piece.keep_until)]


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
