"""Searchable PDF: each slide image at native resolution with its OCR words as invisible text;
a slide aligned to the talk's deck is the deck's own page instead (vector, its own text layer).

Like OCRmyPDF's output: the picture is what you see, the text layer (render mode 3, invisible)
sits over each word's box, so a viewer can search, select and copy, and `pdftotext` returns the
slide's words. Pages are the slide's pixel size at 96 dpi (1280x720 px -> 960x540 pt, the usual
13.33x7.5 inch widescreen slide).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from .deck_pages import page_sizes, place_deck_pages
from .manifest import SlideEntry, document_numbers

POINTS_PER_PIXEL = 72 / 96
# Fonts with wide Unicode coverage, tried in order; none is required.
UNICODE_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
# Share of a font's size that its glyphs usually fill from ascender to descender: a word box of
# height h holds text of size about h / this.
BOX_FILL = 1.15


@dataclass
class PdfInfo:
    title: str
    subject: str
    keywords: list[str]


def build_pdf(slides: list[SlideEntry], out_dir: Path, info: PdfInfo, deck: Path | None = None) -> bytes:
    """The PDF bytes: one page per entry of `slides` (images relative to `out_dir`).

    With `deck` (the talk's PDF), an entry with a `deck_page` is that page of the deck, copied
    as vector content (deck_pages.py) at the slide picture's width, instead of the picture.

    The outline reads like a table of contents (see `outline_entries`); document metadata
    carries title, subject, keywords and creator "Slidecast".
    """
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator("Slidecast")
    pdf.set_producer("Slidecast (fpdf2)")
    pdf.set_title(info.title or "Slides")
    pdf.set_subject(info.subject)
    pdf.set_keywords(", ".join(info.keywords))
    font = _choose_font(pdf)
    sizes = page_sizes(deck) if deck else []
    placements = {}
    for number, (slide, entry) in enumerate(zip(slides, outline_entries(slides))):
        if deck and slide.deck_page:
            placements[number] = slide.deck_page
            _add_page(pdf, slide, out_dir, sizes[slide.deck_page - 1], entry)
        else:
            _add_slide_page(pdf, slide, out_dir, font, entry)
    return place_deck_pages(bytes(pdf.output()), placements, deck) if deck else bytes(pdf.output())


def outline_entries(slides: list[SlideEntry]) -> list[str | None]:
    """The outline entry of each page, or None for a page that continues the entry before.

    N is the page's place in this PDF (the slide's number in the notes and the PPTX too, when
    the PDF holds the distinct slides): "N. title (mm:ss)", "N. Slide N (mm:ss)" without a
    title. A return to an earlier slide is marked as one ("Back to N. title (mm:ss)", N the
    page it first had); a page with the same title as the page before (a build step, a continued
    frame) gets no entry of its own.
    """
    entries: list[str | None] = []
    previous = None
    numbers = document_numbers(slides)
    for slide in slides:
        number = numbers[slide.index]
        title = " ".join(slide.title.split())
        label = f"{number}. {title or f'Slide {number}'} ({clock(slide.start)})"
        same_run = bool(title) and title == previous
        previous = title
        if same_run:
            entries.append(None)
        else:
            entries.append(f"Back to {label}" if slide.same_as else label)
    return entries


def _choose_font(pdf: FPDF) -> str:
    for path in UNICODE_FONTS:
        if Path(path).is_file():
            pdf.add_font("slidecast-text", "", path)
            return "slidecast-text"
    return "helvetica"  # core font: Latin-1 only, other characters become "?"


def _add_slide_page(pdf: FPDF, slide: SlideEntry, out_dir: Path, font: str, entry: str | None) -> None:
    """The slide's picture with its OCR words as invisible text over it: the words of its
    `text` only, so a search finds the slides that say a word, not every page whose navigation
    bar, running header or webcam tile shows it (chrome and live words stay in `words`)."""
    page_w, page_h = _add_page(pdf, slide, out_dir, _picture_size(out_dir / slide.image), entry)
    pdf.image(str(out_dir / slide.image), x=0, y=0, w=page_w, h=page_h)
    with pdf.local_context(text_mode="INVISIBLE"):
        for word in slide.words:
            if not (word.get("chrome") or word.get("live")):
                _place_word(pdf, word, font)


def _add_page(pdf: FPDF, slide: SlideEntry, out_dir: Path, aspect: tuple[float, float],
              entry: str | None) -> tuple[float, float]:
    """A blank page as wide as the slide's picture, of `aspect` (width, height), with its outline
    entry (None: the page continues the entry before); returns its size in points."""
    page_w = _picture_size(out_dir / slide.image)[0] * POINTS_PER_PIXEL
    page_h = page_w * aspect[1] / aspect[0]
    pdf.add_page(format=(page_w, page_h))
    if entry is not None:
        pdf.start_section(entry, level=0, strict=False)
    return page_w, page_h


def _picture_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _place_word(pdf: FPDF, word: dict, font: str) -> None:
    """Write one word so its glyphs span the word's box: size from the box height, horizontal
    stretch to the box width (selection highlights then match the picture)."""
    x0, y0, x1, y1 = (v * POINTS_PER_PIXEL for v in word["box"])
    size = max(1.0, (y1 - y0) / BOX_FILL)
    pdf.set_font(font, size=size)
    text = _writable(pdf, word["text"])
    if not text:
        return
    pdf.set_stretching(100)
    natural = pdf.get_string_width(text)
    if natural > 0:
        pdf.set_stretching(max(10.0, min(1000.0, 100.0 * (x1 - x0) / natural)))
    # Baseline about a fifth of the box above its bottom (room for descenders). The trailing
    # space is what text extractors (pypdf, copy and paste) need to keep words apart.
    pdf.text(x0, y1 - 0.2 * (y1 - y0), text + " ")


def _writable(pdf: FPDF, text: str) -> str:
    """`text` as the current font can write it. A character the font lacks is written as its
    NFKC form when the font has that: OCR reads a fullwidth '？' or a ligature 'ﬁ' where the font
    has '?' and 'fi', which a search types. What is still lacking is left out: written, it would
    be an empty box and no text (and fpdf warns of every such glyph). A character the font has
    stays as read ('x²' is not made 'x2')."""
    glyphs = getattr(pdf.current_font, "cmap", None)  # None: a core font, Latin-1 only

    def has(ch: str) -> bool:
        return ch.isspace() or (ord(ch) in glyphs if glyphs is not None else ord(ch) < 256)

    kept = "".join(ch if has(ch) else unicodedata.normalize("NFKC", ch) for ch in text)
    return "".join(ch for ch in kept if has(ch))


def clock(seconds: float) -> str:
    """mm:ss (or h:mm:ss past an hour) for outlines and notes, to the nearest second (a slide
    shown from 0.0 to 6.94 s ends at 00:07, where the next one starts)."""
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
