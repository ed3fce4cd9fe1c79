"""What every OCR engine returns, and how words become lines, text and a title.

Engines only find words (text, box in image pixels, confidence); putting them in reading order
is done here once, so the engines agree on what "text" means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass
class Word:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in full-resolution image pixels
    confidence: float  # 0..1

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    def to_dict(self, chrome: bool = False, live: bool = False) -> dict:
        """The manifest's word: `chrome` marks slide template text (slidecast.ocr.chrome),
        `live` a word in a live region (slidecast.ocr.live)."""
        return {"text": self.text, "box": list(self.box), "confidence": round(self.confidence, 4),
                "chrome": chrome, "live": live}


@dataclass
class PageText:
    """OCR of one image: words grouped into lines, lines in reading order."""

    lines: list[list[Word]] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line]

    @property
    def text(self) -> str:
        return "\n".join(" ".join(w.text for w in line) for line in self.lines)

    @property
    def title(self) -> str:
        return title_of(self.lines)


class OcrEngine(Protocol):
    name: str

    def read(self, image_path: Path) -> list[Word]:
        """Words found on the image, in any order."""


def group_lines(words: list[Word]) -> list[list[Word]]:
    """Group words into lines (top to bottom), each line's words left to right.

    A word joins a line when its vertical centre lies inside the line's vertical extent; that
    survives slightly rotated camera shots better than comparing top edges. Words side by side
    but far apart horizontally (two columns) stay on one line, which reads fine for slides.
    """
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box[1] + w.box[3]) / 2):
        centre = (word.box[1] + word.box[3]) / 2
        for line in lines:
            top = min(w.box[1] for w in line)
            bottom = max(w.box[3] for w in line)
            if top <= centre <= bottom and _overlaps_enough(word, top, bottom):
                line.append(word)
                break
        else:
            lines.append([word])
    for line in lines:
        line.sort(key=lambda w: w.box[0])
    lines.sort(key=lambda line: min(w.box[1] for w in line))
    return lines


def _overlaps_enough(word: Word, top: int, bottom: int) -> bool:
    # A small word (subscript, bullet) inside a tall title line still joins it; but a word much
    # taller than the line it touches is a different line.
    overlap = min(word.box[3], bottom) - max(word.box[1], top)
    return overlap >= 0.5 * min(word.height, bottom - top)


def title_of(lines: list[list[Word]]) -> str:
    """The slide title: the tallest line in the top third of the text, else the first line.

    Slides put the title at the top in the largest type; a header strip or page number in small
    type above it must not win, hence "tallest" rather than "first".
    """
    if not lines:
        return ""
    top = min(w.box[1] for w in lines[0])
    bottom = max(w.box[3] for w in lines[-1])
    limit = top + (bottom - top) / 3
    candidates = [line for line in lines if min(w.box[1] for w in line) <= limit]
    best = max(candidates, key=_line_height, default=lines[0])
    # Near-equal heights are OCR jitter, not a bigger font: then the first line is the title.
    if _line_height(best) < 1.2 * _line_height(lines[0]):
        best = lines[0]
    return " ".join(w.text for w in best).strip()


def _line_height(line: list[Word]) -> float:
    heights = sorted(w.height for w in line)
    return heights[len(heights) // 2]


# Bullet glyphs are layout, not text: searching or quoting a slide never wants them. OCR reads
# a round bullet as any of these (and beamer's triangles as the arrow heads, which PP-OCRv6's
# alphabet has); "*", "-" and ">" count only as a line's first token.
_BULLETS = set("•·●○◦▪▫■□‣⁃∙▶►▸▷▹")
_LEADING_BULLETS = _BULLETS | set("¢«»*-–—>.")


def page_from_words(words: list[Word]) -> PageText:
    """Reading-order page from an engine's words; empty words and bullet glyphs dropped."""
    kept = [w for w in words if w.text.strip() and not set(w.text.strip()) <= _BULLETS]
    lines = []
    for line in group_lines(kept):
        line = _strip_leading_bullet(line)
        if line:
            lines.append(line)
    return PageText(lines=lines)


def _strip_leading_bullet(line: list[Word]) -> list[Word]:
    first = line[0].text
    if set(first) <= _LEADING_BULLETS:
        return line[1:]
    stripped = first.lstrip("".join(_BULLETS) + ".")
    # "·Compare" or ".The": a bullet glued to the first word (a real word never starts so).
    if stripped != first and stripped[:1].isalpha():
        return [Word(stripped, line[0].box, line[0].confidence)] + line[1:]
    return line
