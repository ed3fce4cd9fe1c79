"""OCR: a rendered slide's words come back in reading order, with boxes, and a title."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from slidecast.ocr import Word, available_engines, get_engine, group_lines, page_from_words, rapid
from slidecast.ocr.runner import ocr_images
from slidecast.synthetic.slides import deck_style, render_slide, slide_content


def render(tmp_path: Path, slide_id: int, size=(1280, 720)) -> tuple[Path, str, str]:
    style = deck_style(3)
    content = slide_content(3, slide_id, style)
    image, lines = render_slide(content, style, size)
    path = tmp_path / f"{slide_id:03d}.png"
    Image.fromarray(image).save(path)
    return path, content.title, "\n".join(lines)


@pytest.fixture(scope="module")
def read_deck(tmp_path_factory):
    """Three rendered slides OCR'd in parallel with the default engine (done once: OCR is slow)."""
    tmp = tmp_path_factory.mktemp("ocr")
    rendered = [render(tmp, slide_id, size=(960, 540)) for slide_id in (1, 2, 3)]
    seen = []
    pages = ocr_images([r[0] for r in rendered], "auto", workers=2,
                       on_done=lambda done, total: seen.append((done, total)))
    return rendered, pages, seen


def test_default_engine_reads_title_and_bullets_of_a_rendered_slide(read_deck):
    rendered, pages, _ = read_deck
    for (_, title, text), page in zip(rendered, pages):
        assert page.title.split() == title.split()
        expected = set(text.split())
        assert len(set(page.text.split()) & expected) >= 0.9 * len(expected), (page.text, text)
        assert page.text.splitlines()[0] == page.title  # reading order: title line first


def test_words_carry_pixel_boxes_and_confidences(read_deck):
    _, pages, _ = read_deck
    for word in pages[1].words:
        x0, y0, x1, y1 = word.box
        assert 0 <= x0 < x1 <= 960 and 0 <= y0 < y1 <= 540
        assert 0.0 <= word.confidence <= 1.0
    assert pages[1].words


def test_blank_slide_has_no_text_and_no_title(tmp_path):
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((360, 640, 3), 255, np.uint8)).save(path)
    page = page_from_words(get_engine("auto").read(path))
    assert (page.text, page.title, page.words) == ("", "", [])


def test_parallel_ocr_keeps_the_order_of_the_images_and_reports_each(read_deck):
    _, pages, seen = read_deck
    assert len({p.title for p in pages}) == 3
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_words_are_grouped_into_lines_top_to_bottom_left_to_right():
    words = [Word("world", (120, 12, 200, 40), 1), Word("second", (10, 60, 90, 85), 1),
             Word("Hello", (10, 10, 100, 42), 1), Word("line", (100, 62, 150, 86), 1)]
    assert [[w.text for w in line] for line in group_lines(words)] == [["Hello", "world"], ["second", "line"]]


def test_title_is_the_large_line_near_the_top_not_a_small_header_above_it():
    words = [Word("Chapter", (10, 5, 60, 15), 1), Word("3", (65, 5, 70, 15), 1),
             Word("Big", (10, 30, 120, 80), 1), Word("Title", (130, 30, 260, 80), 1),
             Word("body", (10, 120, 60, 140), 1), Word("text", (70, 120, 110, 140), 1)]
    assert page_from_words(words).title == "Big Title"


def test_bullet_glyphs_are_not_text():
    words = [Word("•", (5, 10, 12, 30), 1), Word("Point", (20, 10, 80, 30), 1),
             Word("·Second", (5, 50, 90, 70), 1)]
    assert page_from_words(words).text == "Point\nSecond"


@pytest.mark.skipif("tesseract" not in available_engines(), reason="tesseract not installed")
def test_tesseract_engine_reads_the_title_too(tmp_path):
    path, title, _ = render(tmp_path, 1)
    page = page_from_words(get_engine("tesseract").read(path))
    assert set(title.split()) <= set(page.text.split())


def test_unknown_ocr_engine_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown OCR engine 'cloud'"):
        get_engine("cloud")


