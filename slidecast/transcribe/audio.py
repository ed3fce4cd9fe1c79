"""Decode a media file's first audio track to 16 kHz mono signed 16-bit PCM (what ASR wants)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000


def has_audio(path: str | Path) -> bool:
    """True when the container has at least one audio stream."""
    with av.open(str(path)) as container:
        return bool(container.streams.audio)


def decode_audio(path: str | Path) -> np.ndarray | None:
    """Return the first audio track as int16 samples at 16 kHz mono, or None if there is none.

    A damaged tail is tolerated: whatever decoded before the error is returned, because a
    transcript of most of a lecture beats none.
    """
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError:
            pass
        for out in resampler.resample(None):  # flush the resampler's buffered tail
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks).astype(np.int16, copy=False)
