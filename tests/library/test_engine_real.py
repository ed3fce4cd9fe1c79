"""The engine on clips made of real published slide pages (tests/data/real_pages), one clip per
failure class of issue #10, at default settings: every page change is found once, nothing else.

The clips (engine_clips.REAL_CLIPS) are rendered at test time with PyAV; their truth comes from
which page is on screen when (a crossfade counts at its middle).
"""

from __future__ import annotations

import json

import cv2
import pytest

from support.engine_clips import ENGINE_ONLY, extract_fast, unmatched
from slidecast.pipeline import extract
from slidecast.cli import main as cli_main


def changes(manifest) -> list[float]:
    return [slide.start for slide in manifest.slides[1:]]


@pytest.mark.parametrize("name", ["template", "face", "noisy", "builds", "speaker", "speaker16", "short-pip",
                                  "slow-fades", "fade-then-keyframe", "section-word", "overlays-gop10",
                                  "pushes-two-decks", "push-then-build"])
def test_every_page_change_is_found_once(name, real_clip, tmp_path):
    video, clip = real_clip(name)
    manifest = extract_fast(video, tmp_path / "out")
    missed, extra = unmatched(clip.transitions(), changes(manifest))
    assert (missed, extra) == ([], []), f"{name}: missed {missed}, extra {extra}"


def test_slides_of_one_template_that_differ_only_in_their_body_are_different_slides(real_clip, tmp_path):
    # Same title bar, sidebar picture and footer; the cut at 13 s and the fades between them.
    video, clip = real_clip("template")
    manifest = extract_fast(video, tmp_path / "out")
    assert len(manifest.slides) == len(clip.shots)
    assert [s.same_as for s in manifest.slides][:5] == [None, None, None, 2, 1]


def test_going_back_to_fewer_items_is_a_new_slide_and_each_step_is_kept_on_request(real_clip, tmp_path):
    video, clip = real_clip("builds")
    merged = extract_fast(video, tmp_path / "merged")
    # 0-10 s: one item, two, three (one slide); 10 s: back to one item, a slide of its own.
    assert changes(merged)[0] == pytest.approx(10.0, abs=0.5)
    every_step = extract_fast(video, tmp_path / "steps", keep_builds=True)
    assert unmatched(clip.transitions(builds=True), changes(every_step)) == ([], [])


def test_a_moving_face_gives_no_slide_of_its_own_at_any_sensitivity(real_clip, tmp_path):
    video, clip = real_clip("face")
    for sensitivity in (0.3, 0.7):
        manifest = extract_fast(video, tmp_path / f"s{sensitivity}", sensitivity=sensitivity)
        assert unmatched(clip.transitions(), changes(manifest)) == ([], []), sensitivity


@pytest.mark.parametrize("name", ["template", "noisy", "builds", "speaker"])
def test_a_higher_sensitivity_never_finds_fewer_changes(name, real_clip, tmp_path):
    video, _ = real_clip(name)
    counts = [len(extract_fast(video, tmp_path / f"s{s}", sensitivity=s).slides)
              for s in (0.1, 0.3, 0.5, 0.7, 0.9)]
    assert counts == sorted(counts), f"slides found at sensitivity 0.1..0.9: {counts}"


def test_explain_lists_a_rejected_build_step_with_its_rule(real_clip, tmp_path):
    video, clip = real_clip("builds")
    out = tmp_path / "out"
    code = cli_main(["extract", str(video), "--out", str(out), "--no-ocr", "--no-pdf", "--no-notes",
                     "--no-subtitles", "--quiet", "--explain"])
    assert code == 0
    candidates = json.loads((out / "explain.json").read_text())["candidates"]
    steps = [t for t in clip.transitions(builds=True) if t not in clip.transitions()]
    for step in steps:
        near = [c for c in candidates if abs(c["time"] - step) <= 0.5]
        assert [(c["rule"], c["accepted"]) for c in near] == [("build", False)], step
        assert near[0]["measures"]["content_cells"] > 0 and "--keep-builds" in near[0]["detail"]
    accepted = [c["time"] for c in candidates if c["accepted"]]
    assert unmatched(clip.transitions(), accepted) == ([], [])


