"""Slide changes seen in packet sizes, without decoding a single frame.

Inside a group of pictures, a frame that shows a new slide cannot be predicted from the previous
one, so its packet is many times larger than its neighbours. A talking webcam or sensor noise
makes every packet larger (it raises the baseline), not a few: so a spike is measured against the
rolling median of the surrounding non-key packets, and it must also be a good share of the size
of its group's keyframe (a whole new picture costs about as much as a keyframe; a webcam or a
pointer burst stays under 10% of it, measured on the bench videos, while slide changes made
18-62%). Spikes are only a hint of where to decode densely; they never make a slide change on
their own. What they must catch is a change that the keyframes cannot show: A -> B -> A inside
one group of pictures; smaller changes (builds) leave differing keyframes behind.
"""

from __future__ import annotations

import numpy as np

WINDOW = 2.0  # seconds of packets in the rolling median
FACTOR = 4.0  # spike: this many times the local median (at sensitivity 0.5) ...
FLOOR = 0.0005  # ... plus this many bytes per pixel, so a near-empty stream is not all spikes
KEYFRAME_SHARE = 0.15  # ... and at least this share of the preceding keyframe's size
CHUNK = 4096  # packets whose rolling median is taken at once


def find_spikes(times: np.ndarray, sizes: np.ndarray, is_key: np.ndarray, fps: float,
                pixels: int, sensitivity: float = 0.5) -> np.ndarray:
    """Times of non-key packets that are spikes (sorted); packets sorted by time."""
    keep = ~is_key
    t, s = times[keep], sizes[keep].astype(np.float64)
    if s.size == 0 or not is_key.any():
        return np.zeros(0)
    half = max(2, int(WINDOW * fps / 2))
    padded = np.pad(s, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    # np.median copies the windows it is given (61 values a packet at 30 fps): a few thousand
    # rows at a time, or two hours of packets take 100 MB at once (the same medians either way)
    median = np.concatenate([np.median(windows[i:i + CHUNK], axis=1) for i in range(0, len(windows), CHUNK)])
    scale = 2.0 ** ((0.5 - min(max(sensitivity, 0.0), 1.0)) * 2)
    key_t, key_size = times[is_key], sizes[is_key].astype(np.float64)
    own_key = key_size[np.clip(np.searchsorted(key_t, t, side="right") - 1, 0, None)]
    big = (s > FACTOR * scale * median + FLOOR * pixels) & (s > KEYFRAME_SHARE * scale * own_key)
    return t[big]
