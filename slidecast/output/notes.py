"""Markdown study notes: deck title, contents, then each distinct slide with its picture, time
range(s), text, what was said and keywords."""

from __future__ import annotations

import re

from ..transcribe import rough_transcript
from .manifest import Manifest, SlideEntry
from .pdf import clock


# Above every "What was said": the transcript below is a rough guide, not a record.
ROUGH_NOTE = ("Note: \"What was said\" was transcribed by the bundled speech recogniser, which gets most words "
              "of a real lecture wrong; read it as a rough guide (see the warnings in manifest.json).")


def render_notes(manifest: Manifest, pictures: dict[int, str] | None = None) -> str:
    """Markdown text; image links are relative to the output folder (slides/NNN.png, or
    `pictures[index]`: a deck page rendered for an aligned slide)."""
    title = manifest.title or "Slides"
    distinct = manifest.distinct()
    appearances = _appearances_by_slide(manifest)
    numbers = manifest.slide_numbers()
    headings = [_heading(slide, numbers[slide.index]) for slide in distinct]
    anchors = _anchors(headings)
    out = [f"# {_inline(title)}", ""]
    if manifest.keywords:
        out += [f"**Keywords:** {', '.join(manifest.keywords)}", ""]
    if rough_transcript(manifest.warnings) and any(s.transcript.strip() for s in manifest.slides):
        out += [f"> **{ROUGH_NOTE}**", ""]
    out += ["## Contents", ""]
    # A bullet list: a numbered one would count 1, 2, 3 beside headings numbered as the API.
    out += [f"- [{_inline(h)}](#{a})" for h, a in zip(headings, anchors)]
    out.append("")
    for slide, heading in zip(distinct, headings):
        out += _slide_section(slide, heading, appearances[slide.index], (pictures or {}).get(slide.index))
    return "\n".join(out).rstrip() + "\n"


def _appearances_by_slide(manifest: Manifest) -> dict[int, list[SlideEntry]]:
    groups: dict[int, list[SlideEntry]] = {}
    for entry in manifest.slides:
        groups.setdefault(entry.same_as or entry.index, []).append(entry)
    return groups


def _heading(slide: SlideEntry, number: int) -> str:
    """"Slide N: title", N the slide's place among the distinct slides (Manifest.slide_numbers)."""
    return f"Slide {number}: {slide.title}" if slide.title else f"Slide {number}"


def _slide_section(slide: SlideEntry, heading: str, appearances: list[SlideEntry],
                   picture: str | None) -> list[str]:
    times = ", ".join(f"{clock(a.start)}–{clock(a.end)}" for a in appearances)
    out = [f"## {_inline(heading)}", "", f"![{_inline(heading)}]({picture or slide.image})", "",
           f"*Shown {times}*", ""]
    lines = [_inline(line) for line in slide.text.splitlines() if line.strip()]
    if lines:
        # A trailing backslash is a hard line break: slide lines stay lines, not one paragraph.
        out += ["### On the slide", ""] + [f"> {line}\\" for line in lines[:-1]] + [f"> {lines[-1]}", ""]
    said = [a.transcript.strip() for a in appearances if a.transcript.strip()]
    if said:
        out += ["### What was said", ""]
        for appearance, text in zip([a for a in appearances if a.transcript.strip()], said):
            prefix = f"*({clock(appearance.start)})* " if len(appearances) > 1 else ""
            out += [prefix + _inline(text), ""]
    if slide.keywords:
        out += [f"**Keywords:** {', '.join(_inline(k) for k in slide.keywords)}", ""]
    return out


def _inline(text: str) -> str:
    """Text as literal Markdown: characters that would start markup are escaped."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(text.split()))


def _anchors(headings: list[str]) -> list[str]:
    """GitHub-style heading anchors (lower case, punctuation dropped, spaces to '-'), with
    '-1', '-2' suffixes for repeats, so contents links work on GitHub and most renderers."""
    seen: dict[str, int] = {}
    out = []
    for heading in headings:
        base = re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-")
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.append(base if count == 0 else f"{base}-{count}")
    return out
