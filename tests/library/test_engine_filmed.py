"""A video counts as filmed (a camera on a screen: the picture drifts, colours are soft) when most
of its keyframe pairs of one still screen show the camera's drift, not when one pair does. The
call decides how the build test reads colour (builds.filmed_step): an unfilmed video judged
filmed took recoloured noise for new content (issue #10, noise seed 60: an extra slide)."""

from __future__ import annotations

import cv2
import numpy as np

from support.engine_clips import page
from slidecast.detect.cells import ChangeMeter
from slidecast.frames import analysis_size

SIZE = analysis_size(640, 360)


def keyframe(grey: np.ndarray, shift: float, rng: np.random.Generator) -> np.ndarray:
    """The page as one keyframe sees it: moved right by `shift` pixels, sensor noise drawn afresh."""
    moved = cv2.warpAffine(grey, np.float32([[1, 0, shift], [0, 1, 0]]), SIZE,
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    noisy = moved.astype(np.float32) + rng.normal(0, 1.0, moved.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def meter_after(shifts: list[float]) -> ChangeMeter:
    """A meter that has read consecutive keyframes of one still page, each moved by its shift."""
    rng = np.random.default_rng(7)
    grey = cv2.resize(cv2.cvtColor(page("cuerna-1"), cv2.COLOR_RGB2GRAY), SIZE, interpolation=cv2.INTER_AREA)
    meter = ChangeMeter()
    frames = [meter.normalise(keyframe(grey, s, rng)) for s in shifts]
    for a, b in zip(frames, frames[1:]):
        meter.learn_redraw([meter.redraw_level(a, b, meter.diff(a, b))])
    return meter


def test_a_screen_that_drifts_between_most_keyframes_is_filmed():
    meter = meter_after([0.0, 0.8, 0.0, 0.8, 0.0, 0.8])
    assert meter.moved_pairs >= 3 and meter.filmed


def test_one_keyframe_pair_that_moved_does_not_make_a_still_screen_filmed():
    # One jolt among nine still pairs: noise or a chance reading, not a camera.
    meter = meter_after([0.0] * 9 + [0.8])
    assert not meter.filmed
    assert meter.moved_pairs == 1 and meter.shifted_pairs > 2
