"""Rendered pages of a real deck, and what a change from one page to another is.

Pages are rendered once per deck with pdftoppm (poppler-utils) into a cache folder and read
back as RGB arrays. Whether showing page b after page a is a build is decided from the pixels:
a build only ADDS ink (every pixel that changes was background on page a); a page that removes
or recolours anything, or changes the title, is a slide change.
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


def _background(image: np.ndarray) -> np.ndarray:
    """The page without its thin strokes: a wide median keeps flat fills and gradients."""
    return cv2.medianBlur(image, 31)


def compare(a: Path, b: Path) -> dict:
    """How page b differs from page a: the share of changed pixels, the share of those that
    were ink on a (removed or recoloured content), and whether b is a build of a."""
    old, new = _probe(a).astype(np.int16), _probe(b).astype(np.int16)
    changed = np.abs(new - old).max(axis=2) > INK
    ink = np.abs(old - _background(_probe(a)).astype(np.int16)).max(axis=2) > INK
    n_changed = int(changed.sum())
    removed = int((changed & ink).sum())
    share = n_changed / changed.size
    build = share >= VISIBLE and removed <= max(3, 0.02 * n_changed)
    return {"changed": round(share, 5), "removed": round(removed / max(n_changed, 1), 4),
            "build": bool(build), "same": share < VISIBLE}
