"""What every transcription engine returns: timed words grouped into spoken segments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

# progress(fraction 0..1); engines call it as audio gets decoded.
Progress = Callable[[float], None]


@dataclass
class TimedWord:
    text: str
    start: float  # seconds from the start of the media
    end: float
    confidence: float = 1.0

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


@dataclass
class Segment:
    """One stretch of speech between pauses (as the engine found it)."""

    start: float
    end: float
    words: list[TimedWord] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class AsrEngine(Protocol):
    name: str

    def transcribe(self, pcm: np.ndarray, progress: Progress) -> list[Segment]:
        """Segments of 16 kHz mono int16 `pcm`, in time order, each with timed words."""
