"""The talk's own deck (a PDF): which page each slide of the video shows, and that page's text.

Matching is done on the slide pictures the engine wrote, so whatever surrounds the slide in
the frame (speaker view, pillarbox, a webcam over a corner) and however it was filmed (scale,
crop, camera perspective) is handled by the same geometry: SIFT features of the picture are
matched to each page's, a homography is fitted with RANSAC, and the page must explain enough of
them. Candidates that explain about as many (the steps of a beamer overlay are separate pages
that share most of their content) are told apart by warping each page onto the picture and
comparing pixels there: the build step on screen is the one with the least left over; those
that leave about as much are then compared only where they differ (a page number in a corner).
Pages that are the same picture are told apart by the talk's order.

pypdfium2 (PDFium, the PDF engine of Chromium) renders pages and reads their text layer;
OpenCV does the features and geometry (docs/dependencies.md).
"""

from __future__ import annotations

import functools
import itertools
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from PIL import Image
import numpy as np
import pypdfium2 as pdfium

from .deck_lines import bullet_starts, reading_order, stream_lines, without_bullets
from .errors import SlidecastError
from .page_drawing import TooSlow, draw
from .same_page import join_untold_builds, one_slide_per_page
from .titles import Line, talk_titles

MAX_DECK_PAGES = 2000
# A page's sides, in PDF points: PDF's own bounds (3 to 14400, 200 inches), and at most this
# ratio between them (slides are 4:3 or 16:9, paper 1.41): a 20 x 14400 page matched at
# MATCH_WIDTH would be drawn 460000 pixels tall.
PAGE_POINTS = (3.0, 14400.0)
MAX_PAGE_ASPECT = 5.0
# A page is never drawn larger than this many pixels, whatever width is asked.
MAX_RENDER_PIXELS = 40_000_000
# Drawing one page fails past this many seconds (a slide draws in well under one), and reading
# a whole deck (drawing every page and finding its features) past DECK_SECONDS.
PAGE_SECONDS = 30.0
DECK_SECONDS = 900.0
# Pages are matched at this width (pixels); slide pictures are scaled to the same width.
MATCH_WIDTH = 640
# A page must explain at least this many feature matches to be the one on screen.
MIN_INLIERS = 14
# Lowe's ratio test; lenient because slide text repeats glyphs (many near-equal features).
RATIO = 0.85
# A fit this many feature matches agree on is the slide's place even when its page leaves more
# than EXPLAINED unexplained; a fit of fewer may be chance (another deck's page, one font's
# glyphs), so its page counts only when it explains the picture.
STRONG_INLIERS = 2 * MIN_INLIERS
SHORTLIST = 12
# A picture whose best page leaves more than this unexplained is tried under the video's
# geometry too, and then every page of a deck up to ALL_PAGES_UP_TO pages.
EXPLAINED = 0.12
# A picture whose best shortlisted page leaves more than this unexplained under a geometry
# STRONG_INLIERS agree on is compared with every page of a deck up to ALL_PAGES_UP_TO pages
# under that geometry: the page shown may be missing from the shortlist. The page shown leaves
# at most 0.041 on the 128 pictures of fade seeds 1-20 (640x360, crossfades); a shortlist that
# missed it left 0.106 or more with its best (wrong) page.
WELL_EXPLAINED = 0.06
# A deck that matches fewer than this share of the distinct slides is likely not the talk's.
MIN_MATCHED_SHARE = 0.5
# ... where a page must leave no more than this unexplained (a picture of no page of the deck
# leaves far more under every page).
PLACED_LEFTOVER = 0.2
ALL_PAGES_UP_TO = 150
# A weak fit whose page corners land farther than this share of the picture's width from the
# video's geometry (on average) puts the slide somewhere no other picture has it.
ELSEWHERE = 0.05
# Difference (in standard deviations of the page's grey levels) that counts as unexplained.
LEFTOVER_LEVEL = 0.8
# A page scaled onto the whole picture is taken when it leaves no more than this unexplained.
FIT_LEFTOVER = 0.06
# Candidates leaving no more than this above the best are compared where they differ.
CLOSE = 0.03
# Grey levels (0-255) by which two pages' pixels must differ to count as different ink, and how
# many such pixels (at MATCH_WIDTH) make two pages different pictures.
INK_LEVEL = 40
MIN_DIFFERENT = 4
# ... when they differ in no more than this share of their pixels (a line, a page number).
SMALL = 0.02
# How many of the best-ranked pages a picture is fitted as a mix of (a crossfade shows two).
MIXED = SHORTLIST
# How far (picture pixels) the closer look slides a page to cover a fit that is a little off.
NUDGE = 2
# RANSAC's iterations per fit. The page shown gives a fit most matches agree on, which RANSAC
# finds in far fewer; the other shortlisted pages (and every page of a wrong deck) give chance
# matches, on which OpenCV's default (2000) was most of a wrong deck's time.
RANSAC_ITERATIONS = 500
# Pages kept drawn (decoded from their PNG) while matching: the shortlist and the pages compared
# with each other over one picture.
GREYS_KEPT = 4 * SHORTLIST
_SIFT_FEATURES = 600


