"""Appearances that show one page of the talk's deck are one slide.

Without a deck the engine decides what is a slide change from pixels; a noisy or filmed video
can split one screen state in two (a burst of noise, a flicker of the webcam tile). With the deck
the pages say otherwise: two consecutive appearances on the same page are one slide, and a
reader expects it once (one PDF page, one notes section, one PPTX slide, one entry on the
timeline). Build steps are separate pages of a beamer deck, so they are never joined here.

The first appearance of such a run stays (its picture, words, OCR text), over the run's whole
time range, with the run's narration joined in order and the live regions of all of them;
the timeline is then renumbered (indices, `same_as`, slides/NNN.png and thumbs/NNN.jpg moved
to match), so the manifest keeps its contract: indices 1..n in time order, pictures named by
index.

A later appearance of a page shown before (not in a row) is a return to it: it gets `same_as`
the page's first appearance, as a return the engine recognised does, so the documents hold the
page once and list both times under it.
"""

from __future__ import annotations

import re
from pathlib import Path


def one_slide_per_page(manifest, out_dir: Path) -> None:
    """Join appearances in a row on one page (join_same_pages), then mark later appearances of
    a page as returns to its first (mark_returns)."""
    join_same_pages(manifest, out_dir)
    mark_returns(manifest.slides)


def mark_returns(slides: list) -> None:
    """A first appearance (same_as null) of a deck page that an earlier appearance showed
    becomes a return to the page's first appearance, and so do the returns to it."""
    first: dict[int, int] = {}  # deck page -> index of its first appearance
    redirect: dict[int, int] = {}
    for slide in slides:
        if slide.same_as is not None:
            slide.same_as = redirect.get(slide.same_as, slide.same_as)
        elif slide.deck_page is not None and slide.deck_page in first:
            slide.same_as = redirect[slide.index] = first[slide.deck_page]
        elif slide.deck_page is not None:
            first[slide.deck_page] = slide.index


def join_untold_builds(manifest, out_dir: Path, steps) -> int:
    """Join each build step (`steps`: indices of appearances the engine found to add content to
    the one before, kept apart only because a deck was given) that the deck does not tell apart
    from the slide before it (both on no page, or on the same one) into that slide, as the
    engine joins builds without a deck: one slide over the build's time, pictured (and read) by
    its fullest step. Renumbers like join_same_pages; returns how many were joined away."""
    def joins(last, slide) -> bool:
        return slide.index in steps and slide.deck_page == last.deck_page

    replaced: set[int] = set()

    def take_step(kept, step) -> None:
        _take_step(kept, step)
        replaced.add(kept.index)

    def forget_returns() -> None:
        # A return to an earlier step (the engine found it before the steps were joined) shows
        # a picture that is no longer on the timeline: it is a slide of its own, as when the
        # engine compares it with the build's fullest step.
        for slide in manifest.slides:
            if slide.same_as in replaced:
                slide.same_as = None

    return _join(manifest, Path(out_dir), joins, take_step, forget_returns)


def join_same_pages(manifest, out_dir: Path) -> int:
    """Join runs of consecutive appearances with the same (non-null) deck_page into their first,
    renumber the timeline and move the pictures; returns how many appearances were joined away."""
    def joins(last, slide) -> bool:
        return slide.deck_page is not None and slide.deck_page == last.deck_page

    return _join(manifest, Path(out_dir), joins, _absorb)


def _join(manifest, out_dir: Path, joins, absorb, before_renumbering=lambda: None) -> int:
    """Join each appearance for which joins(kept before it, it) holds into the kept appearance
    before it (absorb(kept, joined)), then call before_renumbering(), renumber the timeline and
    move the pictures."""
    slides = manifest.slides
    into: dict[int, int] = {}  # old index of a joined appearance -> old index of the one kept
    kept = []
    for slide in slides:
        last = kept[-1] if kept else None
        if last is not None and joins(last, slide):
            absorb(last, slide)
            into[slide.index] = last.index
        else:
            kept.append(slide)
    if not into:
        return 0
    before_renumbering()
    by_index = {s.index: s for s in slides}
    first = {s.index: _first_shown(s.index, into, by_index) for s in slides}
    _move_pictures(Path(out_dir), kept, [by_index[i] for i in into])
    numbers = {s.index: n for n, s in enumerate(kept, start=1)}
    for slide in kept:
        target = first[slide.same_as] if slide.same_as is not None else None
        slide.same_as = numbers[target] if target is not None else None
    for slide in kept:
        slide.index = numbers[slide.index]
    manifest.slides = kept
    return len(into)


def _take_step(kept, step) -> None:
    """`kept` (a build's earlier step) becomes the build: `step`'s picture, what was read on it
    and its page, over both times; `step` is left with the earlier picture, which goes."""
    _absorb(kept, step)
    kept.image, step.image = step.image, kept.image
    kept.thumbnail, step.thumbnail = step.thumbnail, kept.thumbnail
    kept.frame_time, kept.text, kept.words = step.frame_time, step.text, step.words
    kept.title, kept.keywords, kept.deck_page = step.title, step.keywords, step.deck_page
    # The fuller picture may be one shown before (a return); the earlier step's is gone.
    kept.same_as = step.same_as if step.same_as != kept.index else None


def _absorb(kept, joined) -> None:
    """`kept` takes `joined`'s time, narration and live regions."""
    kept.end = max(kept.end, joined.end)
    kept.transcript = " ".join(t for t in (kept.transcript.strip(), joined.transcript.strip()) if t)
    kept.live_regions = kept.live_regions + [r for r in joined.live_regions if r not in kept.live_regions]


def _first_shown(index: int, into: dict[int, int], by_index: dict) -> int:
    """The old index of the first appearance of what appearance `index` shows, after joining: a
    joined appearance is its run's first, and a return is the first appearance it returns to."""
    while True:
        index = into.get(index, index)
        same_as = by_index[index].same_as
        if same_as is None:
            return index
        index = same_as


def _move_pictures(out_dir: Path, kept: list, joined: list) -> None:
    """Delete the joined appearances' pictures and give the kept ones their new numbers (through
    temporary names, so that no picture is overwritten before it has moved)."""
    for slide in joined:
        (out_dir / slide.image).unlink(missing_ok=True)
        (out_dir / slide.thumbnail).unlink(missing_ok=True)
    moves = []
    for number, slide in enumerate(kept, start=1):
        image, thumbnail = _numbered(slide.image, number), _numbered(slide.thumbnail, number)
        for old, new in ((slide.image, image), (slide.thumbnail, thumbnail)):
            if old != new and (out_dir / old).exists():
                temporary = out_dir / f"{old}.moving"
                (out_dir / old).rename(temporary)
                moves.append((temporary, out_dir / new))
        slide.image, slide.thumbnail = image, thumbnail
    for temporary, target in moves:
        temporary.rename(target)


def _numbered(name: str, number: int) -> str:
    """slides/012.png with `number` for 012, as many digits as it had (at least)."""
    match = re.search(r"(\d+)(\.\w+)$", name)
    if match is None:
        return name
    digits = len(match.group(1))
    return f"{name[:match.start()]}{number:0{digits}d}{match.group(2)}"