@pytest.mark.skipif("rapid" not in available_engines(), reason="rapidocr-onnxruntime not installed")
def test_fused_models_compute_what_the_exported_models_compute():
    """The engine runs rewritten models (slidecast/ocr/fuse.py) for speed; a slide's text must
    not depend on that, so the rewritten graphs must give the exported graphs' outputs."""
    import onnxruntime

    from slidecast.ocr.fuse import fused_model

    engine = get_engine("rapid")
    rng = np.random.default_rng(0)
    for wrapper, shape in ((engine._ocr.text_det.infer, (1, 3, 288, 512)),
                           (engine._ocr.text_rec.inner.session, (1, 3, 48, 480))):
        exported = onnxruntime.InferenceSession(wrapper.model_path)
        fused = onnxruntime.InferenceSession(fused_model(wrapper.model_path))
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        want, got = exported.run(None, {"x": x})[0], fused.run(None, {"x": x})[0]
        assert np.abs(want - got).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))


@pytest.mark.skipif("rapid" not in available_engines(), reason="rapidocr-onnxruntime not installed")
def test_quick_first_read_gives_the_full_height_read_of_a_clean_slide(tmp_path):
    """Lines are read 32 px high first and again at 48 only when unsure; on a clean slide the
    words must be those of reading every line at full height."""
    path, _, _ = render(tmp_path, 2)
    quick = get_engine("rapid")
    full = get_engine("rapid")
    full._ocr.text_rec = full._ocr.text_rec.inner
    assert page_from_words(quick.read(path)).text == page_from_words(full.read(path)).text


# Real beamer pages (tests/data/real_pages/README.md): a German lecture and an Italian talk,
# rendered at the 960x720 a 4:3 slide fills in a 720p video.
REAL_PAGES = Path(__file__).resolve().parents[1] / "data" / "real_pages"
needs_latin = pytest.mark.skipif(not rapid.latin_recogniser(),
                                 reason="rapidocr 3.x (whose wheel has the PP-OCRv6 recogniser) not installed")


def words_read(name: str) -> set[str]:
    page = page_from_words(get_engine("rapid").read(REAL_PAGES / f"{name}.png"))
    return set(re.findall(r"\w+", page.text))


@needs_latin
def test_umlauts_and_sharp_s_of_a_real_german_slide_are_read():
    # PP-OCRv4 read these "natuirlichen", "duirfen", "gehrt", "groB" (no ö or ß in its alphabet).
    assert {"natürlichen", "natürlicher", "dürfen", "Sätze", "gehört", "ähneln", "groß"} <= words_read("logik-8")
    assert {"Hörsaal", "Sätzen", "natürlicher"} <= words_read("logik-15")


@needs_latin
def test_accents_of_a_real_italian_slide_are_read():
    # PP-OCRv4 read "più" as "piu" and "possibilità" as "possibilita" (no grave accents).
    assert {"Più", "possibilità", "più"} <= words_read("b2t-29")
    assert {"è", "più"} <= words_read("b2t-41")


def test_beamer_triangle_bullets_are_not_text():
    words = [Word("▶", (10, 10, 20, 30), 1), Word("exampleblock", (30, 10, 150, 30), 1)]
    assert page_from_words(words).text == "exampleblock"


@pytest.mark.skipif("rapid" not in available_engines(), reason="rapidocr-onnxruntime not installed")
def test_without_the_pp_ocrv6_model_the_engine_still_reads_slides(monkeypatch, tmp_path):
    """The accented letters come from another wheel's model; an install without it keeps reading."""
    monkeypatch.setattr(rapid, "LATIN_DISTRIBUTION", "no-such-distribution")
    assert rapid.latin_recogniser() == {}
    path, title, _ = render(tmp_path, 1)
    engine = get_engine("rapid")
    assert "PP-OCRv6" not in engine._ocr.text_rec.inner.session.model_path
    assert page_from_words(engine.read(path)).title.split() == title.split()


def test_engines_are_kept_for_the_next_job_so_a_service_does_not_grow_with_every_job(read_deck, monkeypatch):
    # A service OCRs every job's slides in this process: new onnxruntime sessions per job grew
    # its memory by about 150 MB a job (docs/benchmarks.md, "Stop 24"). The engines made for one
    # job read the next job's slides, and read them as before.
    from slidecast.ocr import runner
    rendered, pages, _ = read_deck
    made = []
    monkeypatch.setattr(runner, "get_engine", lambda *a, **k: made.append(get_engine(*a, **k)) or made[-1])
    for _ in range(3):
        again = ocr_images([r[0] for r in rendered], "auto", workers=2)
        assert [p.text for p in again] == [p.text for p in pages]
    assert made == []