class DeckError(SlidecastError):
    """The deck file is not a PDF this library can use. `reason` says why ("the deck is not a
    PDF ..."), `name` is the file's name; str() puts the name first ("talk.pdf: the deck ..."),
    the way the API names a file it was sent."""

    exit_code = 2

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, reason)  # both in args: the error pickles (Celery results)

    name = property(lambda self: self.args[0])
    reason = property(lambda self: self.args[1])

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class DeckPage:
    number: int  # 1-based
    png: bytes  # the page in grey, MATCH_WIDTH wide, PNG-compressed (a 1000-page deck fits)
    shape: tuple[int, int]  # of the grey picture: (height, width)
    keypoints: np.ndarray  # (n, 2) float32, in `grey` pixels
    descriptors: np.ndarray | None
    text: str
    title: str = ""  # the frame title from the text layer (slidecast.titles), "" if none

    @property
    def grey(self) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(self.png, np.uint8), cv2.IMREAD_GRAYSCALE)


@dataclass
class Deck:
    path: Path
    pages: list[DeckPage]
    outline: list[tuple[int, str]] = field(default_factory=list)  # top-level (page, title)

    def render(self, number: int, width: int) -> np.ndarray:
        """Page `number` (1-based) as an RGB picture `width` pixels wide (narrower when that
        would pass MAX_RENDER_PIXELS)."""
        pdf = pdfium.PdfDocument(self.path)
        try:
            page = pdf[number - 1]
            return draw(page, _scale(page, width), time.monotonic() + PAGE_SECONDS)
        except TooSlow:
            raise DeckError(self.path.name, f"page {number} takes more than {PAGE_SECONDS:.0f} s to draw") from None
        finally:
            pdf.close()


