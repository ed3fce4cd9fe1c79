"""Chapters of the video: chapters.txt as video sites read it, and WebVTT chapters.

A chapter is a section of the talk, not a slide: with a deck, its outline's top-level entries
(beamer's \\section) give the sections and each aligned appearance falls in the section holding
its page; without one, the section a navigation bar highlights (output.navigation) decides, and
where there is none either, a chapter starts where the slide title changes (builds and continued
frames keep their title, so they stay in one chapter). Video sites want the first chapter at
00:00, times ascending and chapters at least 10 s long, so a section shorter than that (a
section page) starts the chapter after it (or, at the talk's end, is folded into the one
before), and a section that starts less than 10 s after the chapter before (a talk's 6-s
title page, then its first section) starts 10 s after it instead of being left out; a
chapter never has the title of the one before (a section interrupted by a short one stays one
chapter). Any short section between two others opens the next chapter: without a deck a
section page cannot be told from a short slide that ends a section. When folding would leave
fewer than 3 chapters of a talk with 3 sections or more (every section short), consecutive
short sections are grouped instead: a chapter starts wherever a section is still on screen 10 s
after the chapter before began.

A return to an earlier page (`same_as`) shows its first appearance's picture, so its navigation
bar is not read; it stays in the section before (a speaker looking back), except a page that is
shown each time in the talk's opening or where the section changes: the talk's outline
("Gliederung", "Agenda") shown again before a section opens the section after it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .manifest import Manifest, SlideEntry
from ..transcribe.align import Cue
from .pdf import clock
from .subtitles import to_vtt

MIN_CHAPTER_SECONDS = 10
MIN_CHAPTERS = 3  # video sites ignore a shorter chapter list


@dataclass
class Chapter:
    start: int  # whole seconds: what chapters.txt can say
    title: str


def make_chapters(manifest: Manifest, outline: list[tuple[int, str]] | None = None,
                  navigation: list[str | None] | None = None) -> list[Chapter]:
    """Chapters in time order: the first at 0, each at least MIN_CHAPTER_SECONDS after the one
    before. `outline` is the deck's top-level (page, title) list, used for appearances that have
    a `deck_page`; `navigation`, per appearance, the section its navigation bar highlights
    (output.navigation); where neither says, titles decide. Empty for no slides."""
    navigation = _outline_returns(manifest.slides, navigation or [None] * len(manifest.slides))
    runs = _sections(manifest, outline, navigation)
    ends = [run.start for run in runs[1:]] + [int(manifest.video.duration)]
    chapters = _folded(runs, ends)
    if len(chapters) < MIN_CHAPTERS <= len({run.title for run in runs}):
        # Every section is short (a 90-s talk of 8-s slides): folding leaves one chapter, which
        # video sites ignore; a chapter of several short sections is more use than none.
        chapters = _grouped(runs, ends, int(manifest.video.duration)) or chapters
    return chapters


def _sections(manifest: Manifest, outline, navigation: list[str | None]) -> list[Chapter]:
    """Runs of consecutive appearances of one section (or one title), at their own starts."""
    runs: list[Chapter] = []
    for slide, shown in zip(manifest.slides, navigation):
        label = _section(slide, outline, shown)
        if label and (not runs or label != runs[-1].title):
            runs.append(Chapter(0 if not runs else _second(slide.start), label))
    return runs


def _outline_returns(slides: list[SlideEntry], navigation: list[str | None]) -> list[str | None]:
    """`navigation` with the returns to an outline in the section after them. A page is an
    outline when it is shown more than once, each time in the talk's opening (before any section
    is marked: the title, the outline) or where the section changes (the appearances either side
    of it are in different sections): a page a speaker looks back at mid-section is not one."""
    last = len(navigation) - 1

    def at_change(n: int) -> bool:
        return n in (0, last) or navigation[n - 1] is None or navigation[n - 1] != navigation[n + 1]

    shown: dict[int, list[int]] = defaultdict(list)
    for n, slide in enumerate(slides):
        shown[slide.same_as or slide.index].append(n)
    sections = list(navigation)
    for places in shown.values():
        if len(places) > 1 and all(at_change(n) for n in places):
            for n in places[1:]:
                if n < last and navigation[n + 1]:
                    sections[n] = navigation[n + 1]
    return sections


def _second(seconds: float) -> int:
    """To the nearest second, as the notes, the PDF outline and the PPTX notes give a slide's
    start (`pdf.clock`): chapters.txt says 00:33 where notes.md says the slide starts at 00:33."""
    return int(seconds + 0.5)


def _folded(runs: list[Chapter], ends: list[int]) -> list[Chapter]:
    """A section shorter than MIN_CHAPTER_SECONDS leads into the next one: that chapter starts
    at it (a section page shown 8 s opens its section; a student who clicks the chapter must not
    miss it). The chapter is moved clear of the one before; a section still short after that,
    or the talk's last, is folded into the chapter before."""
    chapters: list[Chapter] = []
    lead: int | None = None  # start of the short sections waiting for the next one
    for number, (run, end) in enumerate(zip(runs, ends)):
        if chapters:
            if end - run.start < MIN_CHAPTER_SECONDS and number + 1 < len(runs):
                lead = run.start if lead is None else lead
                continue
            start = max(run.start if lead is None else lead, chapters[-1].start + MIN_CHAPTER_SECONDS)
            lead = None
            if end - start < MIN_CHAPTER_SECONDS:
                continue
            # The section before came back after a short one: still one chapter.
            if run.title == chapters[-1].title:
                continue
            run = Chapter(start, run.title)
        chapters.append(run)
    return chapters


def _grouped(runs: list[Chapter], ends: list[int], duration: int) -> list[Chapter]:
    """Chapters of one or more short sections each, named by the section on screen when the
    chapter starts: a section starts a chapter if it is still on screen MIN_CHAPTER_SECONDS
    after the chapter before began, with that long left of the video."""
    chapters = [runs[0]] if runs else []
    for run, end in zip(runs[1:], ends[1:]):
        start = max(run.start, chapters[-1].start + MIN_CHAPTER_SECONDS)
        if start < end and start + MIN_CHAPTER_SECONDS <= duration and run.title != chapters[-1].title:
            chapters.append(Chapter(start, run.title))
    return chapters if len(chapters) >= MIN_CHAPTERS else []


def _section(slide: SlideEntry, outline: list[tuple[int, str]] | None, shown: str | None) -> str | None:
    page = getattr(slide, "deck_page", None)
    if outline and page:
        titles = [title for first, title in outline if first <= page]
        if titles:
            return _clean(titles[-1])
    title = _clean(shown or slide.title)
    return title or None


def _clean(text: str) -> str:
    return " ".join(text.split())


def to_chapters_txt(chapters: list[Chapter]) -> str:
    """`00:00 Title` lines (mm:ss, h:mm:ss past an hour), as video sites read them."""
    return "".join(f"{clock(c.start)} {c.title}\n" for c in chapters)


def to_chapters_vtt(chapters: list[Chapter], duration: float) -> str:
    """WebVTT chapters: one cue per chapter, from its start to the next one's (the last to the
    end of the video)."""
    ends = [c.start for c in chapters[1:]] + [max(duration, chapters[-1].start + 1)] if chapters else []
    return to_vtt([Cue(c.start, end, c.title) for c, end in zip(chapters, ends)])
