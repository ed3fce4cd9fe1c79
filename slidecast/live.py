"""Live regions (a webcam picture-in-picture, a video playing on the slide, --ignore regions)
as boxes in a slide picture's pixels, for the manifest.

Detection knows them as a cell mask over the content area (detect/live_regions.py, widened by a
cell); OCR needs them on the slide picture, where words under or clipped by a webcam tile are
not what the slide says (ocr/live.py).
"""

from __future__ import annotations

import cv2
import numpy as np

# A region must lie at least this much on the slide picture: a speaker view's camera tile is cut
# away with the picture's crop, and only the mask's one-cell widening grazes the slide.
ON_PICTURE = 0.5


def live_boxes(mask: np.ndarray, crop: tuple[int, int, int, int], picture: tuple[int, int, int, int],
               scale: tuple[float, float]) -> list[list[int]]:
    """[x0, y0, x1, y1] boxes in the slide picture's pixels, one per masked blob on it.

    `mask` is (rows, cols) over `crop` (analysis pixels); `picture` is the part of the frame
    the slide picture shows (analysis pixels); `scale` turns analysis into video pixels.
    """
    rows, cols = mask.shape
    if not mask.any():
        return []
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    cell_w, cell_h = (crop[2] - crop[0]) / cols, (crop[3] - crop[1]) / rows
    boxes = []
    for x, y, w, h, _ in stats[1:count]:
        box = (crop[0] + x * cell_w, crop[1] + y * cell_h, crop[0] + (x + w) * cell_w, crop[1] + (y + h) * cell_h)
        inside = _clip(box, picture)
        if inside is None or _area(inside) < ON_PICTURE * _area(box):
            continue
        sx, sy = scale
        boxes.append([round((inside[0] - picture[0]) * sx), round((inside[1] - picture[1]) * sy),
                      round((inside[2] - picture[0]) * sx), round((inside[3] - picture[1]) * sy)])
    return boxes


def _clip(box, bounds):
    x0, y0 = max(box[0], bounds[0]), max(box[1], bounds[1])
    x1, y1 = min(box[2], bounds[2]), min(box[3], bounds[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _area(box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])