def open_deck(path: str | Path, max_pages: int = MAX_DECK_PAGES, progress=None,
              seconds: float = DECK_SECONDS) -> Deck:
    """Read the deck: every page's features and text, and its outline's top level.

    progress(fraction), when given, is called after each page (it may raise to stop, as a
    cancelled job's does). Raises DeckError when the file is missing, is not a PDF, cannot be
    opened (damaged, encrypted), has no pages or more than `max_pages`, a page that cannot be
    loaded, or takes more than `seconds` to read or PAGE_SECONDS to draw one page (pages too
    heavy to draw).
    """
    path = Path(path)
    check_pdf(path, max_pages)
    report = progress or (lambda fraction: None)
    clock = _Budget(seconds, path.name)
    pdf = pdfium.PdfDocument(path)
    try:
        sift = cv2.SIFT_create(nfeatures=_SIFT_FEATURES)
        texts, lines, bullets, pages = [], [], [], []
        for i in range(len(pdf)):
            page = _load(pdf, i, path.name)
            texts.append(_page_text(page))
            lines.append(stream_lines(page))
            bullets.append(bullet_starts(page))
            try:
                grey = _render_grey(page, clock.page_deadline())
            except TooSlow:
                raise clock.too_slow(i + 1, len(pdf)) from None
            points, descriptors = _features(sift, grey)
            png = cv2.imencode(".png", grey, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
            pages.append(DeckPage(i + 1, png, grey.shape, points, descriptors, ""))
            report((i + 1) / len(pdf))
        running = _running_flags(lines)
        own = _without_running_lines(texts, lines, running)
        for page, text, starts, title in zip(pages, own, bullets, _titles(lines, running)):
            page.text, page.title = without_bullets(text, starts), title
        outline = _outline(pdf)
    finally:
        pdf.close()
    return Deck(path, pages, outline)


def _titles(pages: list[list[Line]], running: list[list[bool]]) -> list[str]:
    """Each page's frame title, chosen across the deck (slidecast.titles) from its text layer's
    placed lines (`pages`) without the running ones (navigation bars, headers, footers)."""
    kept = [reading_order(line for line, flag in zip(lines, flags) if not flag) for lines, flags in zip(pages, running)]
    return talk_titles(kept, ["" for _ in kept])


class _Budget:
    """Deadlines for reading the deck: PAGE_SECONDS a page, `seconds` in all."""

    def __init__(self, seconds: float, name: str):
        self.ends, self.seconds, self.name = time.monotonic() + seconds, seconds, name

    def page_deadline(self) -> float:
        return min(time.monotonic() + PAGE_SECONDS, self.ends)

    def too_slow(self, page: int, pages: int) -> DeckError:
        what = f"{self.seconds:.0f} s to read" if time.monotonic() >= self.ends else f"{PAGE_SECONDS:.0f} s to draw page {page}"
        return DeckError(self.name, f"the deck takes more than {what} (of {pages} pages): its pages are too "
                                    "heavy to draw; send a lighter PDF (exported again)")


def _load(pdf, index: int, name: str):
    try:
        return pdf[index]
    except pdfium.PdfiumError:
        raise DeckError(name, f"the deck's pages cannot be read (page {index + 1} does not load; "
                              "the file is damaged)") from None


def _outline(pdf) -> list[tuple[int, str]]:
    """The outline's top-level entries (beamer's sections) as (1-based page, title)."""
    out = []
    for item in pdf.get_toc():
        dest = item.get_dest()
        index = dest.get_index() if dest is not None else None
        if item.level == 0 and index is not None:
            out.append((index + 1, " ".join(item.get_title().split())))
    return out


def check_pdf(path: Path, max_pages: int = MAX_DECK_PAGES) -> int:
    """The page count of the PDF at `path`; DeckError with the reason when it cannot be a deck."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        raise DeckError(path.name, f"cannot read the deck: {exc.strerror or exc}") from None
    if b"%PDF-" not in head:
        raise DeckError(path.name, "the deck is not a PDF (it does not start with %PDF-)")
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError:
        # PDFium's reason is its last error, which a failed open does not always set (a PDF
        # without pages: "Success", or the reason of a deck refused before it in this process).
        raise DeckError(path.name, "the deck cannot be opened as a PDF: it is damaged, password-protected "
                                   "or has no pages; export it from the slides' program again") from None
    try:
        count = len(pdf)
        if count == 0 or count > max_pages:
            raise DeckError(path.name, f"the deck has {count} pages; a deck must have 1 to {max_pages}")
        for index in range(count):
            _check_page_size(pdf, index, path.name)
    finally:
        pdf.close()
    return count


def _check_page_size(pdf, index: int, name: str) -> None:
    """From the page tree alone (no page content is read): the page exists and has a size a
    slide can have."""
    try:
        width, height = pdf.get_page_size(index)
    except pdfium.PdfiumError:
        raise DeckError(name, f"the deck's pages cannot be read (page {index + 1} is missing from its "
                              "page tree, or the tree is damaged)") from None
    low, high = PAGE_POINTS
    if not (low <= width <= high and low <= height <= high):
        raise DeckError(name, f"page {index + 1} is {width:g} x {height:g} points; a page's sides must be "
                              f"{low:g} to {high:g} points")
    if max(width, height) > MAX_PAGE_ASPECT * min(width, height):
        raise DeckError(name, f"page {index + 1} is {width:g} x {height:g} points, more than "
                              f"{MAX_PAGE_ASPECT:g} times longer than wide: not a slide")


def load_pages(path: Path) -> None:
    """Load every page of the PDF at `path` (its content parsed, nothing drawn): what
    jobs/deck.py times in a child process, which it can stop."""
    pdf = pdfium.PdfDocument(path)
    try:
        for index in range(len(pdf)):
            _load(pdf, index, Path(path).name).close()
    finally:
        pdf.close()


# PDFium writes a hyphen that ends a line as this control character and drops the line break.
_LINE_END_HYPHEN = "\x02"


def _page_text(page) -> str:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_bounded()
    finally:
        textpage.close()
    # A word broken across lines is one word again ("funda-" + "mental"); before a capital the
    # hyphen is the text's own ("Bar-" + "Ilan") and the line break is put back.
    text = re.sub(_LINE_END_HYPHEN + "(.?)", lambda m: m[1] if m[1].islower() else "-\n" + m[1], text, flags=re.S)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _without_running_lines(texts: list[str], pages: list[list[Line]], running: list[list[bool]]) -> list[str]:
    """Each page's text without its running lines (_running_flags). The text's lines and the
    placed lines (`pages`, in stream order) are both in the order of the page's content, so the
    n-th text line of a wording is the n-th placed line of it: the table of contents' "First
    section" stays while the navigation bar's "First section" above it goes."""
    out = []
    for text, lines, flags in zip(texts, pages, running):
        placed: dict[str, list[bool]] = {}
        for line, flag in zip(lines, flags):
            placed.setdefault(_line_key(line.text), []).append(flag)
        kept = []
        for line in text.splitlines():
            flags_of_key = placed.get(_line_key(line))
            # A text line no placed line spells the same (a hyphen put back) is the page's own.
            if not (flags_of_key and flags_of_key.pop(0)):
                kept.append(line)
        out.append("\n".join(kept))
    return out


def _running_flags(pages: list[list[Line]]) -> list[list[bool]]:
    """For each line of each page, whether it is a running line (navigation bar, running header
    or footer), decided by where it is, not by its words alone:
    - words (numbers counting as equal: "3 / 20" is "4 / 20") found on half or more of the
      pages, and in this line's column (_column) on a quarter or more of them (at least 2): a
      deck may place its logo's text in two layouts (title-page variants and sidebar pages);
      the column, not the height, because a sidebar's entries move down under an opened section;
    - or a line in the row of such a line on its page, of its type size, at a place (_place)
      where most pages have words: the current section's entries of a navigation bar ("Third
      subsection" beside "First section"), which show on only some pages.
    The same words elsewhere on a page (the table of contents' "First section") are the page's
    own. None under 3 pages."""
    if len(pages) < 3:
        return [[False] * len(lines) for lines in pages]
    words: dict[tuple, set[int]] = {}  # (key, column) -> pages
    places: dict[tuple, set[int]] = {}  # place -> pages with any words there
    anywhere: Counter = Counter()  # key -> pages
    keys = [[_line_key(line.text) for line in lines] for lines in pages]
    for number, (lines, page_keys) in enumerate(zip(pages, keys)):
        anywhere.update(set(page_keys))
        for line, key in zip(lines, page_keys):
            words.setdefault((key, *_column(line)), set()).add(number)
            places.setdefault(_place(line), set()).add(number)
    half, quarter = len(pages) / 2, max(2.0, len(pages) / 4)
    out = []
    for lines, page_keys in zip(pages, keys):
        anchors = [anywhere[key] >= half and _on_pages(words, (key, *_column(line)), 2) >= quarter
                   for line, key in zip(lines, page_keys)]
        rows = [line for line, anchor in zip(lines, anchors) if anchor]
        # A row-mate's place holds some words on most pages too: body text beside a sidebar's
        # entry moves from page to page.
        out.append([anchor or (any(_same_row(line, row) for row in rows) and _on_pages(places, _place(line), 0) >= half)
                    for line, anchor in zip(lines, anchors)])
    return out


# Places are cells this many to the page height (top and bottom) and width (left edge, centre);
# a line is at a place when its cells are within one of it (a centred "12 / 20" is wider than
# "3 / 20").
_ROWS, _COLUMNS = 100, 20


def _column(line: Line) -> tuple[int, int]:
    """Where across the page the line is: a sidebar's entries keep it while an opened section's
    subsections move the ones below down."""
    x0, _, x1, _ = line.box
    return round(x0 * _ROWS), round((x0 + x1) / 2 * _COLUMNS)


def _place(line: Line) -> tuple[int, int, int]:
    x0, y0, x1, y1 = line.box
    return round(y0 * _ROWS), round(y1 * _ROWS), round((x0 + x1) / 2 * _COLUMNS)


def _on_pages(seen: dict[tuple, set[int]], cell: tuple, fixed: int) -> int:
    """On how many pages something is at `cell` or next to it (each number after the first
    `fixed` of the cell within one)."""
    pages: set[int] = set()
    head, tail = cell[:fixed], cell[fixed:]
    for near in itertools.product(*[(n - 1, n, n + 1) for n in tail]):
        pages |= seen.get((*head, *near), set())
    return len(pages)


def _same_row(line: Line, running: Line) -> bool:
    """`line` shares most of its height with the running line and has about its type size."""
    shared = min(line.box[3], running.box[3]) - max(line.box[1], running.box[1])
    height = min(line.box[3] - line.box[1], running.box[3] - running.box[1])
    sizes = sorted((line.size, running.size))
    return height > 0 and shared >= 0.5 * height and sizes[1] <= 1.25 * sizes[0]


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _scale(page, width: int) -> float:
    """The scale that draws `page` `width` pixels wide, or smaller to stay within MAX_RENDER_PIXELS."""
    points_w, points_h = page.get_size()
    return min(width / points_w, (MAX_RENDER_PIXELS / (points_w * points_h)) ** 0.5)


def _render_grey(page, deadline: float) -> np.ndarray:
    picture = draw(page, _scale(page, MATCH_WIDTH), deadline, grayscale=True)
    return picture if picture.ndim == 2 else cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)


