"""faster-whisper engine (optional): used only when the package is installed and a local model
directory is configured, because nothing may be downloaded at run time."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .base import Progress, Segment, TimedWord

MODEL_ENV = "SLIDECAST_WHISPER_MODEL"
# Whisper reads at most 224 prompt tokens; the slides' distinct words, in order, up to this many.
PROMPT_WORDS = 120


def configured_model(explicit: str | None = None) -> Path | None:
    """The local model directory from `explicit` or $SLIDECAST_WHISPER_MODEL, if it exists."""
    value = explicit or os.environ.get(MODEL_ENV, "")
    if value and Path(value).is_dir():
        return Path(value)
    return None


class WhisperEngine:
    name = "whisper"

    def __init__(self, model_dir: Path, threads: int = 0, slide_text: list[str] | None = None):
        """`slide_text`: the talk's slides; their words become the decoder's initial prompt,
        which is how Whisper is told a talk's vocabulary."""
        from faster_whisper import WhisperModel

        self._prompt = _prompt(slide_text or [])
        # local_files_only: a path that is not a complete model must fail, never download.
        self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                   cpu_threads=threads, local_files_only=True)

    @staticmethod
    def available(explicit: str | None = None) -> bool:
        try:
            import faster_whisper  # noqa: F401
        except ImportError:
            return False
        return configured_model(explicit) is not None

    def transcribe(self, pcm: np.ndarray, progress: Progress) -> list[Segment]:
        audio = pcm.astype(np.float32) / 32768.0
        duration = max(1e-6, len(pcm) / 16000)
        pieces, _info = self._model.transcribe(audio, word_timestamps=True, vad_filter=False,
                                               initial_prompt=self._prompt)
        segments = []
        for piece in pieces:
            words = [TimedWord(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                     for w in (piece.words or []) if w.word.strip()]
            if words:
                segments.append(Segment(words[0].start, words[-1].end, words))
            progress(min(1.0, float(piece.end) / duration))
        progress(1.0)
        return segments


def _prompt(slide_text: list[str]) -> str | None:
    seen: dict[str, None] = {}
    for text in slide_text:
        for word in text.split():
            if len(seen) < PROMPT_WORDS and any(c.isalpha() for c in word):
                seen.setdefault(word.strip(".,;:()[]"), None)
    return " ".join(seen) or None
