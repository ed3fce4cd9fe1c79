"""The talk's current section, read from a navigation bar that highlights it.

Beamer's navigation headlines (and many other templates) list the talk's sections in a row of
the slide chrome and draw the current one in full colour, the others shaded. Without a deck,
that row is the only place a video shows its sections: frame titles change on every slide, so
chapters made from titles follow slides, not the talk's parts. Here each slide's chrome words
are grouped into rows and each row into items (a section's words, split from the next by a wide
gap); an item whose ink stands out from the others' by bars.HIGHLIGHT is the slide's current
section. A row counts as a navigation bar only when its highlight moves: at least MIN_SECTIONS
different items are highlighted over the talk (a footline whose author box is always brighter is
not one).

A sidebar's column of section names is read the same way by output.sidebar.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import bars
from .manifest import SlideEntry
from .sidebar import current_sections, read_columns

# A gap wider than this many word heights ends an item.
ITEM_GAP = 1.5
MIN_SECTIONS = 2


@dataclass
class _Item:
    text: str
    x0: float  # along the bar: share of the picture's width (a row), height (a sidebar column)
    cy: float  # across the bar: share of the picture's height (a row), width (a column)
    contrast: float
    bar: str = "row"


def navigation_sections(slides: list[SlideEntry], out_dir: Path) -> list[str | None]:
    """Per appearance, the section its navigation bar highlights; None before the first one (a
    title page, an outline: nothing highlighted) and all None when the talk shows no such bar.
    Once a section has begun, an appearance that highlights none (a plain frame with a large
    figure) stays in it, and so does a return to an earlier slide: the speaker looks back from
    where the talk is, the talk does not go back a section."""
    # A return shows its first appearance's picture and words: each picture is read once.
    read = {slide.index: _highlighted(slide, out_dir) for slide in slides if slide.same_as is None}
    shown = [read.get(slide.same_as or slide.index, ([], [])) for slide in slides]
    found = []
    for (items, _), marked in zip(shown, current_sections([columns for _, columns in shown])):
        if marked:
            column, entry = marked
            items = items + [_Item(entry.text, entry.y, column.x, entry.contrast, "column")]
        found.append(items)
    rows = {row: sections for row, sections in _sections_by_row(found).items()
            if len(sections) >= MIN_SECTIONS}
    if not rows:
        return [None] * len(slides)
    result: list[str | None] = []
    for slide, items in zip(slides, found):
        name = next(filter(None, (_name(item, rows) for item in items)), None)
        if result and result[-1] and (name is None or slide.same_as is not None):
            name = result[-1]
        result.append(name)
    return result


def _name(item: _Item, rows: dict[tuple, dict[float, Counter]]) -> str | None:
    """The section's name, as OCR read it most often at its place; None off a navigation row."""
    for (bar, row), sections in rows.items():
        if bar == item.bar and abs(row - item.cy) < bars.PLACE:
            for place, readings in sections.items():
                if abs(place - item.x0) < bars.PLACE:
                    return readings.most_common(1)[0][0]
    return None


def _highlighted(slide: SlideEntry, out_dir: Path) -> tuple[list[_Item], list]:
    """The highlighted item of each chrome row of this slide's picture, and its sidebar columns
    (output.sidebar.Column)."""
    words = [w for w in slide.words if w.get("chrome") and not w.get("live")]
    if not words:
        return [], []
    path = out_dir / slide.image
    if not path.is_file():
        return [], []
    with Image.open(path) as image:
        picture = np.asarray(image.convert("RGB"), dtype=np.int16)
    height, width = picture.shape[:2]
    found, lines = [], []
    for row in _rows(words):
        groups = _groups(row)
        lines += groups
        items = [_item(group, picture, width, height) for group in groups]
        items = [i for i in items if any(c.isalpha() for c in i.text)]
        best = _standing_out(items)
        if best:
            found.append(best)
    return found, read_columns(lines, picture)


def _rows(words: list[dict]) -> list[list[dict]]:
    """Words on one line: their vertical centres within half a word's height."""
    rows: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (w["box"][1] + w["box"][3]) / 2):
        centre = (word["box"][1] + word["box"][3]) / 2
        if rows and abs(centre - bars.centre(rows[-1])) < bars.height(rows[-1]) / 2:
            rows[-1].append(word)
        else:
            rows.append([word])
    return rows


def _groups(row: list[dict]) -> list[list[dict]]:
    """A row's items: words split where the gap is wider than ITEM_GAP word heights."""
    groups: list[list[dict]] = []
    height = bars.height(row)
    for word in sorted(row, key=lambda w: w["box"][0]):
        if groups and word["box"][0] - groups[-1][-1]["box"][2] <= ITEM_GAP * height:
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def _item(words: list[dict], picture: np.ndarray, width: int, height: int) -> _Item:
    contrast = float(np.median([_ink(picture, w["box"]) for w in words]))
    x0 = min(w["box"][0] for w in words) / width
    return _Item(" ".join(w["text"] for w in words), x0, bars.centre(words) / height, contrast)


def _ink(picture: np.ndarray, box) -> float:
    """How far a word's ink stands from its background: the 95th percentile of the colour
    distance from the box's median colour (the background covers most of a word's box)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    patch = picture[max(y0, 0):y1, max(x0, 0):x1].reshape(-1, 3)
    if len(patch) == 0:
        return 0.0
    distance = np.abs(patch - np.median(patch, axis=0)).max(axis=1)
    return float(np.percentile(distance, 95))


def _standing_out(items: list[_Item]) -> _Item | None:
    if len(items) < 2:
        return None
    ranked = sorted(items, key=lambda i: i.contrast, reverse=True)
    others = float(np.median([i.contrast for i in ranked[1:]]))
    return ranked[0] if ranked[0].contrast >= bars.HIGHLIGHT * max(others, 1.0) else None


def _sections_by_row(found: list[list[_Item]]) -> dict[tuple, dict[float, Counter]]:
    """For each bar (a row's vertical place, a column's horizontal one), its highlighted items
    by place along it, with the readings OCR gave of each."""
    row_of: dict[str, bars.Places] = defaultdict(bars.Places)
    columns: dict[tuple, bars.Places] = defaultdict(bars.Places)
    rows: dict[tuple, dict[float, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for items in found:
        for item in items:
            row = (item.bar, row_of[item.bar](item.cy))
            rows[row][columns[row](item.x0)][item.text] += 1
    return rows