def _features(sift, grey: np.ndarray):
    keypoints, descriptors = sift.detectAndCompute(grey, None)
    points = np.float32([k.pt for k in keypoints]).reshape(-1, 2)
    return points, descriptors


class DeckMatcher:
    """Finds the deck page shown on a slide picture (see the module docstring)."""

    def __init__(self, deck: Deck, seed: int = 0):
        self.deck = deck
        self.sift = cv2.SIFT_create(nfeatures=_SIFT_FEATURES * 3)
        self.bf = cv2.BFMatcher(cv2.NORM_L2)
        with_features = [p for p in deck.pages if p.descriptors is not None and len(p.descriptors) >= 4]
        # FLANN numbers descriptors per added page (imgIdx, trainIdx): owner maps them back.
        self.owner = [np.full(len(p.descriptors), p.number) for p in with_features]
        self.index = None
        if with_features:
            self.index = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 64})
            self.index.add([p.descriptors for p in with_features])
            # The trees split on dimensions drawn from this thread's OpenCV RNG: unseeded, the
            # same video and deck could give another page in the next run (which pages rank
            # last on the shortlist changes).
            cv2.setRNGSeed(seed)
            self.index.train()
        self.by_number = {p.number: p for p in deck.pages}
        # One picture compares each shortlisted page with each other: decoding a page's PNG
        # every time was a tenth of a right deck's time.
        self.grey = functools.lru_cache(maxsize=GREYS_KEPT)(self._decoded)

    def _decoded(self, number: int) -> np.ndarray:
        grey = self.by_number[number].grey
        grey.flags.writeable = False  # shared by every caller
        return grey

    def match(self, rgb: np.ndarray) -> int | None:
        """The 1-based page shown on `rgb` (a slide picture), or None when no page is."""
        grey = _match_grey(rgb)
        sighting = self.look(grey)
        return self.page(grey, sighting) if sighting else None

    def look(self, grey: np.ndarray) -> "Sighting | None":
        """The picture's candidate pages and where its own features say the slide is (`grey`:
        the picture as _match_grey makes it)."""
        points, descriptors = _features(self.sift, grey)
        if descriptors is None or len(descriptors) < 4 or self.index is None:
            return None
        shortlist = [self.by_number[n] for n in self._shortlist(descriptors)]
        # Every page of a deck has the same size, so where the slide sits in the picture is one
        # homography, found from the page whose features agree best; which page is shown is then
        # told by pixels (the steps of an overlay share most features, not their pixels).
        fits = [f for f in (self._verify(page, points, descriptors) for page in shortlist) if f is not None]
        inliers, geometry = max(fits, key=lambda f: f[0]) if fits else (0, None)
        return Sighting(grey.shape, [p.number for p in shortlist], geometry, inliers)

    def page(self, grey: np.ndarray, sighting: "Sighting", video_geometry: np.ndarray | None = None,
             previous: int | None = None) -> int | None:
        """The page shown on the picture (see `look_alikes`); of pages that look the same, the
        one a talk going forward through its deck shows after `previous` (in_order)."""
        pages = self.look_alikes(grey, sighting, video_geometry)
        return in_order(pages, previous) if pages else None

    def look_alikes(self, grey: np.ndarray, sighting: "Sighting", video_geometry: np.ndarray | None = None) -> list[int]:
        """The page with the least left unexplained under the picture's own geometry, or scaled
        onto the whole picture when that explains it; when neither explains the picture well,
        also under the video's geometry (`video_geometry`: where the slide sits in most
        pictures), trying every page of a small deck (a sparse page the shortlist missed).
        Pages that leave about as much unexplained are then told apart where they differ
        (`_closer_look`). Returns the chosen page and the pages that look exactly like it
        (none can tell them apart), or [] when no page is a candidate."""
        candidates, leftover = [], _Leftovers(grey)
        own = _trusted(sighting, video_geometry, grey.shape)
        for number in sighting.shortlist:
            page_grey = self.grey(number)
            if own is not None:
                # A weak fit with a page that leaves much unexplained is no match: a page with
                # little ink (a title on a plain background) leaves little unexplained anywhere.
                left = leftover(page_grey, own)
                if left <= EXPLAINED or sighting.inliers >= STRONG_INLIERS:
                    candidates.append((left, number, own))
            # A sparse page gives too few distinct features for a homography; when the picture
            # is the slide itself, the page scaled onto it is the geometry to check.
            fit = _fit(page_grey.shape, grey.shape)
            fitted = leftover(page_grey, fit)
            if fitted <= FIT_LEFTOVER:
                candidates.append((fitted, number, fit))
        if own is not None and sighting.inliers >= STRONG_INLIERS and len(self.deck.pages) <= ALL_PAGES_UP_TO \
                and (not candidates or min(c[0] for c in candidates) > WELL_EXPLAINED):
            # The shortlist's votes may miss the page shown: a template's features (a sidebar
            # with a logo, on every page) are near on every page and crowd out the page's own,
            # and FLANN's random trees change which pages rank last. fade-2 of the seeds
            # (beamer-logik page 11, no fade under way) got page 10 or 33 under some RNG seeds:
            # its page was 13th, and the geometry (76 agreeing features, from the sidebar) was
            # right all along.
            # Only a page that explains the picture is taken from there: a picture beside a
            # webcam leaves about 0.1 under its own page, where many sparse pages of a deck
            # leave about as much and the mix fit (_dominant) over them goes astray
            # (metropolis-pip's page 28 took page 16).
            listed = set(sighting.shortlist)
            unlisted = [(leftover(self.grey(p.number), own), p.number, own)
                        for p in self.deck.pages if p.number not in listed]
            candidates += [c for c in unlisted if c[0] <= WELL_EXPLAINED]
        if video_geometry is not None and (not candidates or min(c[0] for c in candidates) > EXPLAINED):
            pages = self.deck.pages if len(self.deck.pages) <= ALL_PAGES_UP_TO else \
                [self.by_number[n] for n in sighting.shortlist]
            placed = [(leftover(self.grey(p.number), video_geometry), p.number, video_geometry) for p in pages]
            candidates += [c for c in placed if c[0] <= PLACED_LEFTOVER]
        if not candidates:
            return []
        ranked = sorted(candidates, key=lambda c: (c[0], c[1]))
        best, first, geometry = self._dominant(ranked, grey)
        # Pages that differ from the best in more than SMALL of their pixels are told apart by
        # the share above; the closer look is for differences that share drowns in noise.
        close = [n for n in dict.fromkeys(c[1] for c in ranked if c[0] <= best + CLOSE)
                 if _different_ink(self.grey(n), self.grey(first)) <= SMALL]
        return self._closer_look(sorted(close), geometry, grey)

    def _dominant(self, ranked: list[tuple], grey: np.ndarray) -> tuple:
        """Of the MIXED best-ranked pages that differ clearly (more than SMALL of their ink), the
        one the picture is made of most, as (leftover, page, geometry). A picture caught during
        a crossfade is both pages at once: a share of pixels left unexplained favours the page
        with more ink (a sparse page 80% on screen leaves its faint dense successor's every
        glyph unexplained, while the dense page leaves only the sparse page's few), so the
        picture is fitted as a mix of the pages' grey levels and the largest weight wins."""
        pool = {}
        for candidate in ranked:
            number = candidate[1]
            if number not in pool and all(_different_ink(self.grey(number), self.grey(n)) > SMALL
                                          for n in pool):
                pool[number] = candidate
            if len(pool) == MIXED:
                break
        if len(pool) < 2:
            return ranked[0]
        weights = _mix_weights([(self.grey(n), c[2]) for n, c in pool.items()], grey)
        return list(pool.values())[int(np.argmax(weights))] if weights is not None else ranked[0]

    def _closer_look(self, numbers: list[int], geometry: np.ndarray, grey: np.ndarray) -> list[int]:
        """Of pages that leave about as much unexplained (an overlay step that adds a word, a
        page number in a corner), the one whose differing pixels the picture shows, compared
        only there under the slide's geometry; first in the list returned, followed by the
        pages identical to it."""
        pages = [self.grey(n) for n in numbers]
        scores = _where_they_differ(pages, geometry, grey) if len(pages) > 1 else None
        if scores is None:  # one candidate, or candidates that are the same picture
            return numbers
        ranked = sorted(zip(scores, numbers))
        chosen = ranked[0][1]
        same = [n for n in numbers if n != chosen and _same_picture(self.grey(n), self.grey(chosen))]
        return [chosen] + same

    def _shortlist(self, descriptors: np.ndarray) -> list[int]:
        """Pages holding the most near neighbours of the picture's features."""
        votes: Counter = Counter()
        for neighbours in self.index.knnMatch(descriptors, k=8):
            if not neighbours:
                continue
            limit = neighbours[0].distance * 1.25 + 1e-6
            pages = {int(self.owner[m.imgIdx][m.trainIdx]) for m in neighbours if m.distance <= limit}
            # A feature of the template (logo, sidebar) is near on every page and says little.
            for page in pages:
                votes[page] += 1.0 / len(pages)
        return [page for page, _ in votes.most_common(SHORTLIST)]

    def _verify(self, page: DeckPage, points: np.ndarray, descriptors: np.ndarray):
        """(inliers, page -> picture homography) when enough feature matches agree, else None."""
        pairs = self.bf.knnMatch(descriptors, page.descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
        if len(good) < MIN_INLIERS:
            return None
        source = page.keypoints[[m.trainIdx for m in good]]
        target = points[[m.queryIdx for m in good]]
        homography, mask = cv2.findHomography(source, target, cv2.RANSAC, 5.0, maxIters=RANSAC_ITERATIONS)
        if homography is None or int(mask.sum()) < MIN_INLIERS or not _plausible(homography, page.shape):
            return None
        return int(mask.sum()), homography


@dataclass
class Sighting:
    """What one slide picture's features say (DeckMatcher.look)."""

    shape: tuple[int, int]  # of the picture in grey, as matched
    shortlist: list[int]  # candidate pages
    geometry: np.ndarray | None  # page -> picture, from the best-agreeing page's features
    inliers: int  # how many features agree with it


def _match_grey(rgb: np.ndarray) -> np.ndarray:
    """The picture in grey; the slide may fill only part of it (speaker view, filmed), so it is
    read at up to twice the pages' width so that its slide is not smaller than the pages."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    width = min(grey.shape[1], 2 * MATCH_WIDTH)
    if width != grey.shape[1]:
        height = max(1, round(grey.shape[0] * width / grey.shape[1]))
        grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
    return grey


def video_geometry(sightings: list[Sighting | None]) -> tuple[tuple[int, int], np.ndarray] | None:
    """Where the slide sits in most pictures of the video: of the geometries that many features
    agree on, the one nearest to the others (corner distance). A picture whose own features
    agree on a wrong fit (a figure of repeating shapes) or on none (a sparse page) is then
    still read where the slide is. Returns (picture shape, geometry)."""
    strong = [s for s in sightings if s is not None and s.geometry is not None and s.inliers >= STRONG_INLIERS]
    if len(strong) < 3:
        return None
    same = [s for s in strong if s.shape == strong[0].shape]  # pictures of one video share a size
    quads = [_corners(s.geometry) for s in same]
    spread = [sum(float(np.abs(q - other).mean()) for other in quads) for q in quads]
    return strong[0].shape, same[int(np.argmin(spread))].geometry


def _corners(geometry: np.ndarray) -> np.ndarray:
    """Where a page's corners land in the picture (of a page MATCH_WIDTH square: every page of a
    deck has one size, so only the geometries are compared)."""
    corners = np.float32([[0, 0], [MATCH_WIDTH, 0], [MATCH_WIDTH, MATCH_WIDTH], [0, MATCH_WIDTH]]).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(corners, geometry).reshape(-1, 2)


def _trusted(sighting: "Sighting", video_geometry: np.ndarray | None, shape) -> np.ndarray | None:
    """The picture's own geometry, unless few features agree on it and it puts the slide
    elsewhere than the video's other pictures do: a sparse page's handful of chance matches
    (metropolis's "Animation" step matched a dark "Questions?" page mapped onto the pillarbox)."""
    if sighting.geometry is None or video_geometry is None or sighting.inliers >= STRONG_INLIERS:
        return sighting.geometry
    apart = float(np.abs(_corners(sighting.geometry) - _corners(video_geometry)).mean())
    return sighting.geometry if apart <= ELSEWHERE * shape[1] else None


def _plausible(homography: np.ndarray, shape) -> bool:
    """The page maps to a convex quadrilateral of sensible size (not a fold or a speck)."""
    h, w = shape
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]]).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(corners, homography).reshape(-1, 2)
    area = cv2.contourArea(quad)
    return cv2.isContourConvex(quad.astype(np.float32)) and area > 0.02 * w * h