def test_explain_says_when_a_page_was_shown_too_briefly(real_clip, tmp_path):
    # Pages change every 4 s; with --min-duration 5 a page alone is too short to be a slide.
    video, clip = real_clip("speaker16")
    out = tmp_path / "out"
    code = cli_main(["extract", str(video), "--out", str(out), "--no-ocr", "--no-pdf", "--no-notes",
                     "--no-subtitles", "--quiet", "--explain", "--min-duration", "5"])
    assert code == 0
    starts = [s["start"] for s in json.loads((out / "manifest.json").read_text())["slides"]]
    candidates = json.loads((out / "explain.json").read_text())["candidates"]
    short = [c for c in candidates if c["rule"] == "too short"]
    assert short and len(starts) < len(clip.shots)
    for c in short:
        assert not c["accepted"] and 3.5 < c["measures"]["shown_seconds"] < 5


# A dark theme's margin is as dark as the backdrop around it and goes with it (speaker16).
@pytest.mark.parametrize("name, least", [("speaker", 0.95), ("speaker16", 0.8)])
def test_a_speaker_views_slide_pictures_show_the_slide_without_the_camera_tile(name, least, real_clip, tmp_path):
    video, clip = real_clip(name)
    out = tmp_path / "out"
    manifest = extract_fast(video, out)
    x, y, w, h = clip.slide_box
    tile_x = clip.face.box[0]
    for slide in manifest.slides:
        picture = cv2.imread(str(out / slide.image))
        height, width = picture.shape[:2]
        # Not one column of the tile, and the page.
        assert least * w <= width <= tile_x - x, (slide.image, width)
        assert least * h <= height <= clip.size[1], (slide.image, height)


def test_a_mark_taken_away_in_a_video_without_a_pointer_is_a_new_slide_not_a_build(real_clip, tmp_path):
    # The circle around y gives way to a box around the formula, code lines are added: the two
    # arcs of the circle are pointer-sized, but nothing in this video is a pointer.
    video, clip = real_clip("ring")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])


def test_a_face_in_a_short_clip_with_few_keyframes_splits_no_slide_and_a_return_is_linked(real_clip, tmp_path):
    # 34 s, a keyframe every 10 s: the face must be learnt from few keyframes, in both corners.
    video, clip = real_clip("short-pip")
    out = tmp_path / "out"
    manifest = extract_fast(video, out)
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, 1, None, None]
    # The tile moved along the left edge over the slide: still a picture-in-picture, so every
    # slide picture shows the whole frame (less the dark theme's edge), not the part right of
    # the tile (70% of it).
    for slide in manifest.slides:
        assert cv2.imread(str(out / slide.image)).shape[1] >= 0.9 * clip.size[0], slide.image


def test_a_recoloured_line_beside_a_camera_tile_is_a_slide_change_and_the_first_page_comes_back(real_clip, tmp_path):
    # Metropolis overlays in a speaker view: a line turned from orange to black and a light
    # orange line added change a clean video's cells by 0.02-0.045 of the ink contrast, under
    # the threshold a noisy video needs; the threshold follows this video's own quiet level.
    video, clip = real_clip("overlays")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, 1]


def test_a_slide_shown_again_in_a_noisy_video_is_linked_and_its_twin_in_another_colour_is_not(real_clip, tmp_path):
    # Keyframes 12-24 s apart draw the returning pages with fresh encoder noise (faint all over
    # the page); the blue and the green page of one theme demo differ as faintly in grey.
    video, clip = real_clip("noisy-return")
    out = tmp_path / "out"
    manifest = extract(video, out, ENGINE_ONLY, explain=True)
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, 2, 1]
    returns = json.loads((out / "explain.json").read_text())["returns"]
    assert [(r["same_as"], r["rule"]) for r in returns][-2:] == [(2, "spread thin"), (1, "spread thin")]
    twin = returns[2]  # the green page against the blue one
    assert twin["same_as"] is None and twin["compared_with"] == 3 and twin["rule"] == "differs in colour"


