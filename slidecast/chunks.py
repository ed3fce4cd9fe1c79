"""Long videos in time chunks: plan overlapping time windows of one video, merge their timelines.

A piece is a time window of the one video, not a file: a worker extracts it with
`slidecast.extract(video, out, options, window=piece.window)`, which reads only that stretch
(from the keyframe at or before its start to the first keyframe at or after its end) and gives
slide times in whole-video time. Planning needs the duration alone, so splitting costs nothing.
`merge` keeps each piece's slides in its trusted stretch, joins the last slide of a piece with
the first slide of the next when they show the same screen (a slide that spans a cut is one
slide), and finds returns to earlier slides across pieces (`same_as`). Within a piece the
engine's decisions stand: only a piece's first slide is joined to the slide before it.

Builds: a piece shows an incremental build (bullets appearing one by one) by its fullest step,
so a build that straddles a cut ends one piece on an earlier step than the next piece starts
with. Unless the run keeps builds, merge joins the two when the later picture is the earlier one
with content only added (the engine's build test plus a per-pixel check, `_BuildSteps`); the
slide then shows the fuller picture from the build's start. Beside a webcam the test often
fails (the live-region mask is not in the manifest), as it did before this check.

The transcript is made from the whole file.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from .detect.builds import is_build
from .detect.cells import ChangeMeter
from .detect.live_regions import regions_mask
from .errors import CorruptVideo
from .frames import analysis_size
from .output.manifest import Manifest, SlideEntry, VideoInfo
from .options import ExtractOptions
from .output import OutputDir

# Mean absolute difference (0..255) of two slide pictures at COMPARE_SIZE below which they show
# the same screen. Video noise and compression stay far below; one changed line of text does not.
SAME_SCREEN = 2.5
COMPARE_SIZE = (192, 108)
# A build step across a cut (_ink_kept), on pictures normalised as the engine does (background
# level 0, ink contrast 1): a pixel differs when it moved by more than PIXEL_CHANGE, it was ink
# when INK_LEVEL or more from the background, and at most ON_INK of the differing pixels may
# have been ink or beside it (a pointer, a webcam corner, ringing at a new line's edge).
PIXEL_CHANGE = 0.25
INK_LEVEL = 0.25
ON_INK = 0.2


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
    steps = _BuildSteps(results[0].manifest.options) if results else None
    for result in results:
        for position, entry in enumerate(_trusted(result)):
            picture = result.folder / entry.image
            if slides and position == 0 and _joined(slides, entry, picture, steps, small):
                continue
            if slides:  # pieces disagree by a little near the cut: the later piece decides
                entry.start = max(entry.start, slides[-1][0].start)
                slides[-1][0].end = entry.start
            slides.append((entry, picture))
    entries = _renumber(slides, out_dir, small, steps)
    timings: dict[str, float] = {}
    for result in results:
        for key, value in result.manifest.timings.items():
            timings[key] = round(timings.get(key, 0.0) + value, 3)
    options = results[0].manifest.options if results else {}
    return Manifest(video, entries, timings=timings, options=options)


def _joined(slides: list, entry: SlideEntry, picture: Path, steps: "_BuildSteps", small) -> bool:
    """Join a piece's first slide to the last slide so far when they are one slide across the
    cut: a later step of its build (unless keep_builds), which then shows the fuller picture
    from the build's start, or the same screen. Within a piece the engine has decided.
    True if joined."""
    last, last_picture = slides[-1]
    if steps.added(last_picture, picture):  # tested first: one bullet more can pass same_screen
        if steps.keep_builds:
            entry.build_step = True
            return False
        slides[-1] = (replace(entry, start=last.start), picture)
        return True
    if same_screen(last_picture, picture, small):
        last.end = max(last.end, entry.end)
        return True
    return False


def _trusted(result: PieceResult) -> list[SlideEntry]:
    """Copies of the piece's slides that overlap its trusted stretch (returns found anew)."""
    piece = result.piece
    return [replace(e, same_as=None, words=[], keywords=[]) for e in result.manifest.slides
            if e.end > piece.keep_from and (piece.keep_until is None or e.start < piece.keep_until)]