def _fit(page_shape, picture_shape) -> np.ndarray:
    """The homography that scales the page onto the picture (the picture is the slide)."""
    return np.diag([picture_shape[1] / page_shape[1], picture_shape[0] / page_shape[0], 1.0])


class _Leftovers:
    """_leftover of pages on one picture. Where a geometry lands on the picture and the picture's
    normalised grey there are the same for every page of the deck's size: made once per
    geometry, not once per page (half the cost of comparing a picture with its shortlist)."""

    def __init__(self, grey: np.ndarray):
        self.grey = grey
        self.landings: dict[tuple, tuple | None] = {}

    def __call__(self, page: np.ndarray, homography: np.ndarray) -> float:
        key = (page.shape, homography.tobytes())
        if key not in self.landings:
            self.landings[key] = _landing(page.shape, homography, self.grey)
        return _leftover(page, homography, self.grey, self.landings[key])


def _landing(page_shape, homography: np.ndarray, grey: np.ndarray) -> tuple | None:
    """(mask, normalised picture) where a page of `page_shape` lands under `homography`; None
    when it lands on too few pixels to judge."""
    size = (grey.shape[1], grey.shape[0])
    mask = cv2.warpPerspective(np.full(page_shape, 255, np.uint8), homography, size) > 0
    if mask.sum() < 100:
        return None
    return mask, _normalised(cv2.GaussianBlur(grey, (5, 5), 0), mask)


