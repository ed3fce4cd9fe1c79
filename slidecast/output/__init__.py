"""Writing OUT: slides/NNN.png, thumbs/NNN.jpg and, last, manifest.json.

Order matters for the promise "a failed run never leaves a manifest that looks complete": a
stale manifest.json (and stale slide images) are removed first; pictures are written to a private
work folder as each screen state ends (so no picture waits in memory), moved into place when the
timeline is known, and the manifest is written last, atomically (temporary file + os.replace).
A run that fails takes back what it wrote (`cleanup(failed=True)`): no slide images, documents or
empty slides/ and thumbs/ folders are left that look like a result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..errors import OutputNotWritable
from .manifest import Manifest

THUMB_WIDTH = 320
PNG_LEVEL = 1  # fast; slides compress well anyway
# One PNG row filter ("up") instead of libpng's choice per row among all five: the same pixels,
# files within a few per cent of the size, encoded in half the time on decoded slide frames
# (docs/benchmarks.md). OpenCV before 4.11 has no such setting and keeps its own choice.
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL] + (
    [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP] if hasattr(cv2, "IMWRITE_PNG_FILTER") else [])
JPEG_QUALITY = 85
# Pictures are encoded by one background thread (OpenCV lets go of the GIL meanwhile), at most
# this many waiting: the decoder keeps going and memory stays bounded.
MAX_PENDING = 3
# The documents a run may write next to manifest.json, by manifest.artifacts key.
ARTIFACT_FILES = {"pdf": "slides.pdf", "markdown": "notes.md", "srt": "transcript.srt",
                  "vtt": "transcript.vtt", "chapters": "chapters.txt", "chapters_vtt": "chapters.vtt",
                  "pptx": "slides.pptx"}
PICTURE_FOLDERS = (("slides", "[0-9]*.png"), ("thumbs", "[0-9]*.jpg"))
DECK_PAGES = ("deck", "page-[0-9]*.png")  # written by --deck alignment (slidecast.deck)


class OutputDir:
    """One run's output folder; see the module docstring for the order of writes."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.work: Path | None = None
        self.created_root = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slidecast-png")
        self._slots = threading.BoundedSemaphore(MAX_PENDING)
        self._pending: list[Future] = []

    def prepare(self) -> None:
        """Create the folders, remove stale results; raise OutputNotWritable with the reason."""
        try:
            self.created_root = not self.root.is_dir()
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "manifest.json").unlink(missing_ok=True)
            (self.root / "explain.json").unlink(missing_ok=True)  # only this run's may be there
            for sub, pattern in PICTURE_FOLDERS:
                (self.root / sub).mkdir(exist_ok=True)
                for stale in (self.root / sub).glob(pattern):
                    stale.unlink()
            self.work = Path(tempfile.mkdtemp(prefix=".work-", dir=self.root))
        except OSError as exc:
            raise OutputNotWritable(f"cannot write to output folder {self.root}: {exc.strerror or exc}") from exc

    def save_picture(self, key: int, rgb: np.ndarray) -> None:
        """Keep the full-resolution picture of screen state `key` (and its thumbnail).

        Written in the background; `flush()` waits for all and raises the first failure.
        """
        self._slots.acquire()
        future = self._writer.submit(self._encode, key, rgb)
        future.add_done_callback(lambda _: self._slots.release())
        self._pending.append(future)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def _encode(self, key: int, rgb: np.ndarray) -> None:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        self._write(self.work / f"{key}.png", bgr, PNG_PARAMS)
        h, w = bgr.shape[:2]
        size = (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w)))
        thumb = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        self._write(self.work / f"{key}.jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])

    def place(self, index: int, key: int) -> tuple[str, str]:
        """Move state `key`'s pictures to slides/NNN.png and thumbs/NNN.jpg; return both paths."""
        image, thumb = f"slides/{index:03d}.png", f"thumbs/{index:03d}.jpg"
        try:
            os.replace(self.work / f"{key}.png", self.root / image)
            os.replace(self.work / f"{key}.jpg", self.root / thumb)
        except OSError as exc:
            raise OutputNotWritable(f"cannot write slide images to {self.root}: {exc.strerror or exc}") from exc
        return image, thumb

    def write_manifest(self, manifest: Manifest) -> Path:
        """Write manifest.json atomically: readers see the old state or the complete new one."""
        target = self.root / "manifest.json"
        tmp = self.root / f".manifest-{os.getpid()}.tmp"
        try:
            tmp.write_text(manifest.to_json(), encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputNotWritable(f"cannot write {target}: {exc.strerror or exc}") from exc
        return target

    def cleanup(self, failed: bool = False) -> None:
        """Stop the writer and remove the private work folder (after success or failure).

        `failed`: also remove what this run put in the folder (see `discard`)."""
        self._writer.shutdown(wait=True)
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None
        if failed:
            self.discard()

    def discard(self) -> None:
        """Remove the slide images, documents and explain.json of a run that failed, then the
        slides/ and thumbs/ folders if empty, and the output folder itself if this run made
        it and nothing else is in it. Stale images were removed by `prepare`, so every image
        here is this run's; a document left from an earlier run would describe images that
        are gone. Best effort: the error that failed the run is the one to report."""
        for name in ("explain.json", *ARTIFACT_FILES.values()):
            _remove(self.root / name)
        for sub, pattern in (*PICTURE_FOLDERS, DECK_PAGES):
            for picture in (self.root / sub).glob(pattern):
                _remove(picture)
            _remove(self.root / sub, folder=True)
        if self.created_root:
            _remove(self.root, folder=True)

    def _write(self, path: Path, img: np.ndarray, params: list[int]) -> None:
        if not cv2.imwrite(str(path), img, params):
            raise OutputNotWritable(f"cannot write image {path}")


def _remove(path: Path, folder: bool = False) -> None:
    """Remove a file, or a folder if it is empty; leave anything else (the user's own)."""
    try:
        path.rmdir() if folder else path.unlink(missing_ok=True)
    except OSError:
        pass  # a folder not empty, a folder where a file was expected, already gone
