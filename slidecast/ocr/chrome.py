"""Slide chrome: text repeated at the same place on most slides of a video.

Navigation bars, running headers and footers, page numbers, a logo's text and beamer's
navigation symbols (which OCR reads as "0000") are part of the slide template, not of what a
slide says. They are found by comparing the distinct slides of one video with each other: a word
is template when a word like it sits at the same place on most of the other frames. A line made
mostly of such words (or such a column of a line: a sidebar read beside the body) is chrome as a
whole; its words stay in `words` (marked) so the picture's text layer is complete, and are left
out of the slide's text, title, keywords and notes.

Votes are counted per frame, not per slide: consecutive slides that carry nearly all of each
other's own text (build steps of one frame, a box kept while bullets change) are one frame, so a
block that stays on screen through four steps of one frame is not taken for the template.

A template need not cover the whole talk: title, section and part pages carry no sidebar, and a
later part may have another one. So each slide is voted on a second time among the frames of its
own template (those carrying nearly all of its chrome from the first vote), where a sidebar
entry also counts when opened subsections moved it down.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from .base import PageText, Word

# Fewer distinct slides than this and "on most slides" cannot be told from chance.
MIN_SLIDES = 3
# Share of the other slides that must carry the word at the same place.
MOST = 0.5
# A line is chrome when this share of its characters is in template words.
LINE_SHARE = 0.6
# How far (in fractions of the picture) the same word may sit on two slides: camera drift and
# bold/regular highlighting of the current section move a word a little.
PLACE_TOLERANCE = 0.02
# A gap this many line heights wide splits a line into columns, judged apart.
COLUMN_GAP = 2.5
# A narrower gap, still wider than any word space, splits a line where template words meet the
# slide's own: a sidebar's running title read on one line with the frame title ("Short title
# Lorem ipsum") is two columns, not one line that is half template.
TEMPLATE_GAP = 1.0
# A slide's template is the chrome it shares with other slides: slides that carry this share of
# its chrome (title and section pages do not carry a sidebar) are the slides of its template.
SAME_TEMPLATE = 0.9
# Among the slides of one template, a whole column of text (a sidebar's entry) also counts as
# repeated when it sits at the same left edge up to this far (a fraction of the picture's
# height) above or below: a sidebar's table of contents moves down when the current section's
# subsections open above it.
SHIFT = 0.15
# OCR reads the same small template word slightly differently from slide to slide.
SIMILAR = 0.75
# Two consecutive slides are steps of one frame when one carries this share of the other's own
# text (its characters outside the talk-wide template) at the same places...
SAME_FRAME = 0.9
# ...and that own text is at least this many characters: a figure slide whose only own text is
# a short title is not a step of its neighbour.
OWN_TEXT = 20
# Words on this share of all slides are the talk-wide template, left out of "own text".
TALK_WIDE = 0.8
# A frame title continued over consecutive frames ("Analytic method" heading four frames in a
# row, each with its own body) repeats at one place like a running header but is what those
# slides say. It is told from the template by three things together: it sits in the top part of
# the slide (TITLE_TOP of the picture's height), its type is not smaller than the talk's body
# type (NOT_SMALLER) nor than LARGEST of the largest type in the top part of its slide
# (navigation bars, running headers and a sidebar's entries beside the title are set smaller
# than the frame title), and the frames carrying it are one unbroken run that leaves out at
# least OUTSIDE_RUN frames and is under TALK_WIDE of them (a header on every frame but the title
# page is still template).
TITLE_TOP = 0.3
NOT_SMALLER = 0.9
LARGEST = 0.8
OUTSIDE_RUN = 2
# The top strip of the picture (a share of its height) where a headline runs: a word there in a
# row of chrome, in its type (heights within SIZE_RATIO; 1.5 took a frame title's words on
# logik-fades-1080), is chrome too.
EDGE = 0.07
SIZE_RATIO = 1.25

_NUMBER = re.compile(r"^[\d\s/.:,\-–()|]+$|^(p\.?|page|slide|seite|s\.)?\s*\d+(\s*(/|of|von)\s*\d+)?$", re.I)
# A subsection's mini-frame circles sit up to this many of its name's heights after it (beamer
# leaves about an em; 1.1 in auxtheme-splitwithminiframes as a 960x720 video shows it).
SYMBOL_GAP = 1.5
# Beamer's navigation symbols and mini-frame circles, as OCR reads them.
_SYMBOLS = re.compile(r"^(?:[0oO○●◦°•·]{2,}|[○●◦])$")
# OCR is unsure of what it reads from a symbol: 0.28 and 0.36 for beamer's navigation symbols
# read as "09？" and "っ9？" in auxtheme-splitwithminiframes' bottom corner (a 1280x720 video).
JUNK_CONFIDENCE = 0.5
# Two letters in a row: a word, which junk is not ("09？").
_WORDLIKE = re.compile(r"[^\W\d_]{2}")


@dataclass(frozen=True)
class _Spot:
    """A word placed in fractions of its picture, with the text used to compare it."""

    key: str
    number: bool
    x0: float
    x1: float
    cy: float
    height: float


def chrome_flags(pages: list[PageText], sizes: list[tuple[int, int]],
                 hidden: list[list[list[int]]] | None = None) -> list[list[list[bool]]]:
    """For each page, line and word: is it chrome? `sizes` are the pictures' (width, height);
    `hidden`, each picture's live regions ([x0, y0, x1, y1] pixels: a webcam tile).

    Pages are the distinct slides of one video, in any order. With fewer than MIN_SLIDES pages
    nothing is template. A frame whose pictures all have a word's place under a live region could
    not show it, and does not count among the frames the word must be on most of (a page number
    in the corner a speaker's tile covers for half of the talk). Junk read in the picture's top or
    bottom strip is chrome on any page (_edge_junk).
    """
    flags = _template_flags(pages, sizes, hidden)
    for page, size, page_flags in zip(pages, sizes, flags):
        _edge_junk(page, size, page_flags)
    return flags


def _edge_junk(page: PageText, size: tuple[int, int], flags: list[list[bool]]) -> None:
    """Mark a word in the picture's top or bottom strip (EDGE of its height) read under
    JUNK_CONFIDENCE that holds no two letters in a row: beamer's navigation symbols in the bottom
    corner read as "09？" or "っ9？" on one slide, unlike anywhere else, so never on most slides."""
    height = max(1, size[1])
    for line, marks in zip(page.lines, flags):
        for i, word in enumerate(line):
            middle = (word.box[1] + word.box[3]) / 2 / height
            at_edge = middle <= EDGE or middle >= 1 - EDGE
            if at_edge and word.confidence < JUNK_CONFIDENCE and not _WORDLIKE.search(word.text):
                marks[i] = True


def _template_flags(pages: list[PageText], sizes: list[tuple[int, int]],
                    hidden: list[list[list[int]]] | None) -> list[list[list[bool]]]:
    """chrome_flags' words repeated at the same place on most slides (of the talk or of their template)."""
    spots = [[[_spot(w, size) for w in line] for line in page.lines] for page, size in zip(pages, sizes)]
    flags = [[[False] * len(line) for line in page.lines] for page in pages]
    if len(pages) < MIN_SLIDES:
        return flags
    placed = [_Placed(_flat(page_spots)) for page_spots in spots]
    frames = _frames(placed)
    count = max(frames) + 1
    if count < MIN_SLIDES:
        return flags
    # The frames (other than its own) on which each word of each page sits at the same place.
    holders = [[[frozenset(frame for frame, other in zip(frames, placed) if frame != frames[p] and other.has(spot))
                 for spot in line] for line in spots[p]] for p in range(len(pages))]
    covered = _covered(spots, frames, hidden, sizes)
    body = _body_height(spots)
    tops = [_top_height(page_spots) for page_spots in spots]
    heads = [_Placed([s for s in _flat(page_spots) if _head(s, body, top)]) for page_spots, top in zip(spots, tops)]
    heads_of_frame: dict[int, list[_Placed]] = {}
    for frame, page_heads in zip(frames, heads):
        heads_of_frame.setdefault(frame, []).append(page_heads)
    titled = [[[_head(spot, body, tops[p]) and continued_run(h | {frames[p]}, count)
                # ...and the title's type on every frame carrying it: a sidebar's entry is the
                # largest type only on a slide without a frame title.
                and all(any(placed_heads.has(spot) for placed_heads in heads_of_frame[frame]) for frame in h)
                for spot, h in zip(line, line_holders)]
               for line, line_holders in zip(spots[p], holders[p])] for p in range(len(pages))]
    for p, page in enumerate(pages):
        _mark_repeated(page, [[len(h) >= _needed(count - 1 - len(c - {frames[p]})) and not t
                               for h, t, c in zip(line, line_titled, line_covered)]
                              for line, line_titled, line_covered in zip(holders[p], titled[p], covered[p])], flags[p])
    # Second look, among the slides of the same template only: a deck's title and section pages
    # (or a part with another sidebar) do not show its sidebar's table of contents, so counted
    # over the whole talk the contents fall short of "most slides" while every slide of the
    # sidebar's template shows them.
    first_flags = [[list(marks) for marks in page_flags] for page_flags in flags]
    # Columns split where the first look's template meets the rest, as the lines were judged.
    columns = [[(l, first, last, _Column.of(line_spots[first:last]))
                for l, (line, line_spots, marks) in enumerate(zip(page.lines, page_spots, page_flags))
                for first, last in _columns(line, marks)]
               for page, page_spots, page_flags in zip(pages, spots, first_flags)]
    lefts = [_LeftEdges([column for *_, column in page_columns]) for page_columns in columns]
    for p, page in enumerate(pages):
        mine = [(s, h) for s, h, c in zip(_flat(spots[p]), _flat(holders[p]), _flat(first_flags[p]))
                if c and not s.number]
        chars = sum(len(s.key) for s, _ in mine)
        if not chars:
            continue
        group = {frame for frame in set(frames) - {frames[p]}
                 if sum(len(s.key) for s, h in mine if frame in h) >= SAME_TEMPLATE * chars}
        if not MIN_SLIDES - 1 <= len(group) < count - 1:
            continue
        needed_here = max(2, MOST * len(group))
        _mark_repeated(page, [[len(h & group) >= needed_here and not t for h, t in zip(line, line_titled)]
                              for line, line_titled in zip(holders[p], titled[p])], flags[p])
        for l, first, last, column in columns[p]:
            if all(flags[p][l][first:last]) or all(titled[p][l][first:last]):
                continue
            seen = {frame for frame, near in zip(frames, lefts) if frame in group
                    and any(column.moved(other) for other in near.near(column))}
            if len(seen) >= needed_here:
                flags[p][l][first:last] = [True] * (last - first)
    for page_spots, page_flags, top in zip(spots, flags, tops):
        _rows_of_chrome(page_spots, page_flags, lambda spot: _head(spot, body, top), body)
    for page, page_flags in zip(pages, flags):
        _symbols_beside_chrome(page, page_flags)
    return flags


def _needed(others: int) -> float:
    """On how many of `others` frames (besides its own) a word must sit to be chrome."""
    return max(2, MOST * others) if others >= MIN_SLIDES - 1 else float("inf")


def _covered(spots: list[list[list[_Spot]]], frames: list[int], hidden, sizes) -> list[list[list[set[int]]]]:
    """For each word of each page, the frames all of whose pictures have its place under a live
    region."""
    if not hidden or not any(hidden):
        return [[[set() for _ in line] for line in page_spots] for page_spots in spots]
    regions = [[(x0 / max(1, w), y0 / max(1, h), x1 / max(1, w), y1 / max(1, h)) for x0, y0, x1, y1 in boxes]
               for boxes, (w, h) in zip(hidden, sizes)]

    def under(spot: _Spot, page: int) -> bool:
        y0, y1 = spot.cy - spot.height / 2, spot.cy + spot.height / 2
        return any(spot.x0 < r[2] and r[0] < spot.x1 and y0 < r[3] and r[1] < y1 for r in regions[page])

    pages_of: dict[int, list[int]] = {}
    for page, frame in enumerate(frames):
        pages_of.setdefault(frame, []).append(page)
    return [[[{frame for frame, pages in pages_of.items() if all(under(spot, q) for q in pages)} for spot in line]
             for line in page_spots] for page_spots in spots]


def _rows_of_chrome(page_spots: list[list[_Spot]], flags: list[list[bool]], head, body: float) -> None:
    """Mark a word in the picture's top strip (EDGE) that sits in a row of chrome in the same
    type: a split headline's right half lists the current section's subsections, which change
    with the section (a run of slides each, never "most"), beside the section names that are on
    every slide. A word in the slide's title type (`head`) is not: a frame title beside a
    sidebar's running title. A word smaller than any title (NOT_SMALLER of the `body` type) needs
    no type match: the current subsection, set bold, reads taller than the others in its row."""
    chrome = [s for line, marks in zip(page_spots, flags) for s, c in zip(line, marks) if c]
    for line, marks in zip(page_spots, flags):
        for i, spot in enumerate(line):
            # A number there may be the frame title's own ("2 columns"); page numbers are voted.
            if marks[i] or spot.cy > EDGE or any(ch.isdigit() for ch in spot.key) or head(spot):
                continue
            untitled = spot.height < NOT_SMALLER * body
            marks[i] = any(abs(c.cy - spot.cy) <= spot.height / 2 and
                           (untitled or max(c.height, spot.height) / max(1e-9, min(c.height, spot.height)) <= SIZE_RATIO)
                           for c in chrome)


def _body_height(spots: list[list[list[_Spot]]]) -> float:
    """The talk's body type: the median word height, each word counted by its characters."""
    heights = sorted(s.height for page in spots for line in page for s in line for _ in range(max(1, len(s.key))))
    return heights[len(heights) // 2] if heights else 0.0


def _top_height(page_spots: list[list[_Spot]]) -> float:
    """The largest type in the top part (TITLE_TOP) of one slide."""
    return max((s.height for s in _flat(page_spots) if s.cy <= TITLE_TOP and not s.number), default=0.0)


def _head(spot: _Spot, body: float, top: float) -> bool:
    """Is `spot` in its slide's title type: in the top part, not smaller than the talk's `body`
    type nor than LARGEST of `top`, the largest type in the top part of its slide?"""
    return not spot.number and spot.cy <= TITLE_TOP and spot.height >= max(NOT_SMALLER * body, LARGEST * top)


def continued_run(frames: frozenset, count: int) -> bool:
    """Are `frames` (numbers of frames or slides, of the talk's `count`) one unbroken run, short
    of nearly all (OUTSIDE_RUN, TALK_WIDE): how a frame title continued over consecutive frames
    repeats, where a template repeats over the whole talk or with gaps?"""
    run = max(frames) - min(frames) + 1
    return len(frames) >= 2 and run == len(frames) and count - run >= OUTSIDE_RUN and run < TALK_WIDE * count


def _mark_repeated(page: PageText, repeated: list[list[bool]], flags: list[list[bool]]) -> None:
    """Flag the columns of `page`'s lines mostly made of `repeated` words (flags are only ever
    added)."""
    for line, line_repeated, marks in zip(page.lines, repeated, flags):
        for first, last in _columns(line, line_repeated):
            if _mostly(line[first:last], line_repeated[first:last]):
                marks[first:last] = [True] * (last - first)


def _frames(placed: list["_Placed"]) -> list[int]:
    """Frame number of each slide (slides in the order shown): consecutive steps of one frame
    share a number."""
    talk_wide = [[sum(other.has(s) for other in placed) >= TALK_WIDE * len(placed) for s in page.spots]
                 for page in placed]
    frames = [0]
    for p in range(1, len(placed)):
        same = _carries(placed[p], placed[p - 1], talk_wide[p - 1]) or _carries(placed[p - 1], placed[p], talk_wide[p])
        frames.append(frames[-1] if same else frames[-1] + 1)
    return frames


def _carries(slide: "_Placed", other: "_Placed", template: list[bool]) -> bool:
    """Does `slide` carry nearly all of `other`'s own text (outside the talk-wide template)?"""
    own = [s for s, t in zip(other.spots, template) if not t]
    chars = sum(len(s.key) for s in own)
    if chars < OWN_TEXT:
        return False
    return sum(len(s.key) for s in own if slide.has(s)) >= SAME_FRAME * chars


def _symbols_beside_chrome(page: PageText, flags: list[list[bool]]) -> None:
    """Mark what sits inside the template's own area on the same slide: navigation symbols
    ("0000000", "o") touching chrome (OCR reads a section's row of circles on some slides only,
    too seldom to repeat on most of them; a bullet read as "o" touches no chrome), and a word
    with chrome right above and right below it (a sidebar's line OCR split or joined
    differently on this slide, e.g. "Programmier" for "Programmiersprachen")."""
    for _ in range(2):  # a second pass takes two such lines in a row
        chrome = [w.box for line, marks in zip(page.lines, flags) for w, c in zip(line, marks) if c]
        for line, marks in zip(page.lines, flags):
            for i, word in enumerate(line):
                if marks[i]:
                    continue
                symbol = _SYMBOLS.match(word.text.strip()) and any(
                    _touches(word.box, box) or _after_in_row(word.box, box) for box in chrome)
                marks[i] = bool(symbol) or _between(word.box, chrome)


def _between(a: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    """Some box overlaps a's columns just above it and another just below (within a's height)."""
    reach = a[3] - a[1]
    beside = [b for b in boxes if min(a[2], b[2]) > max(a[0], b[0])]
    above = any(b[3] <= a[1] + reach / 2 and a[1] - b[3] <= reach for b in beside)
    below = any(b[1] >= a[3] - reach / 2 and b[1] - a[3] <= reach for b in beside)
    return above and below


def _after_in_row(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Box a sits in box b's row (its middle within b's height), at most SYMBOL_GAP of b's heights
    beside it: a subsection's mini-frame circles after its name."""
    middle, reach = (a[1] + a[3]) / 2, SYMBOL_GAP * (b[3] - b[1])
    return b[1] <= middle <= b[3] and (0 <= a[0] - b[2] <= reach or 0 <= b[0] - a[2] <= reach)


def _touches(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Box a lies within box b widened by a's height on every side."""
    reach = a[3] - a[1]
    return a[0] >= b[0] - reach and a[2] <= b[2] + reach and a[1] >= b[1] - reach and a[3] <= b[3] + reach


def body_page(page: PageText, flags: list[list[bool]]) -> PageText:
    """The page without its chrome: what the slide says."""
    lines = [[w for w, chrome in zip(line, marks) if not chrome] for line, marks in zip(page.lines, flags)]
    return PageText(lines=[line for line in lines if line])


def _columns(line: list[Word], repeated: list[bool]) -> list[tuple[int, int]]:
    """[first, last) word ranges of a line split where the gap is wider than COLUMN_GAP line
    heights (a sidebar or a corner's page number read on the same line as the body text), or
    wider than TEMPLATE_GAP where a repeated word meets one that is not."""
    height = max(1, sorted(w.height for w in line)[len(line) // 2])

    def cut(i: int) -> bool:
        gap = line[i].box[0] - line[i - 1].box[2]
        return gap > COLUMN_GAP * height or (gap > TEMPLATE_GAP * height and repeated[i] != repeated[i - 1])

    cuts = [i for i in range(1, len(line)) if cut(i)]
    bounds = [0] + cuts + [len(line)]
    return list(zip(bounds, bounds[1:]))


def _spot(word: Word, size: tuple[int, int]) -> _Spot:
    width, height = max(1, size[0]), max(1, size[1])
    x0, y0, x1, y1 = word.box
    key = re.sub(r"[^\w]", "", word.text.lower())
    text = word.text.strip()
    number = (bool(_NUMBER.match(text)) and any(c.isdigit() for c in text)) or bool(_SYMBOLS.match(text))
    return _Spot(key or word.text, number, x0 / width, x1 / width, (y0 + y1) / 2 / height, (y1 - y0) / height)


def _flat(page_spots: list[list[_Spot]]) -> list[_Spot]:
    return [s for line in page_spots for s in line]


@dataclass(frozen=True)
class _Column:
    """One column of a line (see _columns), placed like a _Spot, with its whole text."""

    key: str
    x0: float
    cy: float
    height: float

    @classmethod
    def of(cls, spots: list[_Spot]) -> "_Column":
        heights = sorted(s.height for s in spots)
        return cls("".join(s.key for s in spots), spots[0].x0, sum(s.cy for s in spots) / len(spots),
                   heights[len(heights) // 2])

    def moved(self, other: "_Column") -> bool:
        """Is `other` this column's text at the same left edge, moved up or down by at most
        SHIFT, in type of about the same size?"""
        return (abs(other.x0 - self.x0) <= 2 * PLACE_TOLERANCE and abs(other.cy - self.cy) <= SHIFT
                and 2 / 3 <= other.height / max(self.height, 1e-6) <= 1.5 and len(self.key) >= 3
                and _same_text(self.key, other.key))


class _LeftEdges:
    """One slide's columns, indexed by left edge so that a lookup looks only at its neighbours."""

    def __init__(self, columns: list[_Column]):
        self.columns = columns
        self.x0 = np.array([c.x0 for c in columns])
        self.cy = np.array([c.cy for c in columns])

    def near(self, column: _Column) -> list[_Column]:
        if not self.columns:
            return []
        close = (np.abs(self.x0 - column.x0) <= 2 * PLACE_TOLERANCE) & (np.abs(self.cy - column.cy) <= SHIFT)
        return [self.columns[i] for i in np.flatnonzero(close)]


class _Placed:
    """One slide's words, indexed by position so that a lookup looks only at its neighbours."""

    def __init__(self, spots: list[_Spot]):
        self.spots = spots
        self.x0 = np.array([s.x0 for s in spots])
        self.x1 = np.array([s.x1 for s in spots])
        self.cy = np.array([s.cy for s in spots])

    def has(self, spot: _Spot) -> bool:
        """Does a word like `spot` sit at the same place on this slide?"""
        if not self.spots:
            return False
        dy = max(PLACE_TOLERANCE, spot.height) * 0.75
        # Horizontal overlap (with a little slack for drift), not equal centres: OCR splits a
        # row of navigation circles into words differently from slide to slide.
        overlap = np.minimum(self.x1, spot.x1 + PLACE_TOLERANCE) - np.maximum(self.x0, spot.x0 - PLACE_TOLERANCE)
        near = np.flatnonzero((overlap > 0) & (np.abs(self.cy - spot.cy) <= dy))
        for other in (self.spots[i] for i in near):
            # Page numbers and navigation symbols change from slide to slide but stay in place.
            if spot.number and other.number:
                return True
            if _same_text(spot.key, other.key) and abs(other.x0 - spot.x0) <= 2 * PLACE_TOLERANCE:
                return True
        return False


def _same_text(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 3:
        return False
    # The quick bounds are upper bounds of ratio(): the same answers, most pairs decided cheaply.
    matcher = difflib.SequenceMatcher(None, a, b)
    return matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR


def _mostly(line: list[Word], repeated: list[bool]) -> bool:
    total = sum(len(w.text) for w in line)
    template = sum(len(w.text) for w, r in zip(line, repeated) if r)
    return total > 0 and template >= LINE_SHARE * total
