"""Rendered pages of a real deck, and what a change from one page to another is.

Pages are rendered once per deck with pdftoppm (poppler-utils) into a cache folder and read
back as RGB arrays. Whether showing page b after page a is a build is decided from the pixels:
a build only ADDS ink (every pixel that changes was background on page a); a page that removes
or recolours anything, or changes the title, is a slide change. A build drawn over a picture
(not over the page's paper) counts as a change: the picture's pixels are ink.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

LONG_SIDE = 1920     # pixels of a page's longer side in the cache
PROBE_WIDTH = 480    # pixels of the width the page comparisons run at
INK = 40             # per-channel difference that counts as ink / as a change (0-255)
VISIBLE = 0.0005     # share of the page that must change for two pages to count as different


def render_deck(pdf: Path, first: int, last: int, cache: Path) -> list[Path]:
    """PNG files of pages first..last (1-based) of `pdf`, rendered once into `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    files = [cache / f"page-{n:04d}.png" for n in range(first, last + 1)]
    if not all(f.exists() for f in files):
        subprocess.run(["pdftoppm", "-f", str(first), "-l", str(last), "-scale-to", str(LONG_SIDE),
                        "-png", str(pdf), str(cache / "raw")], check=True)
        for raw in sorted(cache.glob("raw-*.png")):
            raw.rename(cache / f"page-{int(raw.stem.rsplit('-', 1)[1]):04d}.png")
    return files


@lru_cache(maxsize=256)
def load(path: Path) -> np.ndarray:
    """A cached page as an RGB uint8 array (read-only: copy before drawing on it)."""
    image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    image.setflags(write=False)
    return image


@lru_cache(maxsize=256)
def _probe(path: Path) -> np.ndarray:
    image = load(path)
    h, w = image.shape[:2]
    return cv2.resize(image, (PROBE_WIDTH, round(h * PROBE_WIDTH / w)), interpolation=cv2.INTER_AREA)


def _ink(image: np.ndarray) -> np.ndarray:
    """Pixels that are not page background: they differ from the local background (a wide
    median, which keeps gradients) or from the page's most common colour (so a large flat fill,
    such as a title band, is ink too, not background)."""
    local = np.abs(image.astype(np.int16) - cv2.medianBlur(image, 31)).max(axis=2) > INK
    colours, counts = np.unique((image // 16).reshape(-1, 3), axis=0, return_counts=True)
    paper = colours[counts.argmax()].astype(np.int16) * 16 + 8
    return local | (np.abs(image.astype(np.int16) - paper).max(axis=2) > INK)


def blank(page: Path) -> bool:
    """A page with (almost) nothing on it, such as a document's empty verso page."""
    return float(_ink(_probe(page)).mean()) < 0.002


def compare(a: Path, b: Path) -> dict:
    """How page b differs from page a: the share of changed pixels, the share of those that
    were ink on a (removed or recoloured content), and whether b is a build of a."""
    old, new = _probe(a).astype(np.int16), _probe(b).astype(np.int16)
    changed = np.abs(new - old).max(axis=2) > INK
    ink = _ink(_probe(a))
    n_changed = int(changed.sum())
    removed = int((changed & ink).sum())
    share = n_changed / changed.size
    # Anti-aliasing next to old strokes leaves a few pixels; a real build here removes <= 6 of
    # them, while a page that hides one short line of text removes >= 80 at this size.
    build = share >= VISIBLE and removed <= min(max(8, 0.005 * n_changed), 0.0002 * changed.size)
    return {"changed": round(share, 5), "removed": round(removed / max(n_changed, 1), 4),
            "build": bool(build), "same": share < VISIBLE}
