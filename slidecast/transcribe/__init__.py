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


def check_engine_name(name: str) -> None:
    """ValueError naming the problem if engine `name` cannot run here; loads no model."""
    if name in ("auto", "pocketsphinx"):
        return
    if name == "whisper" or name.startswith("whisper:"):
        if not WhisperEngine.available(name.partition(":")[2] or None):
            raise ValueError("whisper needs faster-whisper installed and a local model directory "
                             "(engine 'whisper:/path/to/model' or $SLIDECAST_WHISPER_MODEL)")
        return
    raise ValueError(f"unknown transcription engine {name!r}; known: auto, pocketsphinx, whisper")


def get_engine(name: str = "auto", slide_text: list[str] | None = None) -> AsrEngine:
    """An engine for `name` that knows the words of `slide_text` (the talk's slides, when
    known); ValueError naming the problem if it cannot run here."""
    check_engine_name(name)
    if name == "auto":
        if WhisperEngine.available():
            return WhisperEngine(configured_model(), slide_text=slide_text)
        return PocketsphinxEngine(slide_text)
    if name == "pocketsphinx":
        return PocketsphinxEngine(slide_text)
    return WhisperEngine(configured_model(name.partition(":")[2] or None), slide_text=slide_text)


# What a user of any caller should know about a transcript by the bundled recogniser; each caller
# adds how its user gets a better one (ROUGH_ENGINE_WARNING: the library and CLI; the service says
# it in its own words, jobs/publish.py).
ROUGH_ENGINE_FACT = (
    "the narration was transcribed by the bundled recogniser (pocketsphinx), which gets most words of a "
    "real lecture wrong (word error rate 67-92% measured)")
ROUGH_ENGINE_WARNING = (
    f"{ROUGH_ENGINE_FACT}; for a transcript to study from, give a faster-whisper model: "
    "`slidecast extract --transcribe-engine whisper:/path/to/model` or $SLIDECAST_WHISPER_MODEL (docs/content.md)")
NO_AUDIO_WARNING = "the video has no sound track, so nothing was transcribed (no transcript, no subtitles)"


def rough_transcript(warnings: list[str]) -> bool:
    """Do `warnings` (a manifest's) say the transcript is the bundled recogniser's, in any
    caller's words?"""
    return any(w.startswith(ROUGH_ENGINE_FACT) for w in warnings)


def rough_engine_warning(name: str) -> str | None:
    """The warning a transcript made by engine `name` deserves: "auto" falls back to pocketsphinx
    when no whisper model is set up, and a user who did not choose it should know."""
    if name == "auto" and not WhisperEngine.available():
        return ROUGH_ENGINE_WARNING
    return None


def transcribe_media(path: str | Path, engine: str = "auto", progress: Progress | None = None,
                     slide_text: list[str] | None = None) -> list[Segment] | None:
    """Timed speech segments of the first audio track; None when there is no audio track.
    `slide_text` (the slides' text, OCR or deck) biases the recogniser towards their words."""
    pcm = decode_audio(path)
    if pcm is None:
        return None
    asr = get_engine(engine, slide_text)
    return asr.transcribe(pcm, progress or (lambda fraction: None))


__all__ = ["Segment", "TimedWord", "get_engine", "check_engine_name", "transcribe_media", "decode_audio",
           "rough_engine_warning", "rough_transcript", "ROUGH_ENGINE_FACT", "ROUGH_ENGINE_WARNING",
           "NO_AUDIO_WARNING"]
