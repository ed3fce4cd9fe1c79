"""The no-deck text bench's place-aware reference (bench/deck_text_bench.py, place_body_texts):
what a page says without its running lines, told by where lines stand on the deck's frames,
on the packaged beamer decks."""

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import deck_text_bench as bench  # noqa: E402

BEAMER = Path(__file__).resolve().parents[1] / "data" / "beamer"


def test_a_matrix_keeps_its_digits_and_the_navigation_bar_is_running():
    # Page 15 of the conference talk (the talk-cuts dev video's deck) shows an example matrix:
    # pdftotext writes each entry on a line of its own, and the word-based body takes those
    # lines for page numbers (digits on half of the pages).
    deck = BEAMER / "conference-talk.pdf"
    placed = bench.place_body_texts(deck)[14].splitlines()
    words = bench.body_text(bench.pdf_pages(deck), 15).splitlines()
    assert Counter(placed)["0"] >= 15 and Counter(words)["0"] == 0
    for line in ("Introduction", "Bad News: Hardness Results", "Summary"):
        assert line not in placed
    assert "Hardness of PP-Partitioning of Haplotype Matrices" in placed  # the frame title


def test_a_sidebar_on_part_of_the_deck_is_running_where_its_entries_moved_down():
    # Amurmaple's sidebar contents are on the frames of one template; on page 4 the first
    # section's subsections are open, so the later entries stand lower than on other pages.
    placed = bench.place_body_texts(BEAMER / "amurmaple-sidebar.pdf")[3].splitlines()
    assert "Second section" not in placed and "New one" not in placed
    assert "Lorem ipsum" in placed and "Block title" in placed


def test_a_frame_title_continued_over_consecutive_frames_is_the_pages_own_text():
    placed = bench.place_body_texts(BEAMER / "saintpetersburg-example.pdf")
    assert all("Analytic method" in placed[page - 1].splitlines() for page in (3, 4, 5, 6)), placed[2:6]


def test_words_that_touch_on_the_page_are_one_word_as_in_the_pages_text():
    # pdftotext -bbox-layout splits the LaTeX logo ("L", "A", "TEX"), a footnote mark after an
    # author ("Gramm", "1") and a subscript ("χ", "PP") into words that touch; the page's text
    # (and a reader) has one word there: "LATEX", "Gramm1", "χPP".
    for deck, page, word in (("amurmaple-sidebar.pdf", 1, "LATEX"), ("conference-talk.pdf", 1, "Gramm1"),
                             ("conference-talk.pdf", 15, "χPP")):
        placed = bench.place_body_texts(BEAMER / deck)[page - 1]
        assert word in placed.split(), (deck, page, placed)
        assert not bench.tokens(placed) - bench.tokens(bench.pdf_pages(BEAMER / deck)[page - 1])