def _renumber(slides, out_dir: Path, small, steps: "_BuildSteps") -> list[SlideEntry]:
    """Copy pictures to slides/NNN.png, thumbs/NNN.jpg in timeline order; mark returns (two
    steps of one build can pass same_screen, and are not a return: keep_builds)."""
    entries, distinct = [], []  # distinct: (index, picture) of first appearances
    for index, (entry, picture) in enumerate(slides, start=1):
        image, thumb = f"slides/{index:03d}.png", f"thumbs/{index:03d}.jpg"
        shutil.copyfile(picture, out_dir / image)
        shutil.copyfile(picture.parent.parent / entry.thumbnail, out_dir / thumb)
        first = next((i for i, p in distinct
                      if same_screen(p, picture, small) and not steps.step_apart(p, picture)), None)
        if first is None:
            distinct.append((index, picture))
        entries.append(replace(entry, index=index, image=image, thumbnail=thumb, same_as=first))
    return entries


class _BuildSteps:
    """Whether the first slide of a piece is a later step of the build that ended the piece
    before: its picture is the earlier picture with content only added. A piece merges the
    build steps it sees into one slide showing the fullest state, so a build whose steps
    straddle a cut ends one piece showing an earlier step than the next piece starts with.
    The engine's own test decides (detect.builds.is_build on grey pictures at the analysis
    size, with the run's sensitivity and ignore regions), and _ink_kept checks it per pixel:
    what changed must have been background in the earlier picture, so a new slide that shares
    the title or template (it changes existing text) and a return to an earlier slide are not
    joined. The engine's live-region mask is not in the manifest, so a webcam's changing cells
    often fail the test: such a step is then joined only if same_screen passes (the earlier
    picture is kept) and is two slides otherwise."""

    def __init__(self, options: dict):
        opts = ExtractOptions.from_dict(options)
        self.keep_builds = opts.builds_kept
        self.meter = ChangeMeter(opts.sensitivity)
        self.meter.set_mask(regions_mask(opts.ignore_regions, self.meter.grid))
        # merge asks about the same pictures again and again (every return candidate)
        self._normalised = functools.cache(self._normalise)
        self._free = functools.cache(self._free_pixels)

    def added(self, earlier: Path, later: Path) -> bool:
        """Whether picture `later` is picture `earlier` with content only added."""
        old = self._normalised(earlier)
        new = self._normalised(later, old.shape)
        return is_build(old, new, self.meter) and _ink_kept(old, new, self._free(old.shape))

    def _normalise(self, path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
        return self.meter.normalise(_analysis_gray(path, shape))

    def _free_pixels(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixels outside the ignore regions, for pictures of `shape`."""
        return cv2.resize((~self.meter.mask).astype(np.uint8), shape[::-1], interpolation=cv2.INTER_NEAREST) > 0

    def step_apart(self, a: Path, b: Path) -> bool:
        """Whether two pictures are different steps of one build, in either order."""
        return self.added(a, b) or self.added(b, a)


def _ink_kept(old: np.ndarray, new: np.ndarray, free: np.ndarray) -> bool:
    """Whether the pixels (inside `free`) that differ between two normalised pictures were
    background in the old one: not ink (far from the background level) nor next to ink.

    A second look at what is_build decides per cell: on a filmed screen (synthetic `camera`)
    the dark room around the slide sets the ink contrast, the text's cells look like background,
    and is_build took a denser slide followed by a sparser one for a build (2 of 192 pairs of
    different slides; a return across a cut would have been joined). Share of differing pixels
    on old ink, measured on 8 synthetic clips (7 slides, 8 build steps each): build steps 0.00
    (clean, noise 4, flicker, crf 35, letterbox), up to 0.09 with a pointer, 0.14 with a
    webcam, 0.26 filmed; different slides at least 0.25 (0.20 filmed), and 0.55 and 0.70 for
    the two that is_build let through."""
    changed = (np.abs(new - old) > PIXEL_CHANGE) & free
    if not changed.any():
        return False
    ink = cv2.dilate((np.abs(old) > INK_LEVEL).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return float((changed & ink).sum()) <= ON_INK * float(changed.sum())


def _analysis_gray(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A slide picture as the engine sees it: grey, about ANALYSIS_WIDTH wide (or `shape`)."""
    image = _gray(path)
    height, width = shape or analysis_size(image.shape[1], image.shape[0])[::-1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def same_screen(a: Path, b: Path, small=None) -> bool:
    """Whether two slide pictures show the same screen (see SAME_SCREEN). `small` may be a
    caching version of the picture reader (merge compares each slide with many others)."""
    small = small or _small
    first, second = small(a), small(b)
    return float(np.mean(np.abs(first.astype(np.int16) - second))) < SAME_SCREEN


def _small(path: Path) -> np.ndarray:
    return cv2.resize(_gray(path), COMPARE_SIZE, interpolation=cv2.INTER_AREA)


def _gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise CorruptVideo(f"cannot read slide picture {path}")
    return image
