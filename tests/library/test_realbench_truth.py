"""The realism bench's ground truth (bench/real): which page change is a build, and how page
changes become appearances, transitions and returns."""

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "real"))
import pages  # noqa: E402
import timeline  # noqa: E402


def page(tmp_path, name, lines, band=(60, 60, 60)):
    """A 4:3 page: a title band and one text line per entry of `lines` (y positions)."""
    image = np.full((768, 1024, 3), 245, np.uint8)
    cv2.rectangle(image, (0, 0), (1024, 90), band, -1)
    for y in lines:
        cv2.putText(image, "A line of slide text", (60, y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (20, 20, 20), 3)
    path = tmp_path / f"{name}.png"
    cv2.imwrite(str(path), image)
    return path


def test_a_page_that_only_adds_a_line_is_a_build_and_one_that_removes_or_recolours_is_not(tmp_path):
    one, two = page(tmp_path, "one", [200]), page(tmp_path, "two", [200, 300])
    assert pages.compare(one, two)["build"]
    assert not pages.compare(two, one)["build"]  # a line disappears
    other_band = page(tmp_path, "band", [200, 300], band=(200, 40, 40))
    assert not pages.compare(one, other_band)["build"]  # the title band changes colour
    assert pages.compare(two, page(tmp_path, "again", [200, 300]))["same"]


def test_builds_join_an_appearance_and_a_return_names_the_first_one():
    item = timeline.Item
    items = [item(1, Path("p1"), 5.0), item(2, Path("p2"), 4.0, build=True),
             item(3, Path("p3"), 6.0, transition="fade", transition_seconds=1.0),
             item(2, Path("p2"), 3.0, is_return=True)]
    truth = timeline.truth(items, fps=25)
    assert truth["transitions"] == [9.0, 15.0] and truth["build_transitions"] == [5.0]
    assert [(a["start"], a["end"], a["pages"]) for a in truth["appearances"]] == [
        (0.0, 9.0, [1, 2]), (9.0, 15.0, [3]), (15.0, 18.0, [2])]
    assert [a["same_as_appearance"] for a in truth["appearances"]] == [None, None, 1]
    assert truth["duration"] == 18.0


def test_a_change_to_the_same_picture_is_not_scored_but_one_digit_is():
    # Pages 5 and 8 of a deck can be one picture: going from one to the other shows nothing, so
    # the scorer joins their appearances (and the later return to page 8 is a return to them);
    # a change of a few pixels (a page number, one digit) stays a change to find.
    item = timeline.Item
    items = [item(1, Path("p1"), 5.0), item(5, Path("p5"), 4.0), item(8, Path("p8"), 6.0),
             item(9, Path("p9"), 4.0), item(8, Path("p8"), 3.0, is_return=True)]
    for it, changed in zip(items[1:], [0.3, 0.0, 0.3, 0.3]):
        it.changed = changed
    truth = timeline.truth(items, fps=25)
    seen = timeline.as_seen(truth)
    assert seen["unseen_changes"] == [9.0] and seen["transitions"] == [5.0, 15.0, 19.0]
    assert [(a["start"], a["end"], a["pages"]) for a in seen["appearances"]] == [
        (0.0, 5.0, [1]), (5.0, 15.0, [5, 8]), (15.0, 19.0, [9]), (19.0, 22.0, [8])]
    assert [a["same_as_appearance"] for a in seen["appearances"]] == [None, None, None, 2]
    items[2].changed = 0.00002  # the page number differs: three pixels at the comparison size
    assert timeline.as_seen(timeline.truth(items, fps=25))["transitions"] == [5.0, 9.0, 15.0, 19.0]
