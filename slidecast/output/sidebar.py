"""The current section of a sidebar: a column of section and subsection names, one marked.

A sidebar marks the current entry either way: in full colour or bold among shaded ones, or
(beamer's sidebar themes, the logik lecture) on a coloured box that leaves its words fainter
than the others'. In a column (narrow chrome lines stacked at one place across the picture) the
lines whose luminance contrast differs from the column's by bars.HIGHLIGHT, brighter or fainter,
are the current entry. A sidebar lists subsections too, set apart from the sections in another
colour (blue sections over black subsections: 180 against 205 in luminance contrast); which
places of the column hold sections is told over the whole talk: their usual contrast is of the
class of the topmost entry ever marked (a talk begins in its first section). A marked subsection
stands for the section above it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from . import bars

# A column: at least this many lines stacked at one place, each no wider than this share of the
# picture (a sidebar, not the body's lines).
COLUMN_LINES = 4
COLUMN_WIDTH = 0.3
# An entry's lines: their centres lie closer than this many line heights (0.65-0.8 in the
# logik lecture's sidebar; entries 0.9-1.4 apart).
ENTRY_PITCH = 0.85
# Sections and subsections differ in usual contrast by at least this ratio; less, and the
# column holds one kind of entry.
CLASS_GAP = 1.06


@dataclass
class Entry:
    text: str
    y: float  # its centre: share of the picture's height
    contrast: float
    marked: bool


@dataclass
class Column:
    x: float  # its left end: share of the picture's width
    entries: list[Entry]


def read_columns(lines: list[list[dict]], picture: np.ndarray) -> list[Column]:
    """The columns among a slide's chrome lines (each a list of OCR words), entries marked."""
    height, width = picture.shape[:2]
    light = picture @ np.array([0.299, 0.587, 0.114])
    place = bars.Places()
    stacks: dict[float, list[list[dict]]] = defaultdict(list)
    for line in lines:
        if _span(line) < COLUMN_WIDTH * width:
            stacks[place(min(w["box"][0] for w in line) / width)].append(line)
    return [_column(x, sorted(stack, key=bars.centre), light, height)
            for x, stack in stacks.items() if len(stack) >= COLUMN_LINES]


def _column(x: float, lines: list[list[dict]], light: np.ndarray, height: int) -> Column:
    contrast = [float(np.median([_ink(light, w["box"]) for w in line])) for line in lines]
    usual = max(float(np.median(contrast)), 1.0)
    marked = [n for n, c in enumerate(contrast) if max(c, 1.0) >= bars.HIGHLIGHT * usual or bars.HIGHLIGHT * c <= usual]
    # One entry is current: a few neighbouring lines, not scattered ones.
    if not marked or marked[-1] - marked[0] + 1 != len(marked) or len(marked) > len(lines) // 2:
        marked = []
    entries, start = [], 0
    for n in range(1, len(lines) + 1):
        if n == len(lines) or not _joined(lines[n - 1], lines[n]):
            group = lines[start:n]
            words = [w for line in group for w in sorted(line, key=lambda w: w["box"][0])]
            entries.append(Entry(" ".join(w["text"] for w in words), bars.centre(words) / height,
                                 float(np.median(contrast[start:n])), any(start <= m < n for m in marked)))
            start = n
    return Column(x, entries)


def current_sections(slides: list[list[Column]]) -> list[tuple[Column, Entry] | None]:
    """Per slide, the section its sidebar marks (with its column), or None."""
    column_of = bars.Places()
    entry_of: dict[float, bars.Places] = defaultdict(bars.Places)
    usual: dict[tuple, list[float]] = defaultdict(list)
    first_marked: dict[float, float] = {}
    for columns in slides:
        for column in columns:
            x = column_of(column.x)
            for entry in column.entries:
                key = (x, entry_of[x](entry.y))
                if entry.marked:
                    first_marked[x] = min(first_marked.get(x, 1.0), key[1])
                else:
                    usual[key].append(entry.contrast)
    section = _section_places({key: float(np.median(v)) for key, v in usual.items()}, first_marked)
    result = []
    for columns in slides:
        found = None
        for column in columns:
            x = column_of(column.x)
            is_section = [section(x, entry_of[x](entry.y)) for entry in column.entries]
            marked = [n for n, entry in enumerate(column.entries) if entry.marked]
            if marked:
                up = [n for n in range(marked[0], -1, -1) if is_section[n]]
                found = (column, column.entries[up[0] if up else marked[0]])
        result.append(found)
    return result


def _section_places(usual: dict[tuple, float], first_marked: dict[float, float]):
    """A test: does place (x, y) of a column hold a section? Its usual contrast is of the class
    of the topmost place ever marked in that column (every place is, in a column of one kind)."""
    bounds = {}
    for x, top in first_marked.items():
        values = sorted(v for (cx, _), v in usual.items() if cx == x)
        ratios = [(b / max(a, 1.0), (a + b) / 2) for a, b in zip(values, values[1:])]
        gap, middle = max(ratios, default=(1.0, 0.0))
        if gap >= CLASS_GAP and (x, top) in usual:
            bounds[x] = (middle, usual[(x, top)] < middle)

    def section(x: float, y: float) -> bool:
        if x not in bounds or (x, y) not in usual:
            return x not in bounds
        middle, below = bounds[x]
        return (usual[(x, y)] < middle) == below
    return section


def _joined(above: list[dict], below: list[dict]) -> bool:
    return bars.centre(below) - bars.centre(above) < ENTRY_PITCH * max(bars.height(above), bars.height(below))


def _span(words: list[dict]) -> float:
    return max(w["box"][2] for w in words) - min(w["box"][0] for w in words)


def _ink(light: np.ndarray, box) -> float:
    """As navigation._ink, in luminance: dark words on a coloured box differ from it by less
    than from a light grey sidebar, though each colour channel may differ as much."""
    x0, y0, x1, y1 = (int(v) for v in box)
    patch = light[max(y0, 0):y1, max(x0, 0):x1].ravel()
    if len(patch) == 0:
        return 0.0
    return float(np.percentile(np.abs(patch - np.median(patch)), 95))
