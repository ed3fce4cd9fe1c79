"""What output.navigation (rows) and output.sidebar (columns) both measure on chrome lines: a
line's place and height, places that recur from slide to slide, and how far a marked entry's
contrast stands from the others'."""

from __future__ import annotations

import numpy as np

# The current entry's ink contrast against the others' (beamer shades the others to about
# half: 240 against 120 on a dark headline).
HIGHLIGHT = 1.5
# Rows, columns and entries are the same on two slides when their places differ by less than
# this share of the picture.
PLACE = 0.03


class Places:
    """Places met so far along one axis: a new value within PLACE of a known one is that one."""

    def __init__(self) -> None:
        self.known: list[float] = []

    def __call__(self, value: float) -> float:
        for place in self.known:
            if abs(place - value) < PLACE:
                return place
        self.known.append(value)
        return value


def centre(words: list[dict]) -> float:
    """The words' mean vertical centre, in pixels."""
    return sum((w["box"][1] + w["box"][3]) / 2 for w in words) / len(words)


def height(words: list[dict]) -> float:
    """The words' median height in pixels (at least 1)."""
    return max(1.0, float(np.median([w["box"][3] - w["box"][1] for w in words])))
