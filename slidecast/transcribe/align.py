"""Put spoken words on the slide timeline, and cut them into subtitle cues.

A word belongs to the slide on screen at the word's midpoint, so a sentence that runs across a
slide change is split between the two slides word by word, not given whole to either.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from .base import Segment, TimedWord


@dataclass
class Cue:
    start: float
    end: float
    text: str


def all_words(segments: list[Segment]) -> list[TimedWord]:
    return [w for s in segments for w in s.words]


def words_by_range(words: list[TimedWord], ranges: list[tuple[float, float]]) -> list[list[TimedWord]]:
    """For each [start, end) range (time ordered, not overlapping) the words spoken in it.

    The first range is open to the left and the last to the right, so speech before the first
    slide change or after the last frame still lands on the nearest slide.
    """
    out: list[list[TimedWord]] = [[] for _ in ranges]
    if not ranges:
        return out
    starts = [r[0] for r in ranges]
    for word in words:
        pos = max(0, bisect_right(starts, word.middle) - 1)
        out[pos].append(word)
    return out


def make_cues(segments: list[Segment], boundaries: list[float], max_seconds: float = 6.0,
              max_words: int = 14) -> list[Cue]:
    """Subtitle cues: one per segment, split at slide changes and when too long to read.

    Cue times never overlap and never go backwards, which SRT/VTT players need.
    """
    cues: list[Cue] = []
    for segment in segments:
        current: list[TimedWord] = []
        for word in segment.words:
            if current and _must_break(current, word, boundaries, max_seconds, max_words):
                cues.append(_cue(current))
                current = []
            current.append(word)
        if current:
            cues.append(_cue(current))
    return _monotonic(cues)


def _must_break(current: list[TimedWord], word: TimedWord, boundaries: list[float],
                max_seconds: float, max_words: int) -> bool:
    if len(current) >= max_words or word.end - current[0].start > max_seconds:
        return True
    # A slide boundary between the previous word and this one.
    return bisect_right(boundaries, current[-1].middle) != bisect_right(boundaries, word.middle)


def _cue(words: list[TimedWord]) -> Cue:
    return Cue(words[0].start, words[-1].end, " ".join(w.text for w in words))


def _monotonic(cues: list[Cue]) -> list[Cue]:
    fixed: list[Cue] = []
    for cue in sorted(cues, key=lambda c: c.start):
        start = max(cue.start, fixed[-1].end if fixed else 0.0)
        end = max(cue.end, start + 0.2)  # a cue needs some duration to be shown at all
        fixed.append(Cue(round(start, 3), round(end, 3), cue.text))
    return fixed