def _leftover(page: np.ndarray, homography: np.ndarray, grey: np.ndarray, landing: tuple | None) -> float:
    """How much of the picture the warped page leaves unexplained: the share of pixels, where
    the page lands, whose contrast-normalised, slightly blurred grey levels differ clearly
    (`landing`: _landing's answer for this page size and geometry)."""
    if landing is None:
        return float("inf")
    mask, b = landing
    warped = cv2.warpPerspective(page, homography, (grey.shape[1], grey.shape[0]), flags=cv2.INTER_AREA)
    a = _normalised(cv2.GaussianBlur(warped, (5, 5), 0), mask)
    # Share of clearly different pixels, not the mean difference: a build step adds a line of
    # text, which the mean over the whole page would dilute into the camera's noise.
    return float((np.abs(a - b)[mask] > LEFTOVER_LEVEL).mean())


def _mix_weights(pages: list[tuple[np.ndarray, np.ndarray]], grey: np.ndarray) -> np.ndarray | None:
    """The weight of each page (grey, page -> picture homography) in the least-squares fit of
    the picture's grey levels as a weighted sum of the warped pages plus a constant, over the
    pixels every page covers (blurred a little, every second pixel); None when they share
    too few pixels."""
    size = (grey.shape[1], grey.shape[0])
    inside = np.ones(grey.shape, bool)
    columns = []
    for page, homography in pages:
        inside &= cv2.warpPerspective(np.full(page.shape, 255, np.uint8), homography, size) > 0
        columns.append(cv2.GaussianBlur(cv2.warpPerspective(page, homography, size, flags=cv2.INTER_AREA), (5, 5), 0))
    inside[1::2, :] = False
    inside[:, 1::2] = False
    if inside.sum() < 100:
        return None
    design = np.stack([c[inside].astype(np.float32) for c in columns] + [np.ones(int(inside.sum()), np.float32)], axis=1)
    seen = cv2.GaussianBlur(grey, (5, 5), 0)[inside].astype(np.float32)
    return np.linalg.lstsq(design, seen, rcond=None)[0][:-1]