def test_the_slides_do_not_depend_on_how_many_threads_decode_the_video(real_clip, tmp_path, monkeypatch):
    # The frames a decoder hands back when it is flushed at the end of a decoded stretch lost
    # their time (PyAV: NaN) and were dropped; a decoder with more threads holds more frames, so
    # a machine with more cores saw fewer frames before each keyframe and timed changes there
    # differently (6 threads: 3.8 s instead of 3.84 s for the cut at 3.88 s).
    video, clip = real_clip("late-cuts")
    found = {}
    for threads in ("1", "6"):
        monkeypatch.setenv("SLIDECAST_DECODE_THREADS", threads)
        manifest = extract_fast(video, tmp_path / threads)
        found[threads] = [(s.start, s.same_as, s.frame_time) for s in manifest.slides]
        assert unmatched(clip.transitions(), changes(manifest)) == ([], []), threads
    assert found["1"] == found["6"]
    assert [same_as for _, same_as, _ in found["1"]] == [None, None, None, None, 1]


def test_build_steps_on_a_filmed_projector_are_one_slide(real_clip, tmp_path):
    # The camera drifts and the new block shifts the frame's grey levels between two steps:
    # undone, the steps only add ink. With --keep-builds every step is its own slide.
    video, clip = real_clip("filmed-builds")
    merged = extract_fast(video, tmp_path / "merged")
    assert unmatched(clip.transitions(), changes(merged)) == ([], [])
    every_step = extract_fast(video, tmp_path / "steps", keep_builds=True)
    assert unmatched(clip.transitions(builds=True), changes(every_step)) == ([], [])


def test_pages_pushed_in_from_the_side_are_each_found_and_not_taken_for_live_video(real_clip, tmp_path):
    # Every push is a slide change, the pages that come back are linked, and no part of the
    # page is left out of the decisions as a live region.
    video, clip = real_clip("pushes")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, 2, 1, 3]
    assert [s.live_regions for s in manifest.slides] == [[]] * len(manifest.slides)


def test_a_pointers_faint_halo_in_a_clean_video_is_no_slide_change(real_clip, tmp_path):
    # Strong in 1-3 cells, faint around them: pointer-sized, though 5-6 cells pass the clean
    # video's lowered threshold.
    video, clip = real_clip("laser")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])


def test_a_noisy_videos_keyframes_drawing_the_noise_afresh_are_no_slide_changes(real_clip, tmp_path):
    # Between keyframes the noise stands still and the video looks as quiet as a clean one; two
    # keyframes of one page differ by their noise: a keyframe within twice that redraw level is
    # the same slide drawn afresh (cells.REDRAW_FACTOR).
    video, clip = real_clip("grain-keyframes")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, 1]


def test_build_steps_in_a_noisy_video_are_one_slide(real_clip, tmp_path):
    video, clip = real_clip("noisy-builds")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])


@pytest.mark.xfail(strict=True, reason="the noise floor's cap from keyframe redraws counts only keyframe pairs "
                   "that differ (docs/benchmarks.md, 'engine-val'): three of this clip's four are bit for bit "
                   "the same, so its floor is not capped; the failure class stays open")
def test_a4_pages_beside_a_moving_picture_in_picture_are_each_found_and_their_returns_linked(real_clip, tmp_path):
    # Pages of small text replaced by others (0.06-0.1 per cell), a tile in the black margin
    # that moves from the top to the bottom corner: the page change at 14 s hid in the pair's
    # noise floor (found only at the next keyframe, 2 s late), and page 38 coming back at 22 s
    # was then linked to page 40.
    video, clip = real_clip("a4-pip")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, 1, 2]


