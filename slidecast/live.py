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
# A lone tile (one blob) is on every picture, and every picture takes the median of the edges
# its pictures' frames showed (live_regions): frames of at most EDGE_PICTURES pictures, spread
# over the video, are decoded for that median (each picture's cost a few seconds of video: a
# fifth of the engine's time on a 20-minute talk of 45 slides).
EDGE_PICTURES = 12
# A region must lie at least this much on the slide picture: a speaker view's camera tile is cut
# away with the picture's crop, and only the mask's one-cell widening grazes the slide.
ON_PICTURE = 0.5
# A tile's own edges (tile_edges), on frames at the video's size blurred 3x3: a pixel moved when
# it changed by more than STEP grey levels from the first frame (sensor noise and a webcam's
# auto exposure stay under it). An edge is where the outermost change of at least STRAIGHT of
# the rows lies within EDGE_PX of one line, in at least two thirds of the side (SPREAD of the
# rows of each); STRAY of the rows may change further out. Or a step of more than STEP across
# 2 x EDGE_PX pixels along at least LINE of the rows that change. The box keeps PAD of the frame's
# width beyond the edge, so a glyph cut by the tile, which touches it, still meets the box.
STEP = 16
STRAIGHT = 0.25
EDGE_PX = 2
SPREAD = 0.1
STRAY = 0.05
LINE = 0.6
PAD = 0.004


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
    return [cells for cells, _ in _slide_blobs(meta, size, meter, crop, picture, fixed, keys, shown, None)]


def live_regions(meta: VideoMeta, size: tuple[int, int], meter: ChangeMeter, crop: tuple[int, int, int, int],
                 picture: tuple[int, int, int, int], fixed: np.ndarray, keys: list[float],
                 shown: list[tuple[float, float, float]]) -> list[list[list[int]]]:
    """Each slide picture's live regions as boxes in its pixels (`live_cells`, `live_boxes`),
    each detected tile's box cut to the tile's own edges where the frames around the picture's
    time show them (`tile_edges`): the mask's cells are coarse and widened by a margin for the
    engine, which took words beside a tile for words under it."""
    scale = (meta.width / size[0], meta.height / size[1])
    slides = _slide_blobs(meta, size, meter, crop, picture, fixed, keys, shown, scale)
    # A tile keeps its size and place while it is one blob: each side is where most of the
    # pictures' frames saw it (one window in which the photo's lower half held still saw a line
    # inside it, one on trigon-letterbox a step 57 px above the tile; the others saw the
    # border), and a picture on which it held still takes it too.
    seen: dict[int, list[tuple]] = {}
    for _, tiles in slides:
        for k, _, sides in tiles:
            if sides is not None:
                seen.setdefault(k, []).append(sides)
    out = []
    for cells, tiles in slides:
        boxes = live_boxes(cells, crop, picture, scale)
        for k, blob, _ in tiles:
            mine = live_boxes(blob, crop, picture, scale)
            if k in seen and len(mine) == 1 and mine[0] in boxes:
                tight = _typical(seen[k], _video_box(blob, crop, scale))
                boxes[boxes.index(mine[0])] = _in_picture(tight, mine[0], picture, scale)
        out.append(boxes)
    return out


