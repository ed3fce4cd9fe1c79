"""extract(): video in, OUT/manifest.json + slide pictures out. The one entry point.

Stages reported to `progress(stage, fraction, message)`: "decoding" (first pass: packets and
keyframes), "detecting" (second pass: dense decoding where needed, detection), then whatever the
content module reports ("ocr", "transcribing", "generating"). If the callback raises
slidecast.errors.Cancelled, work stops at the next checkpoint and no manifest is written.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import av

from .deck import check_pdf
from .detect import ScreenState, Slide, find_slides
from .detect.live_regions import regions_mask
from .errors import CorruptVideo, InvalidOptions, OutputNotWritable
from .frames import analysis_size
from .heap import map_big_blocks
from .live import live_regions
from .output.manifest import Manifest, SlideEntry, VideoInfo
from .options import ExtractOptions
from .output import OutputDir
from .video import FrameGrabber, Scan, VideoMeta, is_mpegts, probe, remux, scan


def extract(video_path, out_dir, options: ExtractOptions | dict | None = None, progress=None,
            window: tuple[float, float | None] | None = None, sha256: str | None = None,
            explain: bool = False, meta: VideoMeta | None = None) -> Manifest:
    """Find every slide of `video_path` and write OUT (see output.py); return the manifest.

    `window=(start, end)` finds the slides of that stretch only (end None: to the end), for a
    long video split across workers (slidecast.chunks): decoding starts at the keyframe at or
    before `start` and stops at the first keyframe at or after `end`; slide times stay
    whole-video times, and `video` describes the whole file. `sha256`, when the caller already
    knows the file's hash (every piece of a split video), saves reading the whole file again.
    `meta`, when the caller has already probed `video_path` (slidecast.video.probe), saves
    opening it again; an MPEG-TS file is probed anyway as the MP4 it is copied into.
    `explain` also writes OUT/explain.json: every candidate change with its time, measures and
    the rule that kept or rejected it (docs/engine.md).

    Raises a slidecast.errors.SlidecastError subclass for bad input or output (nothing is left
    that looks like a finished result), or Cancelled if `progress` raised it.
    """
    opts = options if isinstance(options, ExtractOptions) else ExtractOptions.from_dict(options)
    map_big_blocks()  # before any container is opened (heap.py: flat memory on long videos)
    check_engines(opts)  # before any work: a bad engine name must not cost a whole decode
    if opts.deck:
        check_pdf(Path(opts.deck))  # nor a deck that is no PDF
    out = OutputDir(out_dir)
    out.prepare()  # first: a stale manifest must not survive any failure below
    try:
        with _seekable(Path(video_path)) as (path, original_sha256):
            meta = meta if meta is not None and meta.path == path else probe(path)
            manifest = _run(meta, out, opts, Progress(progress), window, sha256 or original_sha256, explain)
    except BaseException:  # Ctrl-C too: what this run wrote is taken back
        out.cleanup(failed=True)
        raise
    out.cleanup()
    return manifest


@contextmanager
def _seekable(path: Path):
    """(path, None), or for MPEG-TS the same packets copied into MP4 in a temporary folder and the
    original file's sha256: seeking in MPEG-TS is by byte position and lands seconds off (slide
    times 1-2 s early, issue #13), as an upload's .ts was before the service stored it as MP4."""
    if not is_mpegts(path):
        yield path, None
        return
    with tempfile.TemporaryDirectory(prefix="slidecast-ts-") as folder:
        target = Path(folder) / "video.mp4"
        try:
            remux(path, target, "mp4")
        except av.FFmpegError as exc:
            raise CorruptVideo(f"cannot read the MPEG-TS file {path}: {exc}") from None
        yield target, FileHasher(path).result()


def check_engines(opts: ExtractOptions) -> None:
    """Raise InvalidOptions when the OCR or transcription engine asked for cannot run here."""
    try:
        if opts.ocr:
            from .ocr import resolve_engine_name

            resolve_engine_name(opts.ocr_engine)
        if opts.transcribe:
            from .transcribe import check_engine_name

            check_engine_name(opts.transcribe_engine)
    except ValueError as exc:
        raise InvalidOptions(str(exc)) from None


class Progress:
    """Wraps the caller's callback: fractions clamped to 0..1 and never going back in a stage."""

    def __init__(self, callback):
        self.callback = callback
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        fraction = max(self.last.get(stage, 0.0), min(1.0, max(0.0, float(fraction))))
        self.last[stage] = fraction
        if self.callback is not None:
            self.callback(stage, fraction, message)

    def stage(self, name: str, message: str):
        return lambda fraction: self(name, fraction, message)