def _where_they_differ(pages: list[np.ndarray], homography: np.ndarray, grey: np.ndarray) -> list[float] | None:
    """For each page, how far the picture is from it where the pages differ from each other
    (a page number, an overlay step's new line): the pages are warped onto the picture, the
    pixels where any two differ taken (a little widened), and each page's grey levels are fitted
    linearly to the picture's over that region's bounding box (the camera's contrast and
    brightness), nudged by up to NUDGE pixels; the score is the mean squared residual inside the
    region. None when the pages do not differ (the same picture)."""
    size = (grey.shape[1], grey.shape[0])
    inside = cv2.warpPerspective(np.full(pages[0].shape, 255, np.uint8), homography, size) > 0
    warped = np.stack([cv2.warpPerspective(p, homography, size, flags=cv2.INTER_LINEAR) for p in pages]).astype(np.float32)
    differ = ((warped.max(0) - warped.min(0)) > INK_LEVEL) & inside
    if differ.sum() < MIN_DIFFERENT:
        return None
    differ = cv2.dilate(differ.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & inside
    ys, xs = np.nonzero(differ)
    pad = 4 * NUDGE
    y0, y1 = max(NUDGE, ys.min() - pad), min(grey.shape[0] - NUDGE, ys.max() + pad + 1)
    x0, x1 = max(NUDGE, xs.min() - pad), min(grey.shape[1] - NUDGE, xs.max() + pad + 1)
    if y1 <= y0 or x1 <= x0:
        return None
    picture = cv2.GaussianBlur(grey, (3, 3), 0).astype(np.float32)
    region = differ[y0:y1, x0:x1]
    scores = []
    for page in warped:
        page = cv2.GaussianBlur(page, (3, 3), 0)[y0:y1, x0:x1].ravel()
        design = np.stack([page, np.ones_like(page)], axis=1)
        best = float("inf")
        for dy in range(-NUDGE, NUDGE + 1):
            for dx in range(-NUDGE, NUDGE + 1):
                seen = picture[y0 + dy:y1 + dy, x0 + dx:x1 + dx].ravel()
                coefficients = np.linalg.lstsq(design, seen, rcond=None)[0]
                residual = (design @ coefficients - seen).reshape(region.shape)
                best = min(best, float((residual[region] ** 2).mean()))
        scores.append(best)
    return scores


def _same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Two pages no picture can tell apart (fewer than MIN_DIFFERENT pixels of different ink)."""
    return a.shape == b.shape and int(_ink_differs(a, b).sum()) < MIN_DIFFERENT


def _different_ink(a: np.ndarray, b: np.ndarray) -> float:
    """The share of pixels whose ink differs between two pages (1.0 for pages of other sizes)."""
    return float(_ink_differs(a, b).mean()) if a.shape == b.shape else 1.0


def _ink_differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels of two same-size pages whose grey levels differ by more than INK_LEVEL."""
    return cv2.absdiff(a, b) > INK_LEVEL


def _normalised(grey: np.ndarray, mask: np.ndarray) -> np.ndarray:
    values = grey.astype(np.float32)
    inside = values[mask]
    return (values - inside.mean()) / (inside.std() + 1e-3)


@dataclass
class Alignment:
    """What the documents need of a deck once the slides are aligned to it."""

    deck: Path  # the PDF: slides.pdf copies its pages
    pictures: dict[int, Path]  # slide index -> its page rendered (notes, PPTX)
    outline: list[tuple[int, str]]  # top-level (page, title): the chapters


def align_slides(manifest, out_dir: Path, deck: Deck, progress=None, join_builds: bool = True) -> Alignment:
    """Set `deck_page` on every appearance (matched on its own picture; None when no page of the
    deck is on screen); make appearances of one page one slide (slidecast.same_page: joined when
    in a row, returns otherwise); give each aligned distinct slide the page's text and title
    (the frame title of its text layer; else OCR's; else the text's first line); render the
    aligned pages into OUT/deck/page-NNN.png at the slide picture's size, twice over, for the
    documents that take pictures.

    `join_builds`: the build steps (`build_step`) were kept as slides only so that each overlay
    step can get its page; those the deck does not tell apart are joined back
    (slidecast.same_page.join_untold_builds), as without a deck.
    """
    _match_pages(DeckMatcher(deck), manifest.slides, Path(out_dir), progress or (lambda fraction: None))
    steps = {s.index for s in manifest.slides if s.build_step} if join_builds else set()
    join_untold_builds(manifest, Path(out_dir), steps)
    one_slide_per_page(manifest, Path(out_dir))
    slides = manifest.slides
    warning = _few_matched(manifest.distinct(), deck)
    if warning:
        manifest.warnings.append(warning)
    pictures: dict[int, Path] = {}
    texts = {p.number: p.text for p in deck.pages}
    titles = {p.number: p.title for p in deck.pages}
    for slide in manifest.distinct():
        if slide.deck_page is None:
            continue
        slide.text = texts[slide.deck_page]
        slide.title = titles[slide.deck_page] or slide.title or next(iter(slide.text.splitlines()), "")
        pictures[slide.index] = _rendered(deck, slide.deck_page, Path(out_dir), Path(out_dir) / slide.image)
    for slide in slides:
        if slide.same_as in pictures:
            source = next(s for s in slides if s.index == slide.same_as)
            slide.text, slide.title = source.text, source.title
    return Alignment(deck.path, pictures, deck.outline)


def _few_matched(distinct, deck: Deck) -> str | None:
    """A warning when the deck's pages are on fewer than MIN_MATCHED_SHARE of the distinct
    slides: most likely another talk's deck (or another version of it)."""
    matched = sum(1 for s in distinct if s.deck_page is not None)
    if not distinct or matched >= MIN_MATCHED_SHARE * len(distinct):
        return None
    # No file name: a job's deck is stored under a name of the server's, not the one sent.
    return (f"the deck matches only {matched} of {len(distinct)} distinct slides; "
            "is it this talk's deck? Unmatched slides keep the video's picture and text")


def _match_pages(matcher: DeckMatcher, slides, out_dir: Path, progress) -> None:
    """deck_page of every appearance, in two passes: each picture's own features, then the
    page under its own geometry or the video's (video_geometry), in the order of the talk."""
    sightings = []
    for done, slide in enumerate(slides, start=1):
        sightings.append(matcher.look(_match_grey(_picture(out_dir, slide))))
        progress(0.5 * done / len(slides))
    geometry = video_geometry(sightings)
    previous = None
    for done, (slide, sighting) in enumerate(zip(slides, sightings), start=1):
        shared = geometry[1] if geometry is not None and sighting and geometry[0] == sighting.shape else None
        grey = _match_grey(_picture(out_dir, slide)) if sighting else None
        slide.deck_page = matcher.page(grey, sighting, shared, previous) if sighting else None
        previous = slide.deck_page or previous
        progress(0.5 + 0.5 * done / len(slides))


def in_order(pages: list[int], previous: int | None) -> int:
    """pages[0], or when other pages look exactly like it (pages[1:]), the one a talk going
    forward shows after page `previous`: the first run of consecutive such pages after it, and
    of a run its last page (a page identical to the next one is an overlay step that changed
    nothing visible: the step shown is the fullest, as for builds). Back to the nearest run
    before `previous` when none follows (a return)."""
    if len(pages) == 1 or previous is None:
        return pages[0]
    runs: list[list[int]] = []
    for number in sorted(pages):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    after = [run for run in runs if run[0] > previous]
    return after[0][-1] if after else runs[-1][-1]


def _picture(out_dir: Path, slide) -> np.ndarray:
    with Image.open(Path(out_dir) / slide.image) as picture:
        return np.asarray(picture.convert("RGB"))


def _rendered(deck: Deck, number: int, out_dir: Path, like: Path) -> Path:
    target = out_dir / "deck" / f"page-{number:03d}.png"
    if not target.exists():
        with Image.open(like) as picture:
            width = picture.size[0] * 2
        target.parent.mkdir(exist_ok=True)
        Image.fromarray(deck.render(number, width)).save(target)
    return target
