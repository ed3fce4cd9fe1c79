"""The return judge's shortlist (slidecast/detect/return_index.py): from each distinct slide's
cell colours, which earlier slides a new slide may show again. A page shown again must stay on
it whatever the camera and the encoder did to its picture, or its return goes unlinked; other
pages of the same template drop off it, so a long lecture is not judged pair by pair."""

from __future__ import annotations

import cv2
import numpy as np

from support.engine_clips import page
from slidecast.detect.return_index import ReturnIndex

DECK = ["b2t-8", "b2t-9", "b2t-10", "b2t-29", "b2t-35", "b2t-41"]  # one beamer template


def picture(name: str) -> np.ndarray:
    """The page as the engine keeps a slide's colour picture: 480 px wide."""
    rgb = page(name)
    return cv2.resize(rgb, (480, round(rgb.shape[0] * 480 / rgb.shape[1])), interpolation=cv2.INTER_AREA)


def filmed_again(rgb: np.ndarray, gain: float, seed: int) -> np.ndarray:
    """The picture after a camera's gain step (the paper clipped at white), sensor noise and a
    laser pointer's dot."""
    noise = np.random.default_rng(seed).normal(0.0, 8.0, rgb.shape)
    again = np.clip(rgb.astype(np.float64) * gain + noise, 0, 255).astype(np.uint8)
    cv2.circle(again, (300, 150), 6, (255, 40, 40), -1)
    return again


def deck_index() -> ReturnIndex:
    index = ReturnIndex(np.zeros((9, 16), bool))
    for name in DECK:
        index.add(picture(name))
    return index


def test_a_page_shown_again_through_an_exposure_step_noise_and_a_pointer_is_a_candidate_and_only_it():
    index = deck_index()
    for k, name in enumerate(DECK):
        for gain in (0.85, 1.0, 1.2):
            shortlist = index.possible(filmed_again(picture(name), gain, seed=k))
            assert shortlist == [j == k for j in range(len(DECK))], (name, gain)


def test_a_slide_without_a_colour_picture_is_judged_against_every_earlier_slide():
    index = deck_index()
    index.add(None)
    assert index.possible(None) == [True] * (len(DECK) + 1)
    assert index.possible(picture(DECK[0]))[-1] is True


def test_a_masked_webcam_tile_does_not_take_a_page_off_the_shortlist():
    mask = np.zeros((9, 16), bool)
    mask[5:, 11:] = True  # the lower right corner: a picture-in-picture
    index = ReturnIndex(mask)
    for name in DECK:
        index.add(picture(name))
    again = picture(DECK[3]).copy()
    h, w = again.shape[:2]
    again[h * 5 // 9 + 12:, w * 11 // 16 + 12:] = page("astronaut-face")[:1, :1]  # a face's colour
    assert index.possible(again) == [j == 3 for j in range(len(DECK))]
