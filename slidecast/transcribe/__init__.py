"""Offline transcription of a media file's audio track, and its alignment to slides.

`transcribe_media(path, engine)` returns timed segments, or None when the file has no audio.
Engines: "pocketsphinx" (bundled model, the default), "whisper" (faster-whisper with a local
model from $SLIDECAST_WHISPER_MODEL) and "whisper:/path/to/model". "auto" takes whisper when it
is installed and configured, else pocketsphinx.
"""

from __future__ import annotations

from pathlib import Path

from .audio import decode_audio
from .base import AsrEngine, Progress, Segment, TimedWord
from .pocketsphinx import PocketsphinxEngine
from .whisper import WhisperEngine, configured_model


def get_engine(name: str = "auto") -> AsrEngine:
    """An engine for `name`; ValueError naming the problem if it cannot run here."""
    if name == "auto":
        return WhisperEngine(configured_model()) if WhisperEngine.available() else PocketsphinxEngine()
    if name == "pocketsphinx":
        return PocketsphinxEngine()
    if name == "whisper" or name.startswith("whisper:"):
        explicit = name.partition(":")[2] or None
        if not WhisperEngine.available(explicit):
            raise ValueError("whisper needs faster-whisper installed and a local model directory "
                             "(transcribe_engine 'whisper:/path' or $SLIDECAST_WHISPER_MODEL)")
        return WhisperEngine(configured_model(explicit))
    raise ValueError(f"unknown transcription engine {name!r}; known: auto, pocketsphinx, whisper")


def transcribe_media(path: str | Path, engine: str = "auto",
                     progress: Progress | None = None) -> list[Segment] | None:
    """Timed speech segments of the first audio track; None when there is no audio track."""
    pcm = decode_audio(path)
    if pcm is None:
        return None
    asr = get_engine(engine)
    return asr.transcribe(pcm, progress or (lambda fraction: None))


__all__ = ["Segment", "TimedWord", "get_engine", "transcribe_media", "decode_audio"]
