"""RapidOCR engine: PP-OCRv4 detection + recognition models shipped inside the pip wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from .base import Word


class RapidEngine:
    """OCR with rapidocr-onnxruntime; nothing is downloaded, the ONNX models are in the wheel.

    `threads` is onnxruntime's intra-op thread count for this engine: with one engine per
    worker, 1 keeps N workers on N cores instead of N x cores threads fighting.
    """

    name = "rapid"

    def __init__(self, threads: int = 1):
        from rapidocr_onnxruntime import RapidOCR

        # The 180-degree classifier costs time and slides are never upside down.
        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False)

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("rapidocr_onnxruntime") is not None

    def read(self, image_path: Path) -> list[Word]:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {image_path}")
        result, _ = self._ocr(image, use_cls=False, return_word_box=True)
        words: list[Word] = []
        for line in result or []:
            words.extend(_line_words(line))
        return words


def _line_words(line: list) -> list[Word]:
    """Split one recognised line into words, using per-character boxes when the model gave them."""
    quad, text, score = line[0], line[1], float(line[2])
    char_quads = line[3] if len(line) > 3 else None
    char_scores = line[5] if len(line) > 5 else None
    chars = line[4] if len(line) > 4 else None
    if not char_quads or not chars or len(chars) != len(char_quads):
        return _split_evenly(quad, text, score)
    words, current = [], []
    for char, cquad, cscore in zip(chars, char_quads, char_scores or [score] * len(chars)):
        if char.isspace():
            words.append(current)
            current = []
        else:
            current.append((char, _bbox(cquad), float(cscore)))
    words.append(current)
    return [_join_chars(chars_) for chars_ in words if chars_]


def _join_chars(chars: list[tuple[str, tuple, float]]) -> Word:
    boxes = [c[1] for c in chars]
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return Word("".join(c[0] for c in chars), box, min(c[2] for c in chars))


def _split_evenly(quad, text: str, score: float) -> list[Word]:
    """No character boxes: share the line box among the words by character count."""
    x0, y0, x1, y1 = _bbox(quad)
    tokens = text.split()
    total = max(1, len(text))
    words, pos = [], 0
    for token in tokens:
        start = text.index(token, pos)
        pos = start + len(token)
        left = x0 + (x1 - x0) * start / total
        right = x0 + (x1 - x0) * pos / total
        words.append(Word(token, (int(left), y0, int(round(right)), y1), score))
    return words


def _bbox(quad) -> tuple[int, int, int, int]:
    pts = np.asarray(quad, dtype=float).reshape(-1, 2)
    return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(round(pts[:, 0].max())), int(round(pts[:, 1].max())))
