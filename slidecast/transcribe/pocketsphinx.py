"""PocketSphinx engine: the US-English acoustic model, dictionary and LM bundled in the wheel."""

from __future__ import annotations

import importlib.util
import io
import re
import tempfile
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .base import Progress, Segment, TimedWord
from .vocabulary import SlideModel, slide_words

# Decoder frames are 10 ms.
FRAME_SECONDS = 0.01
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")
_VARIANT = re.compile(r"\(\d+\)$")  # "to(3)" is the third pronunciation of "to"


class PocketsphinxEngine:
    """Voice activity detection cuts the audio at pauses; each piece is decoded on its own and
    its words get times from the decoder's segmentation (frame accurate)."""

    name = "pocketsphinx"

    def __init__(self, slide_text: list[str] | None = None):
        """`slide_text`: the talk's slides (OCR or deck text); their words are made likely
        (vocabulary.py). Without it, the bundled general model."""
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        lines = slide_words(slide_text or [])
        if lines:
            with tempfile.TemporaryDirectory(prefix="slidecast-lm-") as tmp:
                model = Path(tmp) / "slides.arpa"
                SlideModel(self._decoder, dictionary_words()).write_arpa(lines, model)
                self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", lm=str(model))

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("pocketsphinx") is not None

    def transcribe(self, pcm: np.ndarray, progress: Progress) -> list[Segment]:
        total = max(1, len(pcm))
        segments = []
        for start, chunk in speech_chunks(pcm):
            words = self._decode(chunk, start)
            if words:
                segments.append(Segment(words[0].start, words[-1].end, words))
            progress(min(1.0, (start * SAMPLE_RATE + len(chunk) // 2) / total))
        progress(1.0)
        return segments

    def _decode(self, chunk: bytes, offset: float) -> list[TimedWord]:
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(chunk, full_utt=True)
        decoder.end_utt()
        words = []
        for seg in decoder.seg():
            if _FILLER.match(seg.word):
                continue
            words.append(TimedWord(
                text=_VARIANT.sub("", seg.word),
                start=round(offset + seg.start_frame * FRAME_SECONDS, 3),
                end=round(offset + (seg.end_frame + 1) * FRAME_SECONDS, 3),
                confidence=float(seg.prob),
            ))
        return words


def dictionary_words() -> list[str]:
    """Every word of the bundled pronunciation dictionary (each once)."""
    from pocketsphinx import get_model_path

    path = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with open(path, encoding="utf-8") as handle:
        return [w for w in (line.split(" ", 1)[0] for line in handle) if w and "(" not in w]


def speech_chunks(pcm: np.ndarray):
    """Yield (start_seconds, pcm_bytes) for each stretch of speech the VAD finds."""
    from pocketsphinx import Segmenter

    segmenter = Segmenter(sample_rate=SAMPLE_RATE)
    for piece in segmenter.segment(io.BytesIO(pcm.astype(np.int16).tobytes())):
        yield piece.start_time, piece.pcm
    # Audio that ends while someone is still talking leaves its last piece unflushed.
    if segmenter.speech_frames:
        yield segmenter.speech_start, b"".join(segmenter.speech_frames)
