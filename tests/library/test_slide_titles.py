"""Slide titles are the frame titles of real beamer decks, not a box heading or the first bullet.

Pages of the packaged decks are rendered as a 720p video shows them and read by the real OCR
(without a deck), or read from the deck's own text layer (with it). The box headings that the
single-slide rule took ("Corollary", "Theorem") sit on the same pages as the frame titles.
"""

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from slidecast import content
from slidecast.deck import open_deck
from slidecast.options import ExtractOptions
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo
from slidecast.titles import Line, fragment, talk_titles

DATA = Path(__file__).resolve().parents[1] / "data"
TALK = DATA / "beamer" / "conference-talk.pdf"
BFH = DATA / "bfh" / "DEMO-BFHBeamer-Sidebar.pdf"

# Pages of the conference talk and their frame titles; 17 and 20 open with a box heading
# ("Corollary", "Theorem"), 21 with a block titled like a section, 29 with a figure's captions.
TITLES = {
    4: "General formalization of haplotyping.",
    13: "The formal computational problem.",
    17: "Implications for pp-partitions of haplotype matrices.",
    20: "Bad news about pp-partitions of haplotype matrices.",
    21: "Implications for pp-partitions of genotype matrices.",
    29: "The algorithm in action.",
}


def test_with_the_deck_each_page_is_titled_by_its_frame_title():
    deck = open_deck(TALK)
    titles = {p.number: p.title for p in deck.pages}
    for number, title in TITLES.items():
        assert titles[number] == title
    # The sidebar's talk title and author, beside the frame title on every frame, are not it.
    bfh = {p.number: p.title for p in open_deck(BFH).pages}
    assert [bfh[n] for n in (9, 10, 11)] == ["Frame with a subtitle", "Blocks", "Block types"]


@pytest.fixture(scope="module")
def read_talk(tmp_path_factory):
    """The pages above as the distinct slides of a 1280x720 video (4:3 pillarboxed), read by OCR."""
    out = tmp_path_factory.mktemp("titles")
    (out / "slides").mkdir()
    pdf = pdfium.PdfDocument(TALK)
    slides = []
    for index, number in enumerate(TITLES, start=1):
        page = pdf[number - 1]
        picture = page.render(scale=720 / page.get_height()).to_pil().convert("RGB")
        picture.save(out / f"slides/{index:03d}.png")
        slides.append(SlideEntry(index, 10.0 * (index - 1), 10.0 * index, f"slides/{index:03d}.png",
                                 f"thumbs/{index:03d}.jpg"))
    manifest = Manifest(VideoInfo(10.0 * len(slides), 25.0, 960, 720, "0" * 64), slides)
    content.run(manifest, out, out / "none.mp4", ExtractOptions(pdf=False, notes=False, workers=2))
    return manifest


def test_without_a_deck_ocr_titles_are_the_frame_titles_not_box_headings(read_talk):
    titles = [s.title for s in read_talk.slides]
    assert "Corollary" not in titles and "Theorem" not in titles
    for title, truth in zip(titles, TITLES.values()):
        assert _words(title) == _words(truth), (title, truth)


def test_chapters_follow_the_frame_titles(read_talk, tmp_path):
    # Chapters change with the title: a box heading would start a chapter of its own.
    chapters = content.make_chapters(read_talk)
    assert [c.title for c in chapters][:2] == [TITLES[4], TITLES[13]]


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text.lower()).split()


def test_a_talk_without_a_shared_title_place_keeps_the_single_slide_titles():
    # Three slides whose top lines sit at different heights: no title band, so each keeps the
    # title its own page gives it.
    pages = [[Line("Alpha", (0.1, 0.05 + 0.1 * i, 0.5, 0.1 + 0.1 * i), 0.05),
              Line("body text here", (0.1, 0.5, 0.9, 0.55), 0.05)] for i in range(3)]
    assert talk_titles(pages, ["one", "two", "three"]) == ["one", "two", "three"]


