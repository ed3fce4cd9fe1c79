"""Slide changes seen in packet sizes, without decoding a single frame.

Inside a group of pictures, a frame that shows a new slide cannot be predicted from the previous
one, so its packet is many times larger than its neighbours. A talking webcam or sensor noise
makes every packet larger (it raises the baseline), not a few: so a spike is measured against the
rolling median of the surrounding non-key packets. A crossfade shows as a run of large packets.
Spikes are only a hint of where to decode densely; they never make a slide change on their own.
"""

from __future__ import annotations

import numpy as np

WINDOW = 2.0  # seconds of packets in the rolling median
FACTOR = 4.0  # spike: this many times the local median (at sensitivity 0.5) ...
FLOOR = 0.0005  # ... plus this many bytes per pixel, so a near-empty stream is not all spikes


def find_spikes(times: np.ndarray, sizes: np.ndarray, is_key: np.ndarray, fps: float,
                pixels: int, sensitivity: float = 0.5) -> np.ndarray:
    """Times of non-key packets that are spikes (sorted)."""
    keep = ~is_key
    t, s = times[keep], sizes[keep].astype(np.float64)
    if s.size == 0:
        return np.zeros(0)
    half = max(2, int(WINDOW * fps / 2))
    padded = np.pad(s, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    median = np.median(windows, axis=1)
    factor = FACTOR * 2.0 ** ((0.5 - min(max(sensitivity, 0.0), 1.0)) * 2)
    return t[s > factor * median + FLOOR * pixels]
