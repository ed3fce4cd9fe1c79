"""Slide titles chosen across a whole talk: the frame title sits in the same place, in the
same type, on most slides of one talk.

A slide alone cannot tell its title from a box heading ("Theorem", "Definition", "Example") or
its first bullet: all may be the first or the tallest line near the top. Across the slides of a
talk the frame title stands out: a beamer frametitle bar, a header band or a plain heading puts
it at one height in one type size (often larger than the body, sometimes the body's own size)
on most slides. So the lines of all slides are compared: the title band is the (height, type
size) near the top where the most slides have a line not smaller than the body type, and each
slide's title is its line in that band (a second line under it is not joined: in OCR's word
heights a subtitle looks as large as a title's second line). A slide without a line there (a title page, a section page) takes its
largest line when that is clearly larger than the body; else it has no title. Without such a
band (fewer than MIN_PAGES slides, or a talk whose slides share no title place) each slide keeps
its title by the single-slide rule (slidecast.ocr.base.title_of). A title page's or section
page's title goes on in the lines set right under it in its type (a long title broken over lines).

Lines come from OCR (word boxes; chrome and live words already left out) or from a deck's text
layer (font sizes); both are placed in fractions of their picture or page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from statistics import median

from .ocr.chrome import continued_run

# OCR lines are split into columns at gaps this many word heights wide (the smaller of the two
# words beside the gap: a sidebar's small type beside a title; a word space is a third of one).
COLUMN_GAP = 1.5
# Fewer slides than this share no "most".
MIN_PAGES = 3
# The title band lies in the top part of the slide (a frametitle bar, a header band).
TOP = 0.4
# A title line's type is not smaller than the talk's body type (a beamer frame title is often
# the body's size, told apart by its place; a running subsection line is smaller).
NOT_SMALLER = 0.9
# Lines in one band: centres within this share of the page height, type sizes within this ratio.
PLACE = 0.03
SIZE_RATIO = 1.25
# A band must hold a head line on at least this share of the slides, and on MIN_PAGES of them
# (title pages, section pages and pictures have none: a corporate demo deck has three titled
# frames among sixteen pages).
SUPPORT = 0.15
# A place where more than this share of the slides' lines read the same holds template text (a
# deck's section pages may repeat one title on half of its frames).
TEMPLATE = 0.75
# A slide without a line in the band takes its largest line when it is this much larger than the
# body type (a section page's name, a title page's title).
DISPLAY = 1.4
# A slide whose title place is under a tile takes a line alone on it as its title when the line
# is this much larger than the body type (metropolis' standout "Questions?" is 1.37 times).
LONE = 1.2
# A title page's title goes on in the next line when that line starts within this many line
# heights under the last (a title broken over lines; 0.4 in the conference talk's title page).
UNDER = 0.8
# A line whose middle is this close to the page's (a fraction of its width) is centred.
CENTRED = 0.03
# A line ending or starting this close to a tile in its row (a fraction of the page width: about
# a word space at 1280 px) is what the tile left of a longer line.
TILE_GAP = 0.03
# Width per character over line height, both as fractions of the page, under which a line is set
# sideways: upright type is about 0.5 in pixels, 0.28 in the fractions of a 16:9 page; "Bar" set
# on its side over a chart's axis measures 0.13.
SIDEWAYS = 0.15
# Roman numerals up to 39: beamer's allowframebreaks numbers continued frames "i", "ii", ...
ROMAN = re.compile(r"x{0,3}(ix|iv|v?i{0,3})")
ACRONYM = re.compile(r"[A-Z][A-Z0-9]")
# Relation and operator signs: a line holding one and at most one word is a formula.
MATH_SIGNS = set("=<>≤≥≠≈→←↦⇒⇔∞∑∏∫√±×÷∈∉⊂⊆∀∃∂∇")
# A section page's number line ("Section 1", "Part II", "Kapitel 3"): set over the section's name.
SECTION_NUMBER = re.compile(r"(section|part|chapter|lecture|abschnitt|kapitel|teil|partie|parte)"
                            r"\s+([0-9]+|[ivx]+)\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Line:
    """One line of a slide: its text, where it is (fractions of the page: x0, y0, x1, y1) and its
    type size (a fraction of the page height: word height for OCR, font size for a text layer)."""

    text: str
    box: tuple[float, float, float, float]
    size: float

    @property
    def centre(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(frozen=True)
class _Band:
    centre: float
    size: float

    def holds(self, line: Line) -> bool:
        ratio = max(line.size, self.size) / max(1e-9, min(line.size, self.size))
        return abs(line.centre - self.centre) <= PLACE and ratio <= SIZE_RATIO


def talk_titles(pages: list[list[Line]], fallback: list[str] | None = None,
                hidden: list[list[tuple[float, float, float, float]]] | None = None) -> list[str]:
    """The title of each page (see the module docstring). `pages`: each slide's lines in reading
    order; `fallback`: each slide's title by the single-slide rule, used when the talk shows no
    title band (else the first line is); `hidden`: each slide's boxes that cover part of it (a
    webcam tile; fractions of the page, as line boxes).

    A title that cannot be the slide's title is "" instead (`fragment`): a scrap OCR read
    beside a tile that hides the rest of the title, a page number, a formula. A slide whose title
    place is under a tile takes no other line as its title (the line it would take is a body
    line), only a display line (a section page's name)."""
    fallback = fallback if fallback is not None else [page[0].text if page else "" for page in pages]
    hidden = hidden if hidden is not None else [[] for _ in pages]
    if len(pages) < MIN_PAGES:
        return [_readable(title) for title in fallback]
    body = body_size(pages)
    shown = _without_template([[line for line in page if any(c.isalnum() for c in line.text)] for page in pages])
    candidates = [[line for line in page if _candidate(line, body)] for page in shown]
    band = title_band([page[:1] for page in candidates], len(pages), body)
    if band is None:
        return [_readable(title) for title in fallback]
    return [_readable(_page_title(page, heads, band, body, alone, boxes))
            for page, heads, alone, boxes in zip(shown, candidates, fallback, hidden)]


def _page_title(page: list[Line], heads: list[Line], band: _Band, body: float, alone: str,
                boxes: list[tuple[float, float, float, float]]) -> str:
    held = _band_line(page, heads, band)
    if held is not None:
        return "" if _beside(held, boxes) else " ".join(held.text.split())
    display = _display_line(page, body)
    if any(_covers_row(box, band.centre) for box in boxes):
        if display is not None:
            return "" if _beside(display, boxes) else _with_lines_under(page, display, body)
        # Else only a line alone on its page and set larger than the body (a standout
        # "Questions?", not a figure's caption) is its title for sure.
        return _own_title(page, alone, body) if len(page) == 1 and page[0].size >= LONE * body else ""
    return _with_lines_under(page, display, body) if display is not None else _own_title(page, alone, body)


def fragment(title: str) -> bool:
    """Is `title` a scrap rather than a title: fewer than three letters or digits ("W", "ii";
    capitals such as "AI" are an acronym), a roman numeral alone (a continued frame's "i", "iv"
    whose name a tile hides), or a formula (a relation or operator sign and at most one word of
    three letters or more)? A fragment is worse than no title: chapters and notes then use their
    own fallback."""
    text = " ".join(title.split())
    if ROMAN.fullmatch(text.lower().rstrip(".")):
        return True
    if sum(c.isalnum() for c in text) < 3:
        # An acronym in capitals ("AI", "OS") is a title; "W" or "ii" is what a tile left.
        return not ACRONYM.fullmatch(text)
    words = sum(1 for w in re.findall(r"[^\W\d_]+", text) if len(w) >= 3)
    return any(c in MATH_SIGNS for c in text) and words <= 1


def _readable(title: str) -> str:
    return "" if fragment(title) else title


def body_size(pages: list[list[Line]]) -> float:
    """The talk's body type size: the median line size, each line counted by its characters."""
    sizes = [line.size for page in pages for line in page for _ in range(len(line.text))]
    return median(sizes) if sizes else 0.0


def title_band(heads: list[list[Line]], count: int, body: float) -> _Band | None:
    """The place and type size shared by the most slides' head lines (`heads`: each slide's
    topmost candidate line, or none), when on at least SUPPORT of the `count` slides and on
    MIN_PAGES; else None. Of places shared by as many, the larger type wins, then the higher
    place."""
    lines = [line for page in heads for line in page]
    best, rank = None, None
    for seed in lines:
        band = _Band(seed.centre, seed.size)
        score = (sum(1 for line in lines if band.holds(line)), round(seed.size / max(body, 1e-9), 1), -seed.centre)
        if rank is None or score > rank:
            best, rank = band, score
    if best is None or rank[0] < max(MIN_PAGES, SUPPORT * count):
        return None
    # The band's centre and size are the medians of its lines (the seed may lie at an edge).
    held = [line for line in lines if best.holds(line)]
    return _Band(median(l.centre for l in held), median(l.size for l in held))


def _without_template(pages: list[list[Line]]) -> list[list[Line]]:
    """Each page's lines, top first, without template lines: a line whose place holds the same
    text on most (TEMPLATE) of the slides with a line there (a sidebar's talk title or author, a
    logo's text that chrome detection left because it is on fewer than half of the slides)."""
    out = []
    for page in pages:
        kept = []
        for line in page:
            band = _Band(line.centre, line.size)
            held = {p: next(l for l in other if band.holds(l)) for p, other in enumerate(pages)
                    if any(band.holds(l) for l in other)}
            if len(held) < MIN_PAGES or not _same_text(list(held.values())) or _continued(held, len(pages)):
                kept.append(line)
        out.append(sorted(kept, key=lambda line: line.box[1]))
    return out


def _continued(held: dict[int, Line], count: int) -> bool:
    """Do the slides whose line in `held` (by slide number) reads the most common text form one
    unbroken run, short of nearly all `count` slides: a frame title continued over consecutive
    frames ("Analytic method" heading four frames in a row), not template text. Other slides
    must read other text at that place (the next frame's title): a sidebar shown on one part of
    the talk only reads the same wherever it is."""
    keys = {p: _key(line) for p, line in held.items()}
    common = Counter(keys.values()).most_common(1)[0][0]
    run = frozenset(p for p, key in keys.items() if key == common)
    return len(run) < len(keys) and continued_run(run, count)


def _key(line: Line) -> str:
    return "".join(c for c in line.text.lower() if c.isalnum())


def _same_text(lines: list[Line]) -> bool:
    """Most of the lines (TEMPLATE) read the same (letters and digits only, any case)."""
    keys = Counter(_key(line) for line in lines)
    return bool(keys) and keys.most_common(1)[0][1] > TEMPLATE * len(lines)


def _candidate(line: Line, body: float) -> bool:
    return line.box[1] < TOP and line.size >= NOT_SMALLER * body and any(c.isalnum() for c in line.text)


def _band_line(page: list[Line], candidates: list[Line], band: _Band) -> Line | None:
    """The page's candidate line in the band; else its line at the band's place in another type
    (small caps, a title OCR read smaller); else None. `page`: the lines without template lines."""
    held = [line for line in candidates if band.holds(line)] or \
        [line for line in page if abs(line.centre - band.centre) <= PLACE]
    return held[0] if held else None


def _display_line(page: list[Line], body: float) -> Line | None:
    """The page's largest line when clearly larger than the body (a section page's name), else None.
    A line set on its side (a chart's axis label, "Bar" in a box far taller than wide) is none:
    its box height is the word's length, not its type size."""
    largest = max((line for line in page if not _sideways(line)), key=lambda line: line.size, default=None)
    if largest is None or largest.size < DISPLAY * body:
        return None
    return _named(page, largest)


def _named(page: list[Line], line: Line) -> Line:
    """The section's name under a section page's number line ("Section 1" set largest over "Two
    methods of finding wave's ACF"): the number alone tells a reader nothing."""
    if not SECTION_NUMBER.fullmatch(" ".join(line.text.split())):
        return line
    under = [other for other in page[page.index(line) + 1:] if other.box[1] >= line.box[3]]
    return under[0] if under else line


def _with_lines_under(page: list[Line], first: Line, body: float) -> str:
    """A title page's or section page's title line with the lines set right under it in its type,
    when that type is larger than the body's: a long title broken over lines ("On the Complexity
    of SNP Block" / "Partitioning Under the Perfect Phylogeny" / "Model"). A subtitle or the
    author in smaller type, and bullets under a line in the body's type, are not joined."""
    # OCR's word heights make a title page's type look barely larger than the body's (38 px
    # against 34 for the conference talk's title): centred on the page, it still reads as a title.
    by_place = first.size < SIZE_RATIO * body
    if by_place and not _centred(first):
        return " ".join(first.text.split())
    lines = [first]
    for line in page[page.index(first) + 1:]:
        last = lines[-1]
        same_type = max(line.size, first.size) / max(1e-9, min(line.size, first.size)) <= SIZE_RATIO
        under = 0 <= line.box[1] - last.box[3] <= UNDER * (last.box[3] - last.box[1])
        below = _centred(line) if by_place else line.box[0] < last.box[2] and line.box[2] > last.box[0]
        if not (same_type and under and below):
            break
        lines.append(line)
    return " ".join(" ".join(line.text.split()) for line in lines)


def _centred(line: Line) -> bool:
    return abs((line.box[0] + line.box[2]) / 2 - 0.5) <= CENTRED


def _sideways(line: Line) -> bool:
    """Is the line's box too narrow for its characters set upright (SIDEWAYS)?"""
    return (line.box[2] - line.box[0]) < SIDEWAYS * (line.box[3] - line.box[1]) * len(line.text.strip())


def _covers_row(box: tuple[float, float, float, float], centre: float) -> bool:
    return box[1] <= centre <= box[3]


def _beside(line: Line, boxes: list[tuple[float, float, float, float]]) -> bool:
    """Does a box (a tile) sit in the line's row, touching it or up to TILE_GAP from its ends?
    OCR then read what the tile leaves of a longer line ("slides" of "Backup slides")."""
    height = line.box[3] - line.box[1]
    for box in boxes:
        if box[1] < line.box[3] - height / 4 and box[3] > line.box[1] + height / 4:
            if box[0] - TILE_GAP <= line.box[2] and box[2] + TILE_GAP >= line.box[0]:
                return True
    return False


def _own_title(page: list[Line], alone: str, body: float) -> str:
    """A slide with no line in the band and no display line (a title page, a section page whose
    name is set only a little larger than the body) keeps its title by the single-slide rule
    (`alone`) when that line is not smaller than the body type (a figure's caption or label is)."""
    line = next((line for line in page if " ".join(line.text.split()) == " ".join(alone.split())), None)
    if line is None or line.size < NOT_SMALLER * body:
        return ""
    return _with_lines_under(page, _named(page, line), body)


def ocr_lines(page, size: tuple[int, int]) -> list[Line]:
    """An OCR page's lines (slidecast.ocr.PageText: words with pixel boxes) placed in fractions
    of its picture, `size` (width, height); the type size is the line's median word height. A
    line is split where a gap is wider than COLUMN_GAP word heights: OCR reads a title and a
    sidebar's text beside it as one line."""
    width, height = max(1, size[0]), max(1, size[1])
    out = []
    for words in page.lines:
        for column in _columns(words):
            heights = sorted(w.box[3] - w.box[1] for w in column)
            box = (min(w.box[0] for w in column) / width, min(w.box[1] for w in column) / height,
                   max(w.box[2] for w in column) / width, max(w.box[3] for w in column) / height)
            out.append(Line(" ".join(w.text for w in column), box, heights[len(heights) // 2] / height))
    return out


def _columns(words: list) -> list[list]:
    columns = [[words[0]]]
    for word in words[1:]:
        before = columns[-1][-1]
        height = max(1, min(word.box[3] - word.box[1], before.box[3] - before.box[1]))
        if word.box[0] - before.box[2] > COLUMN_GAP * height:
            columns.append([])
        columns[-1].append(word)
    return columns
