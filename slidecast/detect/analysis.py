"""The frame every detection step is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..frames import sharpness


@dataclass
class AnalysisFrame:
    """One frame as detectors see it.

    `gray` is the small grey frame cropped to the content area, `norm` its normalised copy
    (frames.normalise); `source` is the decoded av.VideoFrame when the frame came from dense
    decoding (so the full-resolution picture can be made from it), or None for a keyframe from
    the first pass (it can be decoded again by seeking to `t`).
    """

    t: float
    gray: np.ndarray
    norm: np.ndarray
    is_key: bool
    source: Any = None
    _sharpness: float | None = field(default=None, repr=False)

    @property
    def sharpness(self) -> float:
        """Variance of the Laplacian of `gray`, computed on first use (few frames need it)."""
        if self._sharpness is None:
            self._sharpness = sharpness(self.gray)
        return self._sharpness