def test_a_gliding_tile_with_a_still_side_splits_no_slide_and_returns_are_linked(real_clip, tmp_path):
    # A tile whose right 40% is plain sky glides down the black margin at 16.5 s: only its left
    # side is live, and with its still right edge outside the mask the page changes at 8 and
    # 14 s were missed, the glide was taken for a slide and pages 38 and 39 (back at 22 and
    # 27 s) did not match their first appearances.
    video, clip = real_clip("a4-pip-sky")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, 1, 2]


def test_a_keyframe_that_draws_the_page_afresh_is_no_new_slide(real_clip, tmp_path):
    # The keyframe at 4 s redraws the first page's edges (the first keyframe's ringing): the
    # same page, not a slide of its own linked back to itself; the two pages that come back at
    # the end are linked to their first appearances.
    video, clip = real_clip("a4-redraw")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, 2, 1]


@pytest.mark.xfail(strict=True, reason="engine-pip's fix was reverted: with it the held-out split fell from "
                   "0.979 to 0.971 (docs/benchmarks.md, 'Stop 22'); the failure class stays open")
def test_one_digit_changed_in_a_video_without_pointer_or_webcam_is_a_new_slide(real_clip, tmp_path):
    # "Subsection 1.1" -> "1.2" at 11.3 s: pointer-sized, but nothing in this video is a pointer
    # or a webcam's edge; the page with 1.1 comes back at the end.
    video, clip = real_clip("digit")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, 1]


def test_crossfades_on_a_filmed_projector_are_not_taken_for_live_video(real_clip, tmp_path):
    # Three learning runs catch a fade mid-way; each of their frames is a mix of the run's first
    # and last, which a moving picture's are not. Nothing on this screen moves by itself: no
    # slide reports a live region (the words under one are flagged as the live video's, and
    # changes there go unseen), every change is found and page 10 coming back is linked.
    video, clip = real_clip("projector-fades")
    manifest = extract_fast(video, tmp_path / "out")
    assert [s.live_regions for s in manifest.slides] == [[]] * len(manifest.slides)
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, None, 3, None, None]


@pytest.mark.parametrize("name, links", [("gain-step-mid-page", [None, None, None, 1, None]),
                                         ("gain-step-return", [None, None, None, None, 1]),
                                         ("gain-steps-up-and-down", [None, None, None, None, 1])])
def test_a_gain_step_that_clips_the_paper_is_no_slide_change_and_a_page_after_it_links_back(
        name, links, real_clip, tmp_path):
    # Small text lightens against paper already at white: no pixel changes colour beyond what
    # the camera's gain and clipping explain, mid-page, before a return, or a step up then one
    # down (which brings back what the brighter picture clipped).
    video, clip = real_clip(name)
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == links


def test_a_page_shown_again_after_exposure_steps_in_a_noisy_video_is_linked(real_clip, tmp_path):
    # In a video that is not filmed the colour check decides a return, also where grey cells
    # pass the old base: the two pictures differ in colour by noise only.
    video, clip = real_clip("noisy-exposure-return")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, None, None, 1, None]


def test_a_line_recoloured_on_a_filmed_projector_is_a_new_slide_and_a_subtitle_added_a_build(real_clip, tmp_path):
    # Filmed text is faint (grey 120-170 on a 188 slide): the colour check measures what was
    # taken away against the picture's own ink contrast. Each overlay step that recolours a
    # line is a slide; the subtitle added to the focus page stays one slide with it; page 16
    # coming back at the end is linked.
    video, clip = real_clip("projector-alert")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, None, 1]


def test_a_gain_step_that_clips_the_whites_of_a_noisy_video_is_no_slide_change(real_clip, tmp_path):
    # Faint all over and nowhere past the base threshold a noisy video keeps: the camera's
    # exposure, not a new page. Every page change is found and page 38 coming back is linked.
    video, clip = real_clip("noisy-gain-step")
    manifest = extract_fast(video, tmp_path / "out")
    assert unmatched(clip.transitions(), changes(manifest)) == ([], [])
    assert [s.same_as for s in manifest.slides] == [None, None, None, 1]