METROPOLIS = DATA / "metropolis" / "demo.pdf"
# metropolis-pip: a speaker's tile over the top-left corner hides the start of the frame title
# ("Bar charts" reads "Bar"... "arts", "References ii" reads "ii"). Pages shown without it, then
# with it: frame titles, the Math page's formula, the axis labels of the bar chart.
CLEAR = (5, 11, 12, 13, 14)
TILED = (22, 24, 29, 30, 31, 32, 33)


@pytest.fixture(scope="module")
def read_tiled_talk(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiled")
    (out / "slides").mkdir()
    pdf = pdfium.PdfDocument(METROPOLIS)
    face = Image.open(DATA / "real_pages" / "astronaut-face.png").convert("RGB").resize((261, 221))
    slides = []
    for index, number in enumerate(CLEAR + TILED, start=1):
        page = pdf[number - 1]
        picture = page.render(scale=1280 / page.get_width()).to_pil().convert("RGB")
        slide = SlideEntry(index, 10.0 * (index - 1), 10.0 * index, f"slides/{index:03d}.png", f"thumbs/{index:03d}.jpg")
        if number in TILED:
            picture.paste(face, (0, 0))
            slide.live_regions = [[0, 0, 261, 221]]
        picture.save(out / slide.image)
        slides.append(slide)
    manifest = Manifest(VideoInfo(10.0 * len(slides), 25.0, 1280, picture.height, "0" * 64), slides)
    content.run(manifest, out, out / "none.mp4", ExtractOptions(pdf=False, notes=False, workers=2))
    return manifest


def test_a_title_a_webcam_tile_cuts_is_no_title_rather_than_a_fragment(read_tiled_talk):
    titles = {number: slide.title for number, slide in zip(CLEAR + TILED, read_tiled_talk.slides)}
    deck = {p.number: p.title for p in open_deck(METROPOLIS).pages}
    for number in CLEAR:
        assert _words(titles[number]) == _words(deck[number]), (number, titles[number])
    for number in TILED:
        # What the tile leaves ("ii", "slides", "Bar" of the chart's axis, the formula) is not a
        # title; the whole title or none is (a standout page's "Questions?" is not under the tile).
        assert titles[number] in ("", deck[number]), (number, titles[number])
    assert titles[30] == "Questions?"
    chapters = [c.title for c in content.make_chapters(read_tiled_talk)]
    assert not any(len(title) < 3 or "=" in title for title in chapters), chapters


def test_fragments_are_not_titles():
    for scrap in ("W", "ii", "iv.", "II", "Wi", "e = n→∞ lim (1+1)", "x ≤ y", ""):
        assert fragment(scrap), scrap
    for title in ("Bar charts", "Why P = NP matters here", "Questions?", "Mix", "Summary", "AI", "OS"):
        assert not fragment(title), title


@pytest.mark.parametrize("type_sizes", ["text layer", "OCR word heights"])
def test_a_title_page_broken_over_lines_is_titled_by_all_of_them_not_its_author(type_sizes):
    # The conference talk's title page sets its title on three lines in one type, then the
    # authors smaller; its notes and PDF were titled "On the Complexity of SNP Block". OCR's
    # word heights bring type sizes near the body's (38 px title, 34 px body on talk-cuts).
    from slidecast.deck_lines import stream_lines
    from slidecast.titles import body_size
    pdf = pdfium.PdfDocument(TALK)
    # Without the navigation bar (chrome), in reading order, as OCR gives them.
    pages = [[line for line in stream_lines(pdf[i]) if line.box[1] > 0.05] for i in range(len(pdf))]
    if type_sizes == "OCR word heights":
        body = body_size(pages)
        pages = [[Line(line.text, line.box, body + 0.3 * (line.size - body)) for line in page] for page in pages]
    first_lines = [page[0].text if page else "" for page in pages]
    titles = talk_titles(pages, first_lines)
    assert titles[0] == "On the Complexity of SNP Block Partitioning Under the Perfect Phylogeny Model"
    assert titles[3] == TITLES[4]  # frame titles are not joined with the line under them
