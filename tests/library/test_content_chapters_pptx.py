"""Chapters as video sites read them, and slides.pptx as PowerPoint (python-pptx) opens it."""

import re
from pathlib import Path

import numpy as np
from PIL import Image
from pptx import Presentation

from slidecast import content
from slidecast.options import ExtractOptions
from slidecast.output.chapters import make_chapters, to_chapters_txt
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo

# (start, end, title, same_as, transcript): a talk of four sections; the second is a build
# (two appearances, one title), the third a continued frame, "Demo" is too short for a chapter,
# and the talk returns to its outline at the end.
TALK = [
    (0.0, 6.0, "Fast Fourier Transforms", None, "welcome to this talk"),
    (6.0, 40.0, "Outline", None, "here is the plan"),
    (40.0, 70.0, "Divide and conquer", None, "we split the input"),
    (70.0, 95.0, "Divide and conquer", None, "and then merge the halves"),
    (95.0, 99.0, "Demo", None, ""),
    (99.0, 150.0, "Complexity", None, "n log n operations"),
    (150.0, 190.5, "Outline", 2, "so to sum up"),
]
LINE = re.compile(r"^(?:(\d+):)?(\d{2}):(\d{2}) (\S.*)$")


def talk_manifest(out: Path) -> Manifest:
    (out / "slides").mkdir(parents=True, exist_ok=True)
    slides = []
    for index, (start, end, title, same_as, said) in enumerate(TALK, start=1):
        image = f"slides/{(same_as or index):03d}.png"
        if same_as is None:
            shade = np.full((360, 640, 3), 40 * (index % 6), np.uint8)
            Image.fromarray(shade).save(out / image)
        slides.append(SlideEntry(index, start, end, image, f"thumbs/{index:03d}.jpg", same_as=same_as,
                                 title=title, text=f"{title}\nsome words of slide {same_as or index}",
                                 transcript=said))
    video = VideoInfo(duration=190.5, fps=25.0, width=640, height=360, sha256="0" * 64)
    return Manifest(video=video, slides=slides)


def parse_chapters(text: str) -> list[tuple[int, str]]:
    """chapters.txt read as a video site reads a description's chapter list."""
    out = []
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, f"not a chapter line: {line!r}"
        hours, minutes, seconds, title = match.groups()
        out.append((int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds), title))
    return out


def test_chapters_txt_follows_the_video_site_rules(tmp_path):
    manifest = talk_manifest(tmp_path)
    content.run(manifest, tmp_path, tmp_path / "none.mp4", ExtractOptions(ocr=False, pdf=False, notes=False))
    chapters = parse_chapters((tmp_path / "chapters.txt").read_text(encoding="utf-8"))
    times = [t for t, _ in chapters]
    assert times[0] == 0 and len(chapters) >= 3
    assert all(b - a >= 10 for a, b in zip(times, times[1:])), times
    # One per section, not one per slide: the continued frame folds in, and the short demo leads
    # into the section after it. The outline, 34 s right after a 6-s title page, is a chapter
    # too, 10 s after the first.
    assert chapters == [(0, "Fast Fourier Transforms"), (10, "Outline"), (40, "Divide and conquer"),
                        (95, "Complexity"), (150, "Outline")]
    assert manifest.artifacts["chapters"] == "chapters.txt"


