"""With the talk's deck, one page is one slide: appearances in a row on the same page are joined,
a later appearance of a page is a return to it, and every document numbers the slides alike.

The engine can split one screen state in two on a noisy video (bfh-noise-480 of the realism
bench: slides 10/11 and 16/17 showed one page each); the deck tells that they are one page. The
pictures here are real pages of the packaged beamer talk, each with its own camera noise.
"""

import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from pptx import Presentation
from pypdf import PdfReader

from slidecast import content
from slidecast.options import ExtractOptions
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo, validate
from PIL import Image

DECK = Path(__file__).resolve().parents[1] / "data" / "beamer" / "conference-talk.pdf"
# The pages on screen, 15 s each: page 4 split in two by noise, page 7, back to page 4, page 16.
SHOWN = [4, 4, 7, 4, 16]


def noisy(number: int, seed: int) -> Image.Image:
    pdf = pdfium.PdfDocument(DECK)
    page = pdf[number - 1]
    rgb = np.asarray(page.render(scale=960 / page.get_width()).to_pil().convert("RGB"), np.float32)
    noise = np.random.default_rng(seed).normal(0, 5.0, rgb.shape)
    return Image.fromarray(np.clip(rgb * 0.95 + 6 + noise, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def talk_run(tmp_path_factory):
    """(output folder, manifest, progress reports) of the talk's content run with its deck."""
    out = tmp_path_factory.mktemp("one-per-page")
    (out / "slides").mkdir()
    (out / "thumbs").mkdir()
    slides = []
    for index, page in enumerate(SHOWN, start=1):
        picture = noisy(page, index)
        picture.save(out / f"slides/{index:03d}.png")
        picture.resize((160, 120)).save(out / f"thumbs/{index:03d}.jpg")
        slides.append(SlideEntry(index, 15.0 * (index - 1), 15.0 * index, f"slides/{index:03d}.png",
                                 f"thumbs/{index:03d}.jpg", transcript=f"narration {index}",
                                 frame_time=15.0 * (index - 1) + 1))
    manifest = Manifest(VideoInfo(15.0 * len(SHOWN), 25.0, 960, 720, "0" * 64), slides)
    reports = []
    content.run(manifest, out, out / "none.mp4", ExtractOptions(ocr=False, deck=str(DECK), pptx=True),
                lambda stage, fraction, message: reports.append((stage, fraction, message)))
    return out, manifest, reports


@pytest.fixture(scope="module")
def talk(talk_run):
    return talk_run[:2]


def test_reading_the_deck_is_reported_as_the_start_of_aligning(talk_run):
    # Reading a 31-page deck took 10 s before OCR with no report: a job's progress sat still.
    reports = talk_run[2]
    aligning = [(fraction, message) for stage, fraction, message in reports if stage == "aligning"]
    reading = [fraction for fraction, message in aligning if message.startswith("reading the deck")]
    assert len(reading) == len(pdfium.PdfDocument(DECK))  # one report per page, first in the stage
    assert [message for _, message in aligning[:len(reading)]] == ["reading the deck: " + f"{i / len(reading):.0%}"
                                                                   " of its pages" for i in range(1, len(reading) + 1)]
    fractions = [fraction for fraction, _ in aligning]
    assert fractions == sorted(fractions) and 0 < fractions[0] < reading[-1] < fractions[-1] == 1.0


def test_appearances_in_a_row_on_one_page_are_one_appearance(talk):
    out, manifest = talk
    assert [s.deck_page for s in manifest.slides] == [4, 7, 4, 16]
    first = manifest.slides[0]
    assert (first.start, first.end) == (0.0, 30.0)
    assert first.transcript == "narration 1 narration 2"
    # The timeline keeps its contract: indices 1..n, pictures named by index, none left over.
    validate(manifest.to_dict())
    assert [s.image for s in manifest.slides] == [f"slides/{i:03d}.png" for i in range(1, 5)]
    assert sorted(p.name for p in (out / "slides").iterdir()) == [f"{i:03d}.png" for i in range(1, 5)]
    assert sorted(p.name for p in (out / "thumbs").iterdir()) == [f"{i:03d}.jpg" for i in range(1, 5)]
    # The picture of page 16 moved from slides/005.png to slides/004.png with its entry.
    assert manifest.slides[3].frame_time == 61.0


def test_a_later_appearance_of_a_page_is_a_return_to_it(talk):
    _, manifest = talk
    assert [s.same_as for s in manifest.slides] == [None, None, 1, None]
    assert [s.index for s in manifest.distinct()] == [1, 2, 4]


def test_pdf_notes_and_pptx_hold_each_page_once_and_number_each_slide_by_its_place_in_them(talk):
    # The third appearance returns to slide 1: the next new slide is the documents' third page,
    # and they say 3, not its appearance index 4 (a trial's PPTX said "Slide 33" on its 31st
    # slide). The timeline's index stays 4: its picture is slides/004.png, the API's /slides/4.
    out, manifest = talk
    reader = PdfReader(out / "slides.pdf")
    assert len(reader.pages) == 3
    outline = [item["/Title"] for item in reader.outline]
    assert outline[-1] == "3. Bad news about pp-partitions of haplotype matrices. (01:00)"
    notes = (out / "notes.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (Slide \d+.*)$", notes, re.M)
    assert headings == ["Slide 1: General formalization of haplotyping.",
                        "Slide 2: How blocks help in perfect phylogeny haplotyping.",
                        "Slide 3: Bad news about pp-partitions of haplotype matrices."]
    assert manifest.slides[3].image == "slides/004.png"
    # The page shown twice lists both of its times and all that was said over them.
    assert "*Shown 00:00–00:30, 00:45–01:00*" in notes
    assert "narration 1 narration 2" in notes and "narration 4" in notes
    deck = Presentation(out / "slides.pptx")
    assert len(deck.slides) == 3
    assert deck.slides[2].notes_slide.notes_text_frame.text.startswith(
        "Slide 3: Bad news about pp-partitions of haplotype matrices.")
    assert manifest.slide_numbers() == {1: 1, 2: 2, 3: 1, 4: 3}