def _typical(found: list[tuple], box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Each side of `box` at the median of the places it was seen (`found`: sides, None where
    not seen); a side never seen stays."""
    sides = [[side[i] for side in found if side[i] is not None] for i in range(4)]
    return tuple(int(np.floor(np.median(seen))) if seen and i < 2 else int(np.ceil(np.median(seen))) if seen
                 else box[i] for i, seen in enumerate(sides))


def _slide_blobs(meta, size, meter, crop, picture, fixed, keys, shown, scale):
    """(cells, tiles) per picture: the cells as `live_cells` describes; with `scale` (analysis
    to video pixels) each blob counted on it as (its number, its cells, the tile's sides in video
    pixels measured on the picture's frames, `tile_edges`), else no tiles."""
    count, labels = cv2.connectedComponents((meter.mask & ~fixed).astype(np.uint8), connectivity=8)
    blobs = [labels == k for k in range(1, count)]
    blobs = [blob for blob in blobs if live_boxes(blob, crop, picture, (1.0, 1.0))]
    if not blobs or (len(blobs) < 2 and scale is None):
        # One blob is on every picture whatever is seen (a picture where it does not move takes
        # its neighbours'): no frame needs decoding for it, unless its edges are wanted.
        return [(fixed | blobs[0] if blobs else fixed.copy(), []) for _ in shown]
    judge = ChangeMeter(grid=meter.grid)  # the video's learnt threshold and noise cap, no mask
    judge.set_base(meter.base)
    judge.noise_cap = meter.noise_cap
    seen, edges = [], []
    measured = _spread(len(shown), EDGE_PICTURES) if len(blobs) == 1 else range(len(shown))
    # One container for every picture's frames, decoded at the video's size when the tiles'
    # edges are wanted (the analysis frames are then those pixels shrunk, as small_gray does).
    with RunSampler(meta, (meta.width, meta.height) if scale else size) as sampler:
        for i, (start, end, t) in enumerate(shown):
            if i not in measured:  # a lone tile, on this picture as on every other
                seen.append({0})
                edges.append([None])
                continue
            run = _run(sampler, keys, start, end, t)
            small = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in run] if scale else run
            seen.append(_moving(judge, small, crop, blobs) if len(blobs) > 1 else {0})
            edges.append([tile_edges(run, _video_box(blob, crop, scale)) for blob in blobs] if scale else [])
    out = []
    for i, moving in enumerate(seen):
        if not moving:
            before = next((m for m in reversed(seen[:i]) if m), set())
            after = next((m for m in seen[i + 1:] if m), set())
            moving = (before | after) or set(range(len(blobs)))
        cells = fixed.copy()
        for k in moving:
            cells |= blobs[k]
        out.append((cells, [(k, blobs[k], edges[i][k]) for k in sorted(moving)] if scale else []))
    return out


def _spread(count: int, most: int) -> set[int]:
    """At most `most` of the indexes 0..count-1, evenly spread, first and last included."""
    return {int(round(k)) for k in np.linspace(0, count - 1, min(count, most))}


def _run(sampler: RunSampler, keys: list[float], start: float, end: float, t: float) -> list:
    """Frames spread around time `t` within [start, end]."""
    lo, hi = _window(start, end, t, keys)
    return sampler.run(lo, hi - lo, max((hi - lo) / (FRAMES - 1), 1e-3))


def _moving(judge: ChangeMeter, run: list, crop, blobs: list[np.ndarray]) -> set[int]:
    """Indexes of the blobs that move in `run` (analysis-size frames)."""
    if len(run) < 2:
        return set()
    x0, y0, x1, y1 = crop
    norms = [normalise(gray[y0:y1, x0:x1], quantile=ROBUST_QUANTILE) for gray in run]
    moved = np.logical_or.reduce([judge.content_cells(judge.changed(norms[0], n)) for n in norms[1:]])
    return {k for k, blob in enumerate(blobs) if moved[blob].mean() >= MOVING}


def tile_edges(run: list[np.ndarray], box: tuple[int, int, int, int]) -> tuple | None:
    """The sides (x0, y0, x1, y1, each None where not seen) of the tile moving inside `box` (in
    the frames' pixels), or None when the frames of `run` (grey, the video's size) show no
    movement there.

    Each side of `box` moves in to the tile's own edge where that edge is seen: a straight line
    on which the outermost change of many rows (columns) lies, in at least two thirds of the
    side (STRAIGHT, SPREAD), with the slide beside it still. A camera tile's picture changes
    right up to its border; a person in front of a still wall does not end in a straight line,
    nor does a tile whose border is quiet: those keep the mask's margin, where the wall or the
    border may hide half of a word.
    """
    height, width = run[0].shape[:2] if run else (0, 0)
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    if len(run) < 2 or x1 - x0 < 3 or y1 - y0 < 3:
        return None
    first = cv2.blur(run[0][y0:y1, x0:x1], (3, 3)).astype(np.int16)
    moved = np.zeros(first.shape, np.uint8)
    for frame in run[1:]:
        moved |= (np.abs(cv2.blur(frame[y0:y1, x0:x1], (3, 3)).astype(np.int16) - first) > STEP).astype(np.uint8)
    moved = cv2.morphologyEx(moved, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    if not moved.any():
        return None
    pad = max(2, round(PAD * width))
    left, top = _edge(moved, first), _edge(moved.T, first.T)
    right, bottom = _edge(moved[:, ::-1], first[:, ::-1]), _edge(moved.T[:, ::-1], first.T[:, ::-1])
    return (None if left is None else max(x0, x0 + left - pad), None if top is None else max(y0, y0 + top - pad),
            None if right is None else min(x1, x1 - right + pad),
            None if bottom is None else min(y1, y1 - bottom + pad))


def _edge(moved: np.ndarray, still: np.ndarray) -> int | None:
    """How far in from the left of `moved` (rows x columns) the tile's edge stands, or None
    when it is not seen; `still` is the first frame there (blurred, int16).

    Two ways to see it, the outer one wins: a straight line on which the outermost change of
    many rows lies (the picture changes up to the border), or a straight step of the picture
    along most of the rows that change (a still wall behind the speaker, against the slide),
    outside all change. A curve (a person's outline, in front of a wall the colour of the
    slide) is neither.
    """
    span = np.nonzero(moved.any(1))[0]
    moved, still = moved[span[0]:span[-1] + 1], still[span[0]:span[-1] + 1]
    changed = moved.any(1)
    outermost = moved.argmax(1)[changed]
    # A few rows changed further out (a pointer, compression around the tile) do not move it.
    edge = int(np.percentile(outermost, 100 * STRAY))
    on_edge = outermost <= edge + EDGE_PX
    thirds = [part.mean() for part in np.array_split(on_edge, 3) if len(part)]
    seen = [edge] if on_edge.mean() >= STRAIGHT and sum(share >= SPREAD for share in thirds) >= 2 else []
    steps = np.abs(still[:, :-2 * EDGE_PX] - still[:, 2 * EDGE_PX:]) > STEP  # column j: line j + EDGE_PX
    lines = np.nonzero(steps[:, :max(0, edge + 1 - EDGE_PX)].mean(0) >= LINE)[0]
    seen += [int(lines[0]) + EDGE_PX] if len(lines) else []
    return min(seen) if seen else None


def _video_box(blob: np.ndarray, crop, scale) -> tuple[int, int, int, int]:
    """The bounding box of a blob of cells in video pixels."""
    rows, cols = blob.shape
    ys, xs = np.nonzero(blob.any(1))[0], np.nonzero(blob.any(0))[0]
    cell_w, cell_h = (crop[2] - crop[0]) / cols, (crop[3] - crop[1]) / rows
    sx, sy = scale
    return (int(np.floor((crop[0] + xs[0] * cell_w) * sx)), int(np.floor((crop[1] + ys[0] * cell_h) * sy)),
            int(np.ceil((crop[0] + (xs[-1] + 1) * cell_w) * sx)), int(np.ceil((crop[1] + (ys[-1] + 1) * cell_h) * sy)))


def _in_picture(tight, coarse: list[int], picture, scale) -> list[int]:
    """A tile's box in video pixels as a box in the slide picture's pixels, inside `coarse`. A
    side of `coarse` on the picture's border stays: the tile may go on beyond the picture, and
    its edge there is not in view (a line inside the photo could be taken for it)."""
    ox, oy = picture[0] * scale[0], picture[1] * scale[1]
    width, height = round((picture[2] - picture[0]) * scale[0]), round((picture[3] - picture[1]) * scale[1])
    return [coarse[0] if coarse[0] <= 0 else max(coarse[0], round(tight[0] - ox)),
            coarse[1] if coarse[1] <= 0 else max(coarse[1], round(tight[1] - oy)),
            coarse[2] if coarse[2] >= width else min(coarse[2], round(tight[2] - ox)),
            coarse[3] if coarse[3] >= height else min(coarse[3], round(tight[3] - oy))]


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
