"""Tesseract engine: the `tesseract` binary when installed (optional; not a Python dependency)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

from .base import Word


class TesseractEngine:
    """OCR by running `tesseract IMAGE stdout tsv` (word level, confidences 0..100).

    The binary is called directly, so no Python wrapper is needed; OMP_THREAD_LIMIT=1 because
    parallelism comes from running one process per slide.
    """

    name = "tesseract"

    def __init__(self, threads: int = 1, language: str = "eng"):
        self._threads = max(1, threads)
        self._language = language

    @staticmethod
    def available() -> bool:
        return shutil.which("tesseract") is not None

    def read(self, image_path: Path) -> list[Word]:
        env = dict(os.environ, OMP_THREAD_LIMIT=str(self._threads))
        done = subprocess.run(
            ["tesseract", str(image_path), "stdout", "-l", self._language, "--psm", "3", "tsv"],
            capture_output=True, text=True, env=env, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"tesseract failed on {image_path}: {done.stderr.strip()[:200]}")
        return parse_tsv(done.stdout)


def parse_tsv(tsv: str) -> list[Word]:
    """Words (level 5 rows) of tesseract's TSV output; confidence scaled to 0..1."""
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        left, top = int(row["left"]), int(row["top"])
        box = (left, top, left + int(row["width"]), top + int(row["height"]))
        words.append(Word(text, box, max(0.0, float(row["conf"])) / 100.0))
    return words
