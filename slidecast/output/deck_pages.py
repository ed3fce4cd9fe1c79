"""The deck's own pages in slides.pdf: an aligned slide's page is the deck page itself, copied as
vector content (text, fonts, drawings), not a picture of it.

PDFium (pypdfium2) turns the deck page into a form XObject of the output document and draws it
over the whole output page, scaled; the page's text layer is the deck's own text, so search,
copy and `pdftotext` give exactly what the lecturer wrote. The output page keeps its outline
entry: only its content changes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium


def page_sizes(deck_path: Path) -> list[tuple[float, float]]:
    """Width and height (points) of every page of the deck as shown (its crop box), in order."""
    deck = pdfium.PdfDocument(deck_path)
    try:
        return [_box_size(_shown_box(deck[i])) for i in range(len(deck))]
    finally:
        deck.close()


def _shown_box(page) -> tuple[float, float, float, float]:
    """The page's crop box within its media box, boxes inherited from the page tree included.
    `get_cropbox()` reads only the page's own dictionary: XeTeX decks set the size once on the
    page tree, and it gave PDFium's US Letter default there (the slide drawn in a corner of a
    tall blank page)."""
    return page.get_bbox()


def _box_size(box) -> tuple[float, float]:
    left, bottom, right, top = box
    return right - left, top - bottom


def place_deck_pages(pdf_bytes: bytes, placements: dict[int, int], deck_path: Path) -> bytes:
    """`pdf_bytes` with deck page `placements[i]` (1-based) drawn over the whole of output page i
    (0-based). The output pages should be blank and of the deck page's aspect ratio."""
    if not placements:
        return pdf_bytes
    out = pdfium.PdfDocument(pdf_bytes)
    deck = pdfium.PdfDocument(deck_path)
    try:
        forms = {}
        for index, number in sorted(placements.items()):
            if number not in forms:  # one XObject per deck page, however often it is shown
                forms[number] = deck.page_as_xobject(number - 1, out)
            _draw(out[index], forms[number], _shown_box(deck[number - 1]))
        buffer = io.BytesIO()
        out.save(buffer)
        return buffer.getvalue()
    finally:
        deck.close()
        out.close()


def _draw(page, form, crop) -> None:
    """Draw `form` so that the deck page's crop box fills `page`."""
    width, height = page.get_size()
    shown_width, shown_height = _box_size(crop)
    drawn = form.as_pageobject()
    matrix = pdfium.PdfMatrix().translate(-crop[0], -crop[1]).scale(width / shown_width, height / shown_height)
    drawn.transform(matrix)
    page.insert_obj(drawn)
    page.gen_content()
