"""Incremental builds: a new screen state that only adds content to the old one.

The cells that changed must all have been background (no ink) in the old state, and hold ink in
the new one; a change that touches the old content (a new title, a replaced figure) is a new
slide. A pointer's worth of changed cells on old content is tolerated (10% for big builds): a
new line drawn just below an old one can share a cell with it, and the edge of a webcam
picture beside it moves now and then (seen on the 2-hour bench video).
"""

from __future__ import annotations

import numpy as np

from ..frames import cell_detail
from .cells import ChangeMeter

BACKGROUND = 0.05  # cell detail (std, in units of ink contrast) below which a cell holds no ink
TOUCHED_TOLERANCE = 0.1  # fraction of changed cells that may have held old ink


def is_build(old: np.ndarray, new: np.ndarray, meter: ChangeMeter) -> bool:
    """True if normalised frame `new` is `old` with content added and nothing removed."""
    changed = meter.content_cells(meter.changed(old, new))
    if not changed.any():
        return False
    old_detail, new_detail = cell_detail(old, meter.grid), cell_detail(new, meter.grid)
    floor = BACKGROUND + 2.0 * float(np.percentile(old_detail, 20))
    touched = changed & (old_detail > floor)
    inked = changed & (new_detail > floor)
    allowed = max(meter.pointer_cells, int(TOUCHED_TOLERANCE * changed.sum()))
    return touched.sum() <= allowed and inked.sum() >= 0.5 * changed.sum()
