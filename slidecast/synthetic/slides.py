"""Drawing of synthetic lecture slides: title bar, bullet text in a real font, simple figures.

A slide's content depends only on (deck seed, slide_id); a build step only decides how many of
its bullets are visible. Slides are drawn at twice the target size and reduced, so lines and
text are anti-aliased like a real presentation export.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import text as words

SUPERSAMPLE = 2
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")
FONT_FILES = {
    (False, False): ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf"),
    (True, False): ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf"),
    (False, True): ("DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "Times New Roman.ttf"),
    (True, True): ("DejaVuSerif-Bold.ttf", "LiberationSerif-Bold.ttf", "Times New Roman Bold.ttf"),
}


@lru_cache(maxsize=None)
def _font_path(bold: bool, serif: bool) -> str | None:
    names = FONT_FILES[(bold, serif)]
    for root in FONT_DIRS:
        base = Path(root)
        if not base.is_dir():
            continue
        for name in names:
            found = next(base.rglob(name), None)
            if found:
                return str(found)
    return None


@lru_cache(maxsize=None)
def load_font(size: int, bold: bool = False, serif: bool = False) -> ImageFont.ImageFont:
    """A TrueType font of `size` px; PIL's bundled font when no TTF is on the machine."""
    path = _font_path(bold, serif) or _font_path(bold, False) or _font_path(False, False)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class DeckStyle:
    background: tuple[int, int, int]
    accent: tuple[int, int, int]
    text: tuple[int, int, int]
    title_bar: bool
    serif: bool
    topic: str


@dataclass
class SlideContent:
    slide_id: int
    title: str
    bullets: list[str]
    figure: str | None  # "bar", "line", "diagram" or None
    figure_seed: int
    texts: list[str] = field(default_factory=list)


BACKGROUNDS = ((255, 255, 255), (250, 248, 240), (244, 247, 252), (248, 248, 248), (255, 253, 246))
ACCENTS = ((31, 78, 140), (150, 30, 45), (20, 110, 90), (90, 60, 140), (200, 90, 20), (40, 40, 40))


def deck_style(seed: int) -> DeckStyle:
    """The look shared by all slides of one deck (background, accent colour, title style, font)."""
    rng = np.random.default_rng([seed, 7])
    return DeckStyle(
        background=BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],
        accent=ACCENTS[int(rng.integers(len(ACCENTS)))],
        text=(25, 25, 30) if rng.random() < 0.6 else (45, 50, 60),
        title_bar=bool(rng.random() < 0.5),
        serif=bool(rng.random() < 0.3),
        topic=words.TOPICS[int(rng.integers(len(words.TOPICS)))],
    )


def slide_content(seed: int, slide_id: int, style: DeckStyle) -> SlideContent:
    """Title, bullets and figure kind of one slide; distinct per slide_id within a deck."""
    rng = np.random.default_rng([seed, slide_id, 11])
    figure = [None, None, "bar", "line", "diagram"][int(rng.integers(5))]
    count = int(rng.integers(3, 5)) if figure else int(rng.integers(4, 6))
    return SlideContent(
        slide_id=slide_id,
        title=words.title(rng, style.topic),
        bullets=[words.sentence(rng, style.topic) for _ in range(count)],
        figure=figure,
        figure_seed=int(rng.integers(1 << 30)),
    )


def visible_bullets(total: int, step: int, steps: int) -> int:
    """How many bullets build step `step` (0-based) of `steps` shows; the last step shows all."""
    groups = np.array_split(np.arange(total), steps)
    return int(sum(len(g) for g in groups[: step + 1]))


def render_slide(content: SlideContent, style: DeckStyle, size: tuple[int, int],
                 step: int = 0, steps: int = 1) -> tuple[np.ndarray, list[str]]:
    """RGB uint8 image (h, w, 3) of one build state, and the text lines drawn on it in order."""
    w, h = size
    big = Image.new("RGB", (w * SUPERSAMPLE, h * SUPERSAMPLE), style.background)
    pen = _Pen(ImageDraw.Draw(big), big.size, style)
    pen.title(content.title)
    shown = content.bullets[: visible_bullets(len(content.bullets), step, steps)]
    column = 0.52 if content.figure else 0.9
    pen.bullets(shown, column)
    if content.figure:
        box = (0.60, 0.27, 0.96, 0.86)
        FIGURES[content.figure](pen, box, np.random.default_rng(content.figure_seed))
    pen.footer(f"{style.topic}", str(content.slide_id))
    small = big.resize((w, h), Image.LANCZOS)
    return np.asarray(small, dtype=np.uint8).copy(), pen.texts


