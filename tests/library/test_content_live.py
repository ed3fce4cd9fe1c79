"""A webcam tile on the slide (picture-in-picture): what OCR reads under it or clipped at its
edge is not what the slide says. The engine reports the tile as a live region of each slide;
words there stay in `words` marked live and are left out of text and title."""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from slidecast import content, extract
from slidecast.options import ExtractOptions
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo, validate
from slidecast.synthetic import CLIP_NAMES
from slidecast.synthetic.effects import Webcam
from slidecast.synthetic.slides import deck_style, render_slide, slide_content
from support.engine_clips import ENGINE_ONLY, extract_fast, page

SIZE = (960, 540)


def read(out: Path, image: np.ndarray, live: list[list[int]]) -> SlideEntry:
    """content.ocr_slides on one slide picture with these live regions."""
    (out / "slides").mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(out / "slides/001.png")
    slide = SlideEntry(1, 0.0, 10.0, "slides/001.png", "thumbs/001.jpg", live_regions=live)
    manifest = Manifest(VideoInfo(10.0, 25.0, *SIZE, "0" * 64), [slide])
    content.ocr_slides(manifest, out, ExtractOptions(workers=1), lambda *_: None)
    validate(manifest.to_dict())
    return slide


def test_words_clipped_by_a_webcam_tile_are_not_in_the_title_or_text(tmp_path):
    style = deck_style(3)
    image, _ = render_slide(slide_content(3, 2, style), style, SIZE)
    clean = read(tmp_path / "clean", image, [])
    first = next(w for w in clean.words if w["text"] == clean.title.split()[0])
    # A webcam tile over the left half of the title's first word, as a picture-in-picture.
    x0, y0, x1, y1 = first["box"]
    tile = [0, max(0, y0 - 40), (x0 + x1) // 2, y1 + 40]
    covered = image.copy()
    covered[tile[1]:tile[3], tile[0]:tile[2]] = (120, 100, 90)
    slide = read(tmp_path / "covered", covered, [tile])
    assert slide.title.split() == clean.title.split()[1:]
    assert first["text"] not in slide.text.split()
    at_tile = [w for w in slide.words if w["box"][0] < tile[2] and w["box"][1] < tile[3] and w["box"][3] > tile[1]]
    assert at_tile and all(w["live"] for w in at_tile)  # kept in words (the PDF's text layer)
    body = set(clean.text.split()) - set(clean.title.split())
    assert len(set(slide.text.split()) & body) >= 0.9 * len(body)


def test_the_manifest_reports_the_webcam_tile_of_a_picture_in_picture(engine_clip, tmp_path):
    video, _ = engine_clip("webcam")
    manifest = extract_fast(video, tmp_path / "out")
    cam = Webcam(640, 360, CLIP_NAMES.index("webcam"))  # the clip's own tile (640x360, no crop)
    tile = (cam.x, cam.y, cam.x + cam.w, cam.y + cam.h)
    cell = 640 // 32  # the detection grid's cell
    for slide in manifest.slides:
        assert len(slide.live_regions) == 1
        x0, y0, x1, y1 = slide.live_regions[0]
        # On the tile (to within a cell), holding its middle, where the speaker moves.
        assert tile[0] - cell <= x0 < x1 <= tile[2] + cell and tile[1] - cell <= y0 < y1 <= tile[3] + cell
        assert x0 <= (tile[0] + tile[2]) / 2 <= x1 and y0 <= (tile[1] + tile[3]) / 2 <= y1


def test_slides_with_nothing_live_on_them_report_no_live_region(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    manifest = extract_fast(video, tmp_path / "out")
    assert all(slide.live_regions == [] for slide in manifest.slides)


def _meets(box, rect) -> bool:
    return box[0] < rect[2] and rect[0] < box[2] and box[1] < rect[3] and rect[1] < box[3]


def test_a_webcam_tile_that_moves_hides_only_the_words_under_it_on_each_slide(real_clip, tmp_path):
    # The face sits on the right of the page until 13 s, then on the left ("face" clip). The
    # whole video's live mask holds both places; each slide's text must keep the words where
    # the tile is not while that slide is on screen, and lose the words under it.
    video, clip = real_clip("face")
    manifest = extract(video, tmp_path / "out", {**ENGINE_ONLY, "ocr": True})
    x, y, w, h = clip.face.box
    (nx, ny), cell = clip.face.moves_to, clip.size[0] // 32
    right, left = (x, y, x + w, y + h), (nx, ny, nx + w, ny + h)
    first, last = manifest.slides[0], manifest.slides[-1]
    assert first.end < clip.face.move_at < clip.face.move_at + 1 < last.start
    under = []
    for slide, shot, tile, away in ((first, clip.shots[0], right, left), (last, clip.shots[-1], left, right)):
        # Word boxes are in the slide picture's pixels; the picture leaves out the page's dark border.
        picture = cv2.cvtColor(cv2.imread(str(tmp_path / "out" / slide.image)), cv2.COLOR_BGR2GRAY)
        dx, dy = _picture_offset(picture, cv2.cvtColor(page(shot.page), cv2.COLOR_RGB2GRAY))
        tile, away = _moved(tile, -dx, -dy), _moved(away, -dx, -dy)
        near = (tile[0] - cell, tile[1] - cell, tile[2] + cell, tile[3] + cell)
        under += [word for word in slide.words if _meets(word["box"], tile)]
        clear = [word for word in slide.words if _meets(word["box"], away) and not _meets(word["box"], near)
                 and not word.get("chrome")]
        assert len(clear) >= 2 and not any(word["live"] for word in clear), (slide.index, clear)
        assert all(word["text"] in slide.text.split() for word in clear), (slide.index, slide.text)
    # Words clipped by the tile's edge ("llet" of "bullet") are read; they are not the slide's.
    assert under and all(word["live"] for word in under), under


def _moved(box, dx: int, dy: int):
    return box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy


def _picture_offset(picture: np.ndarray, screen: np.ndarray) -> tuple[int, int]:
    """Where the slide picture (a crop of the screen, maybe without the page's dark border)
    sits on the screen: its top-left part, away from a tile on the right, found there."""
    part = picture[:120, :200]
    scores = cv2.matchTemplate(screen, part, cv2.TM_SQDIFF)
    _, _, best, _ = cv2.minMaxLoc(scores)
    return best


def test_words_just_beside_a_webcam_tile_are_the_slides_text(real_clip, tmp_path):
    # The realism bench's camera tile (the head tilts: the picture changes up to the tile's
    # border) next to lines of the slide. The engine's live mask is the tile's grid cells and
    # two cells more all round; words in that margin are not under the tile, they are what
    # the slide says. Words under the tile or clipped by its edge stay out.
    video, clip = real_clip("face-tilting")
    out = tmp_path / "out"
    manifest = extract(video, out, {**ENGINE_ONLY, "ocr": True})
    x, y, w, h = clip.face.box
    cell = clip.size[0] // 32
    beside, under = [], []
    for slide, shot in zip(manifest.slides, clip.shots):
        picture = cv2.cvtColor(cv2.imread(str(out / slide.image)), cv2.COLOR_BGR2GRAY)
        dx, dy = _picture_offset(picture, cv2.cvtColor(page(shot.page), cv2.COLOR_RGB2GRAY))
        tile = (x - dx, y - dy, x + w - dx, y + h - dy)
        clear = (tile[0] - 6, tile[1] - 6, tile[2] + 6, tile[3] + 6)
        margin = (tile[0] - 2 * cell, tile[1] - 2 * cell, tile[2] + 2 * cell, tile[3] + 2 * cell)
        under += [word for word in slide.words if _meets(word["box"], tile)]
        near = [word for word in slide.words if _meets(word["box"], margin) and not _meets(word["box"], clear)
                and not word.get("chrome")]
        assert all(word["text"] in slide.text.split() for word in near), (slide.index, near, slide.text)
        beside += near
    assert len(beside) >= 3 and not any(word["live"] for word in beside), beside
    assert under and all(word["live"] for word in under), under


def test_half_words_at_the_quiet_edge_of_a_webcam_tile_stay_out_of_the_text(real_clip, tmp_path):
    # A person in front of a black wall, on a black slide: the tile's left edge cuts lines of
    # the slide ("Sometimes, the logos have to be c|hanged"), but neither moves nor shows as a
    # step of the picture. The tile's box cannot be cut to that edge, so the pieces of words
    # the wall cuts off stay live, not read as the slide's words.
    video, clip = real_clip("face-wall")
    out = tmp_path / "out"
    manifest = extract(video, out, {**ENGINE_ONLY, "ocr": True})
    x, y, w, h = clip.face.box
    cut = []
    for slide, shot in zip(manifest.slides, clip.shots):
        picture = cv2.cvtColor(cv2.imread(str(out / slide.image)), cv2.COLOR_BGR2GRAY)
        dx, dy = _picture_offset(picture, cv2.cvtColor(page(shot.page), cv2.COLOR_RGB2GRAY))
        edge, top, bottom = x - dx, y - dy, y + h - dy
        at_edge = [word for word in slide.words
                   if word["box"][2] >= edge - 4 and word["box"][0] < edge and word["box"][1] < bottom
                   and word["box"][3] > top]
        assert all(word["live"] for word in at_edge), (slide.index, at_edge)
        cut += at_edge
    assert len(cut) >= 2, cut
