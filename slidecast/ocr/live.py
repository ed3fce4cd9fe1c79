"""Words in a live region of the slide picture (a webcam tile on the slide, a playing video):
what OCR reads there, or clipped at its edge ("arts" for "Charts"), is not what the slide says.
Such words stay in `words` (marked "live") and are left out of text, title and keywords."""

from __future__ import annotations

from .base import PageText


def live_flags(page: PageText, regions: list[list[int]]) -> list[list[bool]]:
    """For each line and word of `page`: does its box meet one of `regions` ([x0, y0, x1, y1],
    the picture's pixels)?"""
    return [[any(_meets(word.box, region) for region in regions) for word in line] for line in page.lines]


def _meets(box, region) -> bool:
    return box[0] < region[2] and region[0] < box[2] and box[1] < region[3] and region[1] < box[3]