class _Pen:
    """Draws on the supersampled canvas in fractional coordinates and records drawn text."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: tuple[int, int], style: DeckStyle):
        self.draw, self.style = draw, style
        self.w, self.h = size
        self.texts: list[str] = []

    def px(self, fx: float, fy: float) -> tuple[int, int]:
        return int(fx * self.w), int(fy * self.h)

    def font(self, rel: float, bold: bool = False) -> ImageFont.ImageFont:
        return load_font(max(8, int(rel * self.h)), bold, self.style.serif)

    def text(self, xy, text, font, fill, anchor="la"):
        self.draw.text(xy, text, font=font, fill=fill, anchor=anchor)
        self.texts.append(text)

    def title(self, text: str) -> None:
        font = self.font(0.072, bold=True)
        rel = 0.072
        while self.draw.textlength(text, font=font) > 0.9 * self.w and rel > 0.04:
            rel -= 0.004
            font = self.font(rel, bold=True)
        if self.style.title_bar:
            self.draw.rectangle([0, 0, self.w, int(0.17 * self.h)], fill=self.style.accent)
            self.text(self.px(0.05, 0.085), text, font, (255, 255, 255), anchor="lm")
        else:
            self.text(self.px(0.05, 0.09), text, font, self.style.accent, anchor="lm")
            y = int(0.155 * self.h)
            self.draw.line([self.px(0.05, 0)[0], y, self.px(0.95, 0)[0], y],
                           fill=self.style.accent, width=max(2, self.h // 180))

    def bullets(self, items: list[str], column: float) -> None:
        font = self.font(0.047)
        line_h = int(0.047 * self.h * 1.4)
        x0, y = self.px(0.08, 0.25)
        width = int((column - 0.08) * self.w)
        dot = max(3, line_h // 7)
        for item in items:
            cy = y + line_h // 2
            self.draw.ellipse([x0 - 4 * dot, cy - dot, x0 - 2 * dot, cy + dot], fill=self.style.accent)
            for line in _wrap(item, font, width, self.draw):
                self.text((x0, y), line, font, self.style.text)
                y += line_h
            y += line_h // 3

    def footer(self, left: str, right: str) -> None:
        font = self.font(0.032)
        grey = (120, 120, 125)
        self.text(self.px(0.05, 0.955), left, font, grey, anchor="lm")
        self.text(self.px(0.95, 0.955), right, font, grey, anchor="rm")


def _wrap(text: str, font, width: int, draw: ImageDraw.ImageDraw) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return lines + ([current] if current else [])


def _axes(pen: _Pen, box, rng) -> tuple[int, int, int, int]:
    x0, y0 = pen.px(box[0] + 0.05, box[1] + 0.06)
    x1, y1 = pen.px(box[2], box[3] - 0.08)
    line = max(2, pen.h // 300)
    pen.draw.line([x0, y0, x0, y1, x1, y1], fill=(60, 60, 60), width=line)
    font = pen.font(0.03)
    pen.text(pen.px(box[0], box[1]), words.label(rng), font, (60, 60, 60))
    return x0, y0, x1, y1


def _bar_chart(pen: _Pen, box, rng) -> None:
    x0, y0, x1, y1 = _axes(pen, box, rng)
    count = int(rng.integers(3, 6))
    slot = (x1 - x0) / count
    font = pen.font(0.026)
    for i, value in enumerate(rng.uniform(0.2, 0.95, count)):
        left = x0 + slot * (i + 0.2)
        top = y1 - value * (y1 - y0)
        shade = tuple(int(c + (255 - c) * 0.35 * (i % 2)) for c in pen.style.accent)
        pen.draw.rectangle([left, top, left + slot * 0.6, y1], fill=shade)
        pen.text((left + slot * 0.3, y1 + 6), str(int(rng.integers(2000, 2030))), font,
                 (70, 70, 70), anchor="ma")


def _line_plot(pen: _Pen, box, rng) -> None:
    x0, y0, x1, y1 = _axes(pen, box, rng)
    colors = (pen.style.accent, (220, 120, 30))
    font = pen.font(0.026)
    for k in range(int(rng.integers(1, 3))):
        walk = np.cumsum(rng.normal(0, 1, 40))
        walk = np.convolve(walk, np.ones(5) / 5, mode="valid")
        walk = (walk - walk.min()) / (np.ptp(walk) + 1e-9)
        xs = np.linspace(x0 + 8, x1 - 8, len(walk))
        ys = y1 - 8 - walk * (y1 - y0 - 30)
        pen.draw.line(list(zip(xs.tolist(), ys.tolist())), fill=colors[k], width=max(3, pen.h // 200))
        pen.text((x1 - 10, y0 + 10 + k * int(0.04 * pen.h)), words.label(rng), font, colors[k],
                 anchor="ra")


def _diagram(pen: _Pen, box, rng) -> None:
    count = int(rng.integers(3, 5))
    font = pen.font(0.03)
    bx0, by0 = pen.px(box[0] + 0.04, box[1])
    bx1, by1 = pen.px(box[2] - 0.04, box[3])
    step = (by1 - by0) / count
    centers = []
    for i in range(count):
        top = by0 + step * i + step * 0.15
        bottom = by0 + step * (i + 1) - step * 0.15
        pen.draw.rounded_rectangle([bx0, top, bx1, bottom], radius=int(0.02 * pen.h),
                                   outline=pen.style.accent, width=max(2, pen.h // 250),
                                   fill=(235, 240, 248) if i % 2 else (250, 250, 250))
        pen.text(((bx0 + bx1) / 2, (top + bottom) / 2), words.label(rng), font, pen.style.text,
                 anchor="mm")
        centers.append(((bx0 + bx1) / 2, top, bottom))
    for (cx, _, bottom), (_, top, _) in zip(centers, centers[1:]):
        _arrow(pen, (cx, bottom), (cx, top))


def _arrow(pen: _Pen, start, end) -> None:
    width = max(2, pen.h // 250)
    pen.draw.line([start, end], fill=(70, 70, 70), width=width)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    size = 4 * width
    left = (end[0] - size * math.cos(angle - 0.5), end[1] - size * math.sin(angle - 0.5))
    right = (end[0] - size * math.cos(angle + 0.5), end[1] - size * math.sin(angle + 0.5))
    pen.draw.polygon([end, left, right], fill=(70, 70, 70))


FIGURES = {"bar": _bar_chart, "line": _line_plot, "diagram": _diagram}
