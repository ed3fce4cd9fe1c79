"""Decks made to exhaust the reader (the trial's PDFs, a few hundred bytes to a few KB): refused
by check_pdf from the page tree alone, or stopped while being read with a DeckError naming why,
never a memory error or a page drawn for minutes."""

from __future__ import annotations

import pytest

import slidecast.deck
from slidecast import Cancelled
from slidecast.deck import DeckError, check_pdf, open_deck
from support.bad_pdfs import heavy_pages, page_of_size, page_tree_loop


@pytest.mark.parametrize("data, reason", [
    (page_of_size(20, 14400), "page 1 is 20 x 14400 points, more than 5 times longer than wide"),
    (page_of_size(200000, 200000), "sides must be 3 to 14400 points"),
    (page_of_size(0.5, 0.5), "sides must be 3 to 14400 points"),
    (page_tree_loop(), "the deck's pages cannot be read"),
])
def test_a_page_no_slide_has_or_a_page_tree_that_loops_is_refused_before_drawing(tmp_path, data, reason):
    path = tmp_path / "deck.pdf"
    path.write_bytes(data)
    with pytest.raises(DeckError, match=reason):
        check_pdf(path)
    with pytest.raises(DeckError, match=reason):
        open_deck(path)


def test_a_page_that_takes_too_long_to_draw_fails_the_reading_with_the_reason(tmp_path, monkeypatch):
    path = tmp_path / "heavy.pdf"
    path.write_bytes(heavy_pages(3, 1))  # each page strokes 58000 lines: minutes without a deadline
    assert check_pdf(path) == 3  # its page tree is fine
    monkeypatch.setattr(slidecast.deck, "PAGE_SECONDS", 1.0)
    with pytest.raises(DeckError, match="takes more than 1 s to draw page 1 .of 3 pages.: its pages are too heavy"):
        open_deck(path)
    with pytest.raises(DeckError, match="takes more than 0 s to read .of 3 pages."):
        open_deck(path, seconds=0.0)


def test_reading_a_deck_reports_each_page_and_stops_when_the_progress_says_so(tmp_path):
    path = tmp_path / "deck.pdf"
    path.write_bytes(heavy_pages(4, 0.001))
    seen = []

    def progress(fraction):
        seen.append(fraction)
        if len(seen) == 2:
            raise Cancelled("the job was cancelled")

    with pytest.raises(Cancelled):
        open_deck(path, progress=progress)
    assert seen == [0.25, 0.5]
    assert len(open_deck(path).pages) == 4
