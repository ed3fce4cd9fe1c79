"""Live regions of each slide picture (a webcam picture-in-picture, a video playing on the
slide, --ignore regions) as boxes in its pixels, for the manifest.

Detection knows them as one cell mask over the content area for the whole video
(detect/live_regions.py, widened by a cell): a speaker tile that moves once is live in both of
its places. A slide picture shows the tile in one place only, and the other place shows the
slide: its words are what the slide says. So each detected region (a blob of the mask) counts
for a slide only if it moves while that slide's picture is on screen (`live_cells`: a few
frames around the picture's time); --ignore regions count on every slide. OCR needs the
regions on the slide picture, where words under or clipped by a webcam tile are not what the
slide says (ocr/live.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from .detect.cells import ChangeMeter
from .frames import ROBUST_QUANTILE, normalise
from .video import RunSampler, VideoMeta

# Whether a region moves while a slide picture is on screen is judged on FRAMES frames spread
# over at most WINDOW seconds of the picture's screen state around the picture's time, EDGE
# seconds in from the state's ends (a transition there moves every cell). A face can hold
# still for a second (the learning runs of detect/live_regions.py vote over many runs for
# that reason); over a few seconds it sways or leans.
WINDOW = 3.0
FRAMES = 6
EDGE = 0.3
# A region moves when at least this share of its cells changed from the first frame in one of
# the others, beyond pointer-sized spots (a laser dot over an empty corner).
MOVING = 0.2
# A region must lie at least this much on the slide picture: a speaker view's camera tile is cut
# away with the picture's crop, and only the mask's one-cell widening grazes the slide.
ON_PICTURE = 0.5


def live_cells(meta: VideoMeta, size: tuple[int, int], meter: ChangeMeter, crop: tuple[int, int, int, int],
               picture: tuple[int, int, int, int], fixed: np.ndarray, keys: list[float],
               shown: list[tuple[float, float, float]]) -> list[np.ndarray]:
    """The cells of the live mask (`meter.mask`) live on each slide picture: `fixed` (the user's
    ignore regions) always, and each other blob of the mask that moves while the picture is on
    screen.

    `shown` holds each picture's (start, end, time): its screen state and the moment it was
    taken (video seconds); `size` is the analysis size, `crop` the content area in it and
    `picture` the part the slide pictures show (a blob off it, a speaker view's camera tile,
    is not judged: it has no box on the picture); `keys` are the keyframe times.
    A picture on which no blob moves (the speaker held still) takes the blobs that moved on the
    nearest pictures before and after it on which one did: a tile stays where it is until it
    moves, and between its last sighting in one place and its first in the next it may be in
    either. With no movement seen at all every blob counts, as for the whole video.
    """
    count, labels = cv2.connectedComponents((meter.mask & ~fixed).astype(np.uint8), connectivity=8)
    blobs = [labels == k for k in range(1, count)]
    blobs = [blob for blob in blobs if live_boxes(blob, crop, picture, (1.0, 1.0))]
    if len(blobs) < 2:
        # One blob is on every picture whatever is seen (a picture where it does not move takes
        # its neighbours'): no frame needs decoding for it.
        return [fixed | blobs[0] if blobs else fixed.copy() for _ in shown]
    judge = ChangeMeter(grid=meter.grid)  # the video's learnt threshold and noise cap, no mask
    judge.set_base(meter.base)
    judge.noise_cap = meter.noise_cap
    with RunSampler(meta, size) as sampler:  # one container for every picture's frames
        seen = [_moving(judge, sampler, crop, blobs, keys, *s) for s in shown]
    out = []
    for i, moving in enumerate(seen):
        if not moving:
            before = next((m for m in reversed(seen[:i]) if m), set())
            after = next((m for m in seen[i + 1:] if m), set())
            moving = (before | after) or set(range(len(blobs)))
        cells = fixed.copy()
        for k in moving:
            cells |= blobs[k]
        out.append(cells)
    return out


def _moving(judge: ChangeMeter, sampler: RunSampler, crop, blobs: list[np.ndarray], keys: list[float],
            start: float, end: float, t: float) -> set[int]:
    """Indexes of the blobs that move in frames spread around time `t` within [start, end]."""
    lo, hi = _window(start, end, t, keys)
    run = sampler.run(lo, hi - lo, max((hi - lo) / (FRAMES - 1), 1e-3))
    if len(run) < 2:
        return set()
    x0, y0, x1, y1 = crop
    norms = [normalise(gray[y0:y1, x0:x1], quantile=ROBUST_QUANTILE) for gray in run]
    moved = np.logical_or.reduce([judge.content_cells(judge.changed(norms[0], n)) for n in norms[1:]])
    return {k for k, blob in enumerate(blobs) if moved[blob].mean() >= MOVING}


def _window(start: float, end: float, t: float, keys: list[float]) -> tuple[float, float]:
    """The stretch of [start, end] whose frames tell whether a region moves around time `t`."""
    lo, hi = start + EDGE, end - EDGE
    if hi - lo < 2 * EDGE:
        lo, hi = start, end
    # Frames are decoded from the keyframe at or before the stretch: one opening at a keyframe
    # inside the state costs its own frames only (a quarter less CPU on trigon-letterbox). It
    # must hold the picture's time: the tile may have moved since the keyframe (metropolis-pip's
    # picture at 145.4 s shows it in the corner it leaves by the keyframe at 146 s).
    inside = [k for k in keys if max(lo, t - WINDOW) <= k <= min(t, hi - WINDOW / 2)]
    if inside:
        k = max(inside)
        return k, min(hi, k + WINDOW)
    lo = max(lo, min(t - WINDOW / 2, hi - WINDOW))
    return lo, min(hi, lo + WINDOW)


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
