"""Chapters of the video: chapters.txt as video sites read it, and WebVTT chapters.

A chapter is a section of the talk, not a slide: with a deck, its outline's top-level entries
(beamer's \\section) give the sections and each aligned appearance falls in the section holding
its page; without one, a chapter starts where the slide title changes (builds and continued
frames keep their title, so they stay in one chapter). Video sites want the first chapter at
00:00, times ascending and chapters at least 10 s long, so a section shorter than that is
folded into the one before it, and a section that starts less than 10 s after the chapter
before (a talk's 6-s title page, then its first section) starts 10 s after it instead of being
left out; a chapter never has the title of the one before (a section interrupted by a short
one stays one chapter).
"""

from __future__ import annotations

from dataclasses import dataclass

from .manifest import Manifest, SlideEntry
from ..transcribe.align import Cue
from .pdf import clock
from .subtitles import to_vtt

MIN_CHAPTER_SECONDS = 10


@dataclass
class Chapter:
    start: int  # whole seconds: what chapters.txt can say
    title: str


def make_chapters(manifest: Manifest, outline: list[tuple[int, str]] | None = None) -> list[Chapter]:
    """Chapters in time order: the first at 0, each at least MIN_CHAPTER_SECONDS after the one
    before. `outline` is the deck's top-level (page, title) list, used for appearances that have
    a `deck_page`; without it (or for unaligned slides) titles decide. Empty for no slides."""
    runs: list[Chapter] = []
    for slide in manifest.slides:
        label = _section(slide, outline)
        if label and (not runs or label != runs[-1].title):
            runs.append(Chapter(0 if not runs else int(slide.start), label))
    ends = [run.start for run in runs[1:]] + [int(manifest.video.duration)]
    chapters: list[Chapter] = []
    for run, end in zip(runs, ends):
        if chapters:
            start = max(run.start, chapters[-1].start + MIN_CHAPTER_SECONDS)
            # Too short, once moved clear of the chapter before: it belongs to the one before.
            if end - start < MIN_CHAPTER_SECONDS:
                continue
            # The section before came back after a short one was folded into it: still one chapter.
            if run.title == chapters[-1].title:
                continue
            run = Chapter(start, run.title)
        chapters.append(run)
    return chapters


def _section(slide: SlideEntry, outline: list[tuple[int, str]] | None) -> str | None:
    page = getattr(slide, "deck_page", None)
    if outline and page:
        titles = [title for first, title in outline if first <= page]
        if titles:
            return _clean(titles[-1])
    title = _clean(slide.title)
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