def test_chapters_vtt_has_one_cue_per_chapter_up_to_the_end(tmp_path):
    manifest = talk_manifest(tmp_path)
    content.run(manifest, tmp_path, tmp_path / "none.mp4", ExtractOptions(ocr=False, pdf=False, notes=False))
    vtt = (tmp_path / "chapters.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n")
    cues = re.findall(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(.+)\n", vtt)
    assert cues == [("00:00:00.000", "00:00:10.000", "Fast Fourier Transforms"),
                    ("00:00:10.000", "00:00:40.000", "Outline"),
                    ("00:00:40.000", "00:01:35.000", "Divide and conquer"),
                    ("00:01:35.000", "00:02:30.000", "Complexity"),
                    ("00:02:30.000", "00:03:10.500", "Outline")]
    assert manifest.artifacts["chapters_vtt"] == "chapters.vtt"


def test_past_an_hour_chapter_times_carry_hours(tmp_path):
    manifest = talk_manifest(tmp_path)
    manifest.slides[-1].start, manifest.slides[-1].end = 3725.0, 3800.0
    manifest.video.duration = 3800.0
    assert [c.start for c in make_chapters(manifest)][-1] == 3725
    assert to_chapters_txt(make_chapters(manifest)).splitlines()[-1] == "1:02:05 Outline"


def test_a_section_interrupted_by_a_short_one_stays_one_chapter(tmp_path):
    # A 4 s demo inside "Divide and conquer": folded in, the section is not listed twice.
    manifest = talk_manifest(tmp_path)
    manifest.slides[5].title = "Divide and conquer"  # 99-150 s, back after the demo
    chapters = parse_chapters(to_chapters_txt(make_chapters(manifest)))
    assert chapters == [(0, "Fast Fourier Transforms"), (10, "Outline"), (40, "Divide and conquer"),
                        (150, "Outline")]
    titles = [title for _, title in chapters]
    assert all(a != b for a, b in zip(titles, titles[1:]))


def test_a_talk_of_short_slides_still_gets_chapters_each_named_by_what_is_on_screen(tmp_path):
    # Twelve titles of 7.6 s each (a 92-s talk): folding each short section into the one before
    # left one chapter, which video sites ignore.
    manifest = talk_manifest(tmp_path)
    titles = [f"Slide {n}" for n in range(1, 13)]
    manifest.slides = [SlideEntry(n, 7.6 * (n - 1), 7.6 * n, f"slides/{n:03d}.png", f"thumbs/{n:03d}.jpg",
                                  title=title) for n, title in enumerate(titles, start=1)]
    manifest.video.duration = 7.6 * 12
    chapters = parse_chapters(to_chapters_txt(make_chapters(manifest)))
    times = [t for t, _ in chapters]
    assert times[0] == 0 and len(chapters) >= 3, chapters
    assert all(b - a >= 10 for a, b in zip(times, times[1:])) and times[-1] + 10 <= manifest.video.duration
    for time, title in chapters:  # each chapter starts while its section is on screen
        slide = manifest.slides[titles.index(title)]
        assert int(slide.start) <= time < slide.end, (time, title)


def test_no_chapters_option_removes_them(tmp_path):
    manifest = talk_manifest(tmp_path)
    (tmp_path / "chapters.txt").write_text("stale")
    content.run(manifest, tmp_path, tmp_path / "none.mp4",
                ExtractOptions(ocr=False, pdf=False, notes=False, chapters=False))
    assert "chapters" not in manifest.artifacts and not (tmp_path / "chapters.txt").exists()


def test_pptx_has_one_full_bleed_slide_per_distinct_slide_with_text_and_narration_in_notes(tmp_path):
    manifest = talk_manifest(tmp_path)
    content.run(manifest, tmp_path, tmp_path / "none.mp4",
                ExtractOptions(ocr=False, pdf=False, notes=False, pptx=True))
    assert manifest.artifacts["pptx"] == "slides.pptx"
    deck = Presentation(tmp_path / "slides.pptx")
    distinct = manifest.distinct()
    assert len(deck.slides) == len(distinct) == 6
    assert deck.slide_width * 360 == deck.slide_height * 640  # the pictures' 16:9
    for page, slide in zip(deck.slides, distinct):
        (picture,) = [s for s in page.shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE
        assert (picture.left, picture.top, picture.width, picture.height) == (
            0, 0, deck.slide_width, deck.slide_height)
        # Each slide carries its title in its title placeholder (PowerPoint's outline lists it),
        # under the picture, which is the top shape: the slide looks as the video showed it.
        assert page.shapes.title is not None and page.shapes.title.text == slide.title
        assert list(page.shapes)[-1] == picture
        notes = page.notes_slide.notes_text_frame.text
        assert f"some words of slide {slide.index}" in notes
        assert slide.transcript in notes
    # The outline was shown twice: both narrations are in its notes.
    outline_notes = deck.slides[1].notes_slide.notes_text_frame.text
    assert "here is the plan" in outline_notes and "so to sum up" in outline_notes


def test_no_pptx_unless_asked(tmp_path):
    manifest = talk_manifest(tmp_path)
    content.run(manifest, tmp_path, tmp_path / "none.mp4", ExtractOptions(ocr=False, pdf=False, notes=False))
    assert "pptx" not in manifest.artifacts and not (tmp_path / "slides.pptx").exists()


def test_a_chapter_starts_at_the_second_the_notes_give_for_its_slide(tmp_path):
    # A slide shown from 32.6 s is "00:33" in notes.md and the PDF outline; chapters.txt said
    # 00:32, so a student saw two times for one slide.
    manifest = talk_manifest(tmp_path)
    for slide, start in zip(manifest.slides, (0.0, 12.4, 32.6, 70.4, 95.0, 99.0, 150.0)):
        slide.start = start
    for slide, after in zip(manifest.slides, manifest.slides[1:]):
        slide.end = after.start
    content.run(manifest, tmp_path, tmp_path / "none.mp4", ExtractOptions(ocr=False, pdf=False))
    chapters = dict((title, t) for t, title in
                    parse_chapters((tmp_path / "chapters.txt").read_text(encoding="utf-8")))
    assert chapters["Divide and conquer"] == 33, chapters
    assert "00:33" in (tmp_path / "notes.md").read_text(encoding="utf-8")


def test_an_agenda_shown_again_between_sections_opens_the_next_one_a_look_back_does_not(tmp_path):
    # The sections as a navigation bar gives them (output.navigation): a return is not read (it
    # shows its first appearance's picture) and keeps the section before. The agenda (slide 2)
    # comes back before each section; slide 3 comes back in the middle of section B.
    shown = [(None, None), (None, None), (None, "A"), (None, "A"), (2, "A"), (None, "B"), (None, "B"),
             (3, "B"), (None, "B"), (2, "B"), (None, "C")]
    manifest = talk_manifest(tmp_path)
    manifest.slides = [SlideEntry(n, 20.0 * (n - 1), 20.0 * n, f"slides/{same_as or n:03d}.png",
                                  f"thumbs/{n:03d}.jpg", same_as=same_as, title=f"Frame {same_as or n}")
                       for n, (same_as, _) in enumerate(shown, start=1)]
    manifest.video.duration = 20.0 * len(shown)
    chapters = make_chapters(manifest, None, [section for _, section in shown])
    assert [(c.start, c.title) for c in chapters] == [(0, "Frame 1"), (20, "Frame 2"), (40, "A"),
                                                      (80, "B"), (180, "C")]
