"""slides.pptx: one PowerPoint slide per distinct slide, the picture full-bleed, the slide's text
and what was said in its notes, so a lecturer can take the deck up again (python-pptx)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pptx import Presentation
from pptx.util import Emu

from .manifest import Manifest, SlideEntry
from .pdf import clock

# 13.333 in: PowerPoint's widescreen width; the height follows the pictures' aspect.
SLIDE_WIDTH = Emu(12_192_000)
BLANK_LAYOUT = 6
TITLE_ONLY_LAYOUT = 5  # of python-pptx's default template


def build_pptx(manifest: Manifest, out_dir: Path, pictures: dict[int, Path] | None = None) -> bytes:
    """The .pptx bytes: one slide per distinct slide, in time order.

    Each slide is its picture stretched over the whole slide (slides/NNN.png, or
    `pictures[index]` when given: a deck page rendered for an aligned slide); its notes hold the
    slide's text and the narration of every appearance. The slide size follows the first
    picture's aspect ratio.
    """
    distinct = manifest.distinct()
    paths = [(pictures or {}).get(s.index, out_dir / s.image) for s in distinct]
    deck = Presentation()
    if paths:
        with Image.open(paths[0]) as first:
            width, height = first.size
        deck.slide_width, deck.slide_height = SLIDE_WIDTH, Emu(round(SLIDE_WIDTH * height / width))
    said = _narration(manifest)
    numbers = manifest.slide_numbers()
    for slide, path in zip(distinct, paths):
        page = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY_LAYOUT if slide.title else BLANK_LAYOUT])
        if slide.title:
            # The title placeholder is what PowerPoint's outline, navigator and screen readers
            # list; the picture added after it lies on top, so the slide looks as it did.
            page.shapes.title.text = " ".join(slide.title.split())
        page.shapes.add_picture(str(path), 0, 0, deck.slide_width, deck.slide_height)
        page.notes_slide.notes_text_frame.text = _notes(slide, numbers[slide.index], said.get(slide.index, []))
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def _narration(manifest: Manifest) -> dict[int, list[str]]:
    said: dict[int, list[str]] = {}
    for entry in manifest.slides:
        if entry.transcript.strip():
            said.setdefault(entry.same_as or entry.index, []).append(
                f"({clock(entry.start)}) {entry.transcript.strip()}")
    return said


def _notes(slide: SlideEntry, number: int, said: list[str]) -> str:
    """"Slide N: title" (N: the slide's place in the deck, as in the PDF and the notes), the
    slide's text, what was said."""
    parts = [f"Slide {number}" + (f": {slide.title}" if slide.title else "")]
    if slide.text.strip():
        parts.append(slide.text.strip())
    if said:
        parts.append("What was said:\n" + "\n".join(said))
    return "\n\n".join(parts)