class FileHasher(threading.Thread):
    """sha256 of the input, computed in a thread while the first pass reads the same file."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.digest, self.error = path, None, None
        self.start()

    def run(self):
        try:
            h = hashlib.sha256()
            with open(self.path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            self.digest = h.hexdigest()
        except OSError as exc:
            self.error = exc

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        return self.digest


def _run(meta: VideoMeta, out: OutputDir, opts: ExtractOptions, progress: Progress, window=None,
         sha256: str | None = None, explain: bool = False) -> Manifest:
    hasher = None if sha256 else FileHasher(meta.path)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    progress("decoding", 0.0, "reading keyframes")
    size = analysis_size(meta.width, meta.height)
    first = scan(meta, size, progress.stage("decoding", "reading keyframes"), window)
    progress("decoding", 1.0, "keyframes read")
    timings["scan"] = time.perf_counter() - began

    progress("detecting", 0.0, "finding slides")
    pictures = _PictureKeeper(meta, out, size, first)
    began = time.perf_counter()
    try:
        found = find_slides(meta, first, opts, size, pictures, progress.stage("detecting", "finding slides"))
        out.flush()
    finally:
        pictures.close()
    second = time.perf_counter() - began
    stats, slides = found.stats, found.slides
    timings["screen"] = stats.screen_seconds
    timings["decode"] = stats.decode_seconds
    timings["detect"] = stats.detect_seconds
    timings["write"] = pictures.seconds
    timings["other"] = max(0.0, second - stats.screen_seconds - stats.decode_seconds - stats.detect_seconds
                           - pictures.seconds)
    # Candidates, not the result: returns, joins of one deck page and chunk seams can still
    # change the count (a job said "33 slides" and ended with 32).
    progress("detecting", 1.0, f"{len(slides)} slide candidates found")

    video = VideoInfo(round(first.video_end, 3), round(meta.fps, 3), meta.width, meta.height,
                      sha256 or hasher.result(), meta.has_audio)
    began = time.perf_counter()
    live = _live_regions(meta, size, found.plan, slides, opts)
    timings["live"] = time.perf_counter() - began
    manifest = Manifest(video, _entries(slides, out, live), options=opts.to_dict())
    manifest.timings.update({k: round(v, 3) for k, v in timings.items()})
    _run_content(manifest, out.root, meta.path, opts, progress)
    if explain:
        try:
            found.explanation.write(out.root / "explain.json")
        except OSError as exc:
            raise OutputNotWritable(f"cannot write explain.json to {out.root}: {exc.strerror or exc}") from exc
    out.write_manifest(manifest)
    return manifest


def _live_regions(meta: VideoMeta, size, plan, slides: list[Slide], opts) -> list[list[list[int]]]:
    """Each slide picture's live regions (live.py): the detected ones that move while it is on
    screen, and the user's ignore regions."""
    fixed = regions_mask(opts.ignore_regions, plan.meter.grid)
    shown = [(s.shown.start, s.shown.end, s.shown.best.t) for s in slides]
    picture = plan.picture or plan.crop
    keys = [gop.start for gop in plan.gops]
    return live_regions(meta, size, plan.meter, plan.crop, picture, fixed, keys, shown)


def _entries(slides: list[Slide], out: OutputDir, live: list[list[list[int]]]) -> list[SlideEntry]:
    entries = []
    for index, (slide, boxes) in enumerate(zip(slides, live), start=1):
        image, thumb = out.place(index, slide.shown.key)
        entries.append(SlideEntry(index, round(slide.start, 3), round(slide.end, 3), image, thumb,
                                  same_as=slide.same_as, frame_time=round(slide.shown.best.t, 3),
                                  live_regions=boxes, build_step=slide.build_step))
    return entries


def _run_content(manifest, out_root: Path, video_path: Path, opts, progress) -> None:
    """The content module (OCR, transcript, PDF, notes) fills in the manifest, if installed."""
    if importlib.util.find_spec("slidecast.content") is None:
        return
    content = importlib.import_module("slidecast.content")
    content.run(manifest, out_root, video_path, opts, progress)


class _PictureKeeper:
    """Writes each finished screen state's best frame to the work folder, then forgets it.

    Pictures are cropped to the slide (letterbox bars and a speaker view's camera tile
    removed); the build test's colour picture (keep_fine) shows the whole content area.
    The work (colour conversion of the full frame, or a seek to decode it again; the colour
    picture; packing) is done on a thread of its own while the detector goes on, at most
    MAX_PENDING states behind: `finish` waits for it, before the timeline needs the pictures.
    """

    MAX_PENDING = 4  # states whose full-size frame is held until their picture is made

    def __init__(self, meta: VideoMeta, out: OutputDir, size, first: Scan):
        self.meta, self.out, self.size, self.spill = meta, out, size, first.spill
        self.keys, self.seconds = 0, 0.0
        self.grabber = FrameGrabber(meta, {key.t: key for key in first.keyframes}, first.decoder)
        self.box = self.slide = (0, 0, meta.width, meta.height)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slidecast-keep")
        self._slots = threading.BoundedSemaphore(self.MAX_PENDING)
        self._pending: list[Future] = []

    def set_crop(self, crop, picture) -> None:
        self.box, self.slide = self._scaled(crop), self._scaled(picture)

    def _scaled(self, box) -> tuple[int, int, int, int]:
        sx, sy = self.meta.width / self.size[0], self.meta.height / self.size[1]
        x0, y0, x1, y1 = box
        return round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)

    def keep(self, state: ScreenState) -> None:
        state.key = self.keys  # in the order states end, whichever thread makes the picture
        self.keys += 1
        self._slots.acquire()
        future = self._worker.submit(self._keep, state)
        future.add_done_callback(lambda _: self._slots.release())
        self._pending.append(future)

    def _keep(self, state: ScreenState) -> None:
        began = time.perf_counter()
        best = state.best
        rgb = best.source.to_ndarray(format="rgb24") if best.source is not None else self.grabber.grab_rgb(best.t)
        x0, y0, x1, y1 = self.box
        sx0, sy0, sx1, sy1 = self.slide
        self.out.save_picture(state.key, rgb[sy0:sy1, sx0:sx1])
        state.keep_fine(rgb[y0:y1, x0:x1], self.spill)
        state.pack(self.spill)  # drops the decoded frame too: memory stays flat
        self.seconds += time.perf_counter() - began

    def finish(self) -> None:
        """Wait until every state handed to `keep` is kept; raise the first failure."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self):
        for future in self._pending:
            future.cancel()
        self._worker.shutdown(wait=True)
        self.grabber.close()
