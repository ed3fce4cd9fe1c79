"""content.run on a hand-built deck: PDF text layer, outline and metadata, notes, artifacts."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from slidecast import content
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo, validate
from slidecast.options import ExtractOptions
from slidecast.output.pdf import PdfInfo, build_pdf
from slidecast.synthetic.slides import deck_style, render_slide, slide_content

SIZE = (960, 540)


def build_deck(out: Path) -> tuple[Manifest, dict[int, str]]:
    """Slides 1-2 rendered with text, 3 blank, 4 a return to slide 1."""
    (out / "slides").mkdir(parents=True)
    style = deck_style(5)
    truth = {}
    for index in (1, 2):
        image, lines = render_slide(slide_content(5, index, style), style, SIZE)
        Image.fromarray(image).save(out / f"slides/{index:03d}.png")
        truth[index] = "\n".join(lines)
    Image.fromarray(np.full((SIZE[1], SIZE[0], 3), 250, np.uint8)).save(out / "slides/003.png")
    times = [(0.0, 30.0, None), (30.0, 75.0, None), (75.0, 80.0, None), (80.0, 95.5, 1)]
    slides = [SlideEntry(index=i, start=s, end=e, image=f"slides/{(same or i):03d}.png",
                         thumbnail=f"thumbs/{i:03d}.jpg", same_as=same)
              for i, (s, e, same) in enumerate(times, start=1)]
    video = VideoInfo(duration=95.5, fps=25.0, width=SIZE[0], height=SIZE[1], sha256="0" * 64)
    return Manifest(video=video, slides=slides), truth


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("deck")
    manifest, truth = build_deck(out)
    stages = []
    content.run(manifest, out, out / "none.mp4", ExtractOptions(workers=2),
                lambda stage, fraction, message: stages.append((stage, fraction)))
    return out, manifest, truth, stages


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{3,}", text))


def test_each_distinct_slide_is_read_once_and_repeats_copy_it(deck):
    _, manifest, truth, _ = deck
    first, second, blank, repeat = manifest.slides
    assert len(words_of(first.text) & words_of(truth[1])) >= 0.9 * len(words_of(truth[1]))
    assert first.title and first.text.startswith(first.title)
    assert blank.text == "" and blank.title == "" and blank.words == []
    assert (repeat.text, repeat.title, repeat.words) == (first.text, first.title, first.words)
    assert repeat.keywords == first.keywords and first.keywords
    assert manifest.title == first.title and manifest.keywords
    validate(manifest.to_dict())


def test_pdf_has_one_searchable_page_per_distinct_slide(deck):
    out, manifest, truth, _ = deck
    assert manifest.artifacts["pdf"] == "slides.pdf"
    reader = PdfReader(out / "slides.pdf")
    assert len(reader.pages) == 3
    for page, index in zip(reader.pages, (1, 2)):
        found = words_of(page.extract_text())
        assert len(found & words_of(truth[index])) >= 0.9 * len(words_of(truth[index]))
    assert reader.pages[2].extract_text().strip() == ""
    # native resolution at 96 dpi: 960 px -> 720 pt
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [720, 405]


def test_pdf_outline_and_metadata(deck):
    out, manifest, _, _ = deck
    reader = PdfReader(out / "slides.pdf")
    outline = [item.title for item in reader.outline]
    assert outline[0] == f"1. {manifest.slides[0].title} (00:00)"
    assert outline[1].startswith("2. ") and outline[1].endswith("(00:30)")
    assert outline[2] == "3. Slide 3 (01:15)"
    assert len(outline) == 3  # the return to slide 1 has no page of its own
    meta = reader.metadata
    assert meta.creator == "Slidecast" and meta.title == manifest.title
    assert manifest.keywords[0] in meta["/Keywords"]


def test_notes_have_contents_and_reference_every_distinct_slide(deck):
    out, manifest, _, _ = deck
    notes = (out / "notes.md").read_text(encoding="utf-8")
    assert notes.startswith(f"# {manifest.title}\n")
    assert "## Contents" in notes
    for slide in manifest.distinct():
        assert f"]({slide.image})" in notes
    assert "(#slide-3)" in notes and "## Slide 3\n" in notes
    # slide 1 and its return, to the nearest second (it ends at 95.5 s; cut down, it read 01:35)
    assert "00:00–00:30, 01:20–01:36" in notes


def test_progress_stages_never_go_backwards_and_no_subtitles_without_transcript(deck):
    out, manifest, _, stages = deck
    for stage in ("ocr", "generating"):
        fractions = [f for s, f in stages if s == stage]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "transcribing" not in {s for s, _ in stages}
    assert set(manifest.artifacts) == {"pdf", "markdown", "chapters", "chapters_vtt"}
    assert not (out / "transcript.srt").exists()
    assert {"ocr", "generate"} <= set(manifest.timings)
    assert not list(out.glob(".*.tmp"))


def test_pdf_with_every_appearance_and_no_notes(tmp_path):
    manifest, _ = build_deck(tmp_path)
    (tmp_path / "notes.md").write_text("stale")
    content.run(manifest, tmp_path, tmp_path / "none.mp4",
                ExtractOptions(ocr=False, notes=False, pdf_all_appearances=True), None)
    assert len(PdfReader(tmp_path / "slides.pdf").pages) == 4
    assert set(manifest.artifacts) == {"pdf"}  # no text, no titles: no chapters either
    assert not (tmp_path / "notes.md").exists()  # a stale file from an earlier run is removed
    assert manifest.slides[0].text == ""


def test_cancelling_during_ocr_stops_before_any_document_is_written(tmp_path):
    from slidecast.errors import Cancelled

    manifest, _ = build_deck(tmp_path)

    def progress(stage, fraction, message):
        if stage == "ocr" and fraction > 0:
            raise Cancelled("job cancelled")

    with pytest.raises(Cancelled):
        content.run(manifest, tmp_path, tmp_path / "none.mp4", ExtractOptions(workers=1), progress)
    assert not (tmp_path / "slides.pdf").exists() and not (tmp_path / "notes.md").exists()
    assert manifest.artifacts == {}


def outline_of(tmp_path: Path, timeline: list[tuple[float, str, int | None]]) -> list[str]:
    """The PDF outline of plain pages with these (start, title, same_as), one per entry."""
    (tmp_path / "slides").mkdir()
    slides = []
    for index, (start, title, same_as) in enumerate(timeline, start=1):
        image = f"slides/{(same_as or index):03d}.png"
        if same_as is None:
            Image.fromarray(np.full((90, 160, 3), 250, np.uint8)).save(tmp_path / image)
        slides.append(SlideEntry(index, start, start + 10, image, f"thumbs/{index:03d}.jpg",
                                 same_as=same_as, title=title))
    pdf = build_pdf(slides, tmp_path, PdfInfo("Talk", "", []))
    return [item.title for item in PdfReader(io.BytesIO(pdf)).outline]


def test_pdf_outline_reads_like_a_table_of_contents(tmp_path):
    # Every appearance has a page (--pdf-all-appearances): a build's steps share one entry, the
    # return to the outline is marked as a return (with the page it first had), and each entry's
    # number is its page in this PDF: after the return, Results is page 6.
    outline = outline_of(tmp_path, [(0, "Outline", None), (40, "Method", None), (55, "Method", None),
                                    (70, "", None), (95, "Outline", 1), (130, "Results", None)])
    assert outline == ["1. Outline (00:00)", "2. Method (00:40)", "4. Slide 4 (01:10)",
                       "Back to 1. Outline (01:35)", "6. Results (02:10)"]


def test_a_character_the_pdfs_font_lacks_is_written_as_its_plain_form_or_left_out(tmp_path, caplog):
    # OCR read beamer's navigation symbols as "09？" (a fullwidth question mark) and "っ9？":
    # DejaVu Sans has neither '？' nor 'っ'. The text layer carries "09?" (a search for what is
    # typed finds it), no empty box, and fpdf has no missing glyph to warn of.
    (tmp_path / "slides").mkdir()
    Image.fromarray(np.full((90, 160, 3), 250, np.uint8)).save(tmp_path / "slides/001.png")
    words = [{"text": text, "box": box, "confidence": 0.3, "chrome": False, "live": False}
             for text, box in (("09？", [10, 10, 60, 30]), ("っ9？", [10, 40, 60, 60]), ("x²", [80, 10, 120, 30]))]
    slide = SlideEntry(1, 0, 10, "slides/001.png", "thumbs/001.jpg", text="09？", words=words)
    with caplog.at_level("WARNING"):
        pdf = build_pdf([slide], tmp_path, PdfInfo("Talk", "", []))
    assert not [r for r in caplog.records if "missing" in r.getMessage()], caplog.text
    assert PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split() == ["09?", "9?", "x²"]
