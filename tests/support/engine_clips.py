"""Clips for the engine tests, made once per test session: difficulty clips drawn by
slidecast.synthetic (`engine_clip`) and clips made of real published slide pages (`real_clip`,
REAL_CLIPS).

The `engine_clip` and `real_clip` fixtures reach every test through pytest_plugins
(tests/conftest.py); the clips are cached here, so every module shares the same files. Content
stages (OCR, PDF, notes, subtitles) are off in `extract_fast`: these tests are about finding
slides.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from slidecast.pipeline import extract
from slidecast.synthetic import effects as fx
from slidecast.synthetic import make_clip

ENGINE_ONLY = {"ocr": False, "pdf": False, "notes": False, "subtitles": False, "transcribe": False}


def made_once(tmp_path_factory, folder_name: str, make):
    """get(name): make(name, path) the first time a name is asked for, its result after.

    Under pytest-xdist the test processes share one folder, and a file lock lets one of them draw
    a clip that tests on both ask for (`cuts`, `builds`, `face`): the clips are most of the
    engine tests' time."""
    made: dict[str, tuple] = {}
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, shared by its worker processes
    folder = root / folder_name
    folder.mkdir(exist_ok=True)

    def get(name: str):
        if name not in made:
            made[name] = _made_by_one_process(folder, name, make)
        return made[name]

    return get


def _made_by_one_process(folder: Path, name: str, make):
    kept = folder / f"{name}.pickle"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if kept.exists():
            return pickle.loads(kept.read_bytes())
        result = make(name, folder / f"{name}.mp4")
        kept.with_suffix(".part").write_bytes(pickle.dumps(result))
        kept.with_suffix(".part").rename(kept)
        return result


@pytest.fixture(scope="session")
def engine_clip(tmp_path_factory):
    """engine_clip(name) -> (path, truth) of the named difficulty clip (see CLIP_NAMES)."""
    return made_once(tmp_path_factory, "engine-clips", lambda name, path: (path, make_clip(name, path)))


def extract_fast(video, out, **options):
    """extract() with the content stages off."""
    return extract(video, out, {**ENGINE_ONLY, **options})


def unmatched(expected: list[float], found: list[float], tolerance: float = 1.0):
    """(missed, extra): one-to-one matching of transition times within `tolerance`, closest first."""
    pairs = sorted((abs(e - f), i, j) for i, e in enumerate(expected) for j, f in enumerate(found)
                   if abs(e - f) <= tolerance)
    used_e, used_f = set(), set()
    for _, i, j in pairs:
        if i not in used_e and j not in used_f:
            used_e.add(i)
            used_f.add(j)
    missed = [e for i, e in enumerate(expected) if i not in used_e]
    extra = [round(f, 2) for j, f in enumerate(found) if j not in used_f]
    return missed, extra


# ---- clips made of real pages ----------------------------------------------------------------
# tests/data/real_pages holds a few pages of published beamer decks and a real photograph (see
# the README there). The clips below put them on screen the way the failure classes of issue
# #10 did: same-template decks, builds that go back, a moving face, speaker view, noise and
# exposure steps, crossfades. Only PyAV, OpenCV and NumPy are needed at test time.
PAGES = Path(__file__).resolve().parents[1] / "data" / "real_pages"


def page(name: str) -> np.ndarray:
    """An RGB page (or photo) of tests/data/real_pages, by file stem."""
    return cv2.cvtColor(cv2.imread(str(PAGES / f"{name}.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@dataclass
class Shot:
    """`page` on screen for `seconds`, entered by a crossfade of `fade` seconds or a push of
    `push` seconds (the new screen slides in from the right and pushes the old one out to the
    left, as bench/real's push), or a cut (both 0). `build` marks a step that only adds content
    to the shot before (merged by default)."""

    page: str
    seconds: float
    fade: float = 0.0
    build: bool = False
    push: float = 0.0

    @property
    def entering(self) -> float:
        """Seconds the transition into this shot takes (0: a cut)."""
        return self.fade or self.push


@dataclass
class Face:
    """The speaker's photo as a tile: `box` = (x, y, w, h) in pixels, swaying a few pixels all
    the time, leaning in (growing by `lean`) now and then, and moving to `moves_to` (x, y)
    at `move_at` seconds over one second; with `turn`, the head also tilts by up to that many
    degrees (the realism bench's tile, bench/real/scene.py): the picture then changes up to the
    tile's border. With `wall` (RGB), the person stands in front of a still wall of that colour:
    the photo shows only in an ellipse (head and shoulders), the tile's border does not move.
    With `still` (a fraction), that share of the tile on its right is plain sky, which never
    moves (bench/real's cameraman photo: the man on the left, sky on the right)."""

    box: tuple[int, int, int, int]
    lean: float = 0.12
    turn: float = 0.0
    wall: tuple[int, int, int] | None = None
    still: float = 0.0
    move_at: float | None = None
    moves_to: tuple[int, int] | None = None


@dataclass
class RealClip:
    shots: list[Shot]
    size: tuple[int, int] = (640, 360)
    slide_box: tuple[int, int, int, int] | None = None  # where the page goes; None: centred, fit
    face: Face | None = None
    noise: float = 0.0  # sensor noise, grey levels (sigma)
    colour_noise: float = 0.0  # sensor noise per colour channel (sigma), the realism bench's (effects.NoiseBank)
    flicker: float = 0.0  # gain amplitude of a 7 Hz-ish flicker
    exposure_steps: list[tuple[float, float]] = field(default_factory=list)  # (time, gain) from then
    fps: int = 25
    gop_seconds: float = 2.0
    seed: int = 1
    pointer: bool = False  # synthetic.effects.Pointer: an arrow that wanders and pauses, every other 7 s a laser dot
    filmed: bool = False  # the screen filmed by a camera (synthetic.effects.Camera: keystone, drift, blur)
    backdrop: tuple[int, int, int] = (0, 0, 0)  # RGB around the page (a speaker view's: bench/real's (30, 30, 34))

    def transitions(self, builds: bool = False) -> list[float]:
        """True change times: each shot's start (a crossfade's or push's middle); build steps
        only when `builds`."""
        out, t = [], 0.0
        for k, shot in enumerate(self.shots):
            if k and (builds or not shot.build):
                out.append(round(t + shot.entering / 2, 3))
            t += shot.seconds
        return out


def _fit(img: np.ndarray, box: tuple[int, int, int, int], canvas: np.ndarray) -> None:
    x, y, w, h = box
    ih, iw = img.shape[:2]
    scale = min(w / iw, h / ih)
    nw, nh = int(round(iw * scale)), int(round(ih * scale))
    ox, oy = x + (w - nw) // 2, y + (h - nh) // 2
    canvas[oy:oy + nh, ox:ox + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)


def _pushed(old: np.ndarray, new: np.ndarray, box: tuple[int, int, int, int], a: float) -> np.ndarray:
    """The screen `a` (0..1) of the way through a push from `old` to `new` inside `box`."""
    x, y, w, h = box
    edge = int(round(a * w))
    out = old.copy()
    out[y:y + h, x:x + w] = np.concatenate([old[y:y + h, x + edge:x + w], new[y:y + h, x:x + edge]], axis=1)
    return out


SKY = (196, 208, 222)  # RGB of Face.still's plain sky


def _face_frame(face: Face, photo: np.ndarray, t: float, canvas: np.ndarray) -> None:
    x, y, w, h = face.box
    if face.move_at is not None and t >= face.move_at:
        k = min(1.0, t - face.move_at)
        x, y = int(x + k * (face.moves_to[0] - x)), int(y + k * (face.moves_to[1] - y))
    lean = 1.0 + face.lean * max(0.0, np.sin(2 * np.pi * t / 9.0)) ** 4  # leans in now and then
    sway = (int(3 * np.sin(2 * np.pi * t / 2.3)), int(2 * np.sin(2 * np.pi * t / 3.1)))
    ph, pw = photo.shape[:2]
    cw, ch = int(pw / lean), int(ph / lean)
    cx0 = int(np.clip((pw - cw) // 2 + sway[0], 0, pw - cw))
    cy0 = int(np.clip((ph - ch) // 2 + sway[1], 0, ph - ch))
    crop = photo[cy0:cy0 + ch, cx0:cx0 + cw]
    tile = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
    if face.turn:
        tilt = cv2.getRotationMatrix2D((w / 2, h / 2), face.turn * np.sin(2 * np.pi * t / 3.7), 1.0)
        tile = cv2.warpAffine(tile, tilt, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if face.wall is not None:
        person = np.zeros((h, w), np.uint8)
        cv2.ellipse(person, (w // 2, int(h * 0.58)), (int(w * 0.36), int(h * 0.44)), 0, 0, 360, 1, -1)
        tile[person == 0] = face.wall
    if face.still:
        tile[:, int(round(w * (1 - face.still))):] = SKY
    canvas[y:y + h, x:x + w] = tile


def render_real_clip(clip: RealClip, path: Path) -> Path:
    """Write `clip` as H.264 (CRF 28, keyframe every gop_seconds, no scene-cut keyframes)."""
    W, H = clip.size
    box = clip.slide_box or (0, 0, W, H)
    screens = []
    for shot in clip.shots:
        canvas = np.full((H, W, 3), clip.backdrop, np.uint8)
        _fit(page(shot.page), box, canvas)
        screens.append(canvas)
    photo = page("astronaut-face") if clip.face else None
    starts = np.cumsum([0.0] + [s.seconds for s in clip.shots])
    rng = np.random.default_rng(clip.seed)
    pointer = fx.Pointer(W, H, clip.seed) if clip.pointer else None
    camera = fx.Camera(W, H, clip.seed) if clip.filmed else None
    grain = fx.NoiseBank(W, H, clip.colour_noise, clip.seed) if clip.colour_noise else None
    total = int(round(starts[-1] * clip.fps))
    with av.open(str(path), "w") as container:
        rate = Fraction(clip.fps)
        gop = int(round(clip.gop_seconds * clip.fps))
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "crf": "28", "sc_threshold": "0",
                          "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        for i in range(total):
            rgb = _picture(clip, screens, starts, box, i, photo, pointer, camera, rng)
            if grain is not None:
                rgb = grain.apply(rgb, i)
            out = av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
            out.pts = i
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return path


def _picture(clip: RealClip, screens, starts, box, i: int, photo, pointer, camera, rng) -> np.ndarray:
    """Frame i before grain. A still frame (no fade, noise or gain) is its screen as it is: the
    same pixels as the float path, without its cost (rendering was most of these tests' time)."""
    t = i / clip.fps
    k = int(np.searchsorted(starts, t, side="right") - 1)
    into, shot = t - starts[k], clip.shots[k]
    picture, level = screens[k], None  # level: the float picture while a fade leaves fractions
    if k and into < shot.fade:
        a = into / shot.fade
        level = (1 - a) * screens[k - 1].astype(np.float32) + a * screens[k].astype(np.float32)
    if k and into < shot.push:
        picture, level = _pushed(screens[k - 1], screens[k], box, into / shot.push), None
    if photo is not None or pointer is not None or camera is not None:
        canvas = level.astype(np.uint8) if level is not None else picture.copy()
        if photo is not None:
            _face_frame(clip.face, photo, t, canvas)
        if pointer is not None:
            pointer.draw(canvas, t)
        if camera is not None:
            canvas = camera.apply(camera.soften(canvas), t)
        picture, level = canvas, None
    gain = 1.0 + clip.flicker * np.sin(2 * np.pi * 7.3 * t)
    for at, step in clip.exposure_steps:
        if t >= at:
            gain = gain * step
    if level is None and not clip.noise and gain == 1.0:
        return picture
    frame = level if level is not None else picture.astype(np.float32)
    if clip.noise:  # float64 from here on, as the sum gives; then in place: same values, less time
        frame = np.add(frame, rng.normal(0, clip.noise, frame.shape[:2])[..., None])
        frame *= gain
    else:
        frame = frame * gain
    return np.clip(frame, 0, 255, out=frame).astype(np.uint8)


PILLARBOX = (80, 0, 480, 360)  # a 4:3 page in a 16:9 frame
REAL_CLIPS = {
    # One beamer template (sidebar table of contents, title rule): only the body differs,
    # crossfades of 0.5-1 s and a cut; then a dark 16:9 theme whose slides share title rule and
    # footer.
    "template": RealClip([Shot("amurmaple-4", 5), Shot("amurmaple-9", 4, fade=0.6),
                          Shot("amurmaple-10", 4, fade=1.0), Shot("amurmaple-9", 4),
                          Shot("amurmaple-4", 4, fade=0.5), Shot("pure-12", 4), Shot("pure-13", 4, fade=0.8),
                          Shot("pure-14", 4)], slide_box=PILLARBOX),
    # A real face as picture-in-picture: sways, leans in now and then, moves to the other side.
    "face": RealClip([Shot("pure-4", 4), Shot("pure-9", 4), Shot("pure-10", 4), Shot("pure-12", 4),
                      Shot("pure-13", 4), Shot("pure-14", 4), Shot("pure-6", 4)],
                     face=Face((480, 200, 144, 144), move_at=13.0, moves_to=(16, 200))),
    # The realism bench's tile (its head tilts, so the picture changes up to the tile's border)
    # over slides with words just beside it.
    "face-tilting": RealClip([Shot("pure-12", 4), Shot("pure-13", 4), Shot("pure-14", 4), Shot("pure-9", 4)],
                             face=Face((480, 200, 144, 144), turn=3.0)),
    # A person in front of a black wall, on a black slide: the tile's left edge, which cuts
    # through lines of the slide, is seen neither moving nor as a step of the picture.
    "face-wall": RealClip([Shot("pure-12", 4), Shot("pure-13", 4), Shot("pure-9", 4)],
                          face=Face((300, 190, 144, 144), turn=3.0, wall=(0, 0, 0))),
    # Sensor noise, flicker and three exposure steps.
    "noisy": RealClip([Shot("amurmaple-4", 4), Shot("amurmaple-9", 4), Shot("amurmaple-10", 4),
                       Shot("amurmaple-11", 4), Shot("pure-12", 4), Shot("pure-13", 4)], slide_box=PILLARBOX,
                      noise=10.0, flicker=0.04, exposure_steps=[(5.3, 0.8), (11.1, 1.3), (17.3, 0.85)]),
    # Beamer overlays: items revealed one by one, then back to the first step (content removed).
    "builds": RealClip([Shot("amurmaple-4", 4), Shot("amurmaple-5", 3, build=True),
                        Shot("amurmaple-6", 3, build=True), Shot("amurmaple-4", 4), Shot("amurmaple-12", 4),
                        Shot("amurmaple-13", 4, build=True), Shot("amurmaple-11", 3), Shot("amurmaple-12", 4)],
                       slide_box=PILLARBOX),
    # Speaker view: portrait pages on the left, the camera tile on the right.
    "speaker": RealClip([Shot("cuerna-1", 4), Shot("cuerna-2", 4), Shot("cuerna-3", 4), Shot("cuerna-5", 4),
                         Shot("cuerna-1", 4)], slide_box=(20, 4, 272, 352), face=Face((330, 60, 288, 240))),
    # Speaker view, no pointer: a circle around a symbol gives way to a box around the formula
    # and code lines are added (beamer2thesis 35 -> 36): content taken away, never a build.
    "ring": RealClip([Shot("b2t-35", 10), Shot("b2t-36", 10)], slide_box=(0, 22, 420, 315),
                     face=Face((440, 100, 180, 160))),
    # A short clip with a keyframe every 10 s (few keyframes to learn the face from): the tile
    # sways in the top-left corner, glides to the bottom-left at 21 s; page 1 comes back at 22 s.
    "short-pip": RealClip([Shot("pure-4", 6), Shot("pure-9", 5), Shot("pure-10", 6), Shot("pure-12", 5),
                           Shot("pure-4", 5), Shot("pure-13", 6), Shot("pure-14", 6)],
                          face=Face((8, 8, 128, 96), move_at=21.0, moves_to=(8, 256)), gop_seconds=10.0),
    # Slow crossfades (1-1.4 s) between pages of one template, a keyframe every 10 s: a fade
    # creeps under the threshold long enough to settle halfway.
    "slow-fades": RealClip([Shot("amurmaple-4", 6), Shot("amurmaple-9", 7, fade=1.2), Shot("amurmaple-10", 7, fade=1.4),
                            Shot("amurmaple-11", 8, fade=1.0), Shot("amurmaple-12", 6, fade=1.3)],
                           slide_box=PILLARBOX, gop_seconds=10.0),
    # Crossfades between text pages of two decks, a keyframe every 10 s: decoded without
    # deblocking, the predicted frames after the fade at 15.7 s drifted from what the keyframe
    # at 20 s shows, and that keyframe counted as a slide change.
    "fade-then-keyframe": RealClip([Shot("b2t-35", 6), Shot("amurmaple-10", 9, fade=1.3), Shot("b2t-36", 9, fade=1.4),
                                    Shot("amurmaple-4", 9, fade=1.0), Shot("amurmaple-11", 8, fade=1.3)],
                                   slide_box=PILLARBOX, gop_seconds=10.0),
    # Speaker view of metropolis overlays: a line added in the theme's light orange and the line
    # before turned from orange to black (0.02-0.045 of the ink contrast per cell at analysis
    # size, under the default threshold of a noisy video), then the first line recoloured and
    # lengthened; page 16 comes back at the end.
    "overlays": RealClip([Shot("metropolis-16", 8), Shot("metropolis-17", 6), Shot("metropolis-18", 6),
                          Shot("metropolis-16", 6)], slide_box=(0, 22, 420, 315), face=Face((440, 100, 180, 160))),
    # Sensor noise and an exposure step on A4 pages of small text, a keyframe every 4 s: pages 2
    # and 1 come back 12 and 24 s later, drawn by keyframes with fresh encoder noise that passes
    # a clean video's lowered threshold all over the page. Pages 3 and 5 are one theme demo in
    # blue and in green: in grey they differ as faintly as the noise does, in colour they do not.
    "noisy-return": RealClip([Shot("cuerna-1", 6), Shot("cuerna-2", 6), Shot("cuerna-3", 6), Shot("cuerna-5", 6),
                              Shot("cuerna-2", 6), Shot("cuerna-1", 6)], slide_box=PILLARBOX, noise=4.0,
                             gop_seconds=4.0, seed=3, exposure_steps=[(14.3, 0.9)]),
    # Each page change three frames before a keyframe (a keyframe every 2 s at 25 fps): the
    # changed frames are the last of a decoded stretch, which leave the decoder when it is
    # flushed; the first page comes back at the end.
    "late-cuts": RealClip([Shot("amurmaple-4", 3.88), Shot("amurmaple-9", 4), Shot("amurmaple-10", 4),
                           Shot("pure-12", 4), Shot("amurmaple-4", 4.12)], slide_box=PILLARBOX),
    # A filmed projector (keystone, drift, blur, sensor noise) showing focus-theme overlays: a
    # subtitle added under the section title, then blocks added one by one, the new block dark
    # (a dark block moved each frame's median grey from the light slide to the dark surround,
    # and a drift of a fraction of a pixel moved every edge: build steps taken for slides).
    "filmed-builds": RealClip([Shot("focus-2", 5), Shot("focus-3", 5, build=True), Shot("focus-11", 5, fade=0.7),
                               Shot("focus-12", 4, build=True), Shot("focus-13", 4, build=True), Shot("focus-2", 5)],
                              filmed=True, noise=3.0),
    # A wandering mouse arrow (a laser dot after 7 s) over clean pages beside a webcam tile,
    # 720p: blur and compression spread the pointer's spot faintly into its neighbours, which
    # the clean video's lowered threshold counts (a 6-cell blob at 2.9 s taken for a change).
    "laser": RealClip([Shot("metropolis-16", 8), Shot("pure-12", 6), Shot("metropolis-17", 6)], size=(1280, 720),
                      face=Face((960, 460, 288, 240)), pointer=True, seed=2),
    # Speaker view of a section page that gives way to the next (trigon 5 -> 8: one word
    # of the title, "Layout" -> "Elements", 0.4% of the page), no pointer: the change is a
    # 6-cell blob of a few strong cells and their faint edges, which the laser-halo rule took
    # for a pointer's glow (realism speaker seed 15 at 22.8 s).
    "section-word": RealClip([Shot("trigon-5", 8), Shot("trigon-8", 8), Shot("trigon-5", 6)],
                             slide_box=(12, 54, 448, 252), face=Face((471, 120, 160, 120)), backdrop=(30, 30, 34)),
    # Speaker view of metropolis overlays, tile on the left, a keyframe every 10 s, a clean
    # video: at 12 s a line is recoloured and one added (6 cells). Phase correlation reads a
    # fraction of a pixel into that change; shifting the later state back by it, to undo a
    # filmed screen's drift, moved every edge, and the change was taken for a build (realism
    # speaker seed 18).
    "overlays-gop10": RealClip([Shot("metropolis-16", 12), Shot("metropolis-17", 4), Shot("metropolis-18", 6),
                                Shot("metropolis-16", 8)], slide_box=(180, 12, 448, 336),
                               face=Face((9, 120, 160, 120)), backdrop=(30, 30, 34), gop_seconds=10.0),
    # Portrait pages of one theme pushed in from the right (0.4-0.6 s), a keyframe every 10 s: the
    # runs of frames that live_regions reads after each keyframe catch the pushes, where every
    # cell the sliding page crosses wanders; taken for live video, the page's whole middle was
    # masked and three of the six changes were lost (realism wipe-push seed 2).
    "pushes": RealClip([Shot("cuerna-1", 5), Shot("cuerna-2", 6, push=0.5), Shot("cuerna-3", 6, push=0.6),
                        Shot("cuerna-5", 6, push=0.5), Shot("cuerna-2", 6, push=0.4), Shot("cuerna-1", 6, push=0.5),
                        Shot("cuerna-3", 5, push=0.5)], slide_box=(184, 4, 272, 352), gop_seconds=10.0),
    # Pages of two decks pushed in, a keyframe every 10 s, no pointer: beamer2thesis 35 -> 36 (a
    # circle around a symbol gives way to a box and code lines) and metropolis overlays (a line
    # recoloured, one added: 7 cells, 4 of them strong). With 3 keyframe pairs the engine could
    # not tell whether the video shows a pointer and assumed one: the circle taken away was
    # forgiven as pointer spots (a build) and the overlay step's faint cells as a laser's halo
    # (realism wipe-push seed 2 at 33.2).
    "pushes-two-decks": RealClip([Shot("metropolis-16", 5), Shot("b2t-35", 6, push=0.5), Shot("b2t-36", 6, push=0.6),
                                  Shot("metropolis-16", 6, push=0.5), Shot("metropolis-17", 6),
                                  Shot("metropolis-18", 6), Shot("b2t-35", 5, push=0.5)],
                                 slide_box=PILLARBOX, gop_seconds=10.0),
    # Overlay steps right after a push, a keyframe every 10 s: the encoder draws the pushed page
    # sharper frame by frame, which moved scattered edge pixels of its ink by just over the
    # colour check's step, and the build step at 9 s became a slide (realism wipe-push seeds
    # 8 and 15).
    "push-then-build": RealClip([Shot("amurmaple-9", 5), Shot("amurmaple-12", 4, push=0.6),
                                 Shot("amurmaple-13", 5, build=True), Shot("amurmaple-10", 5, push=0.5),
                                 Shot("amurmaple-4", 3, push=0.5), Shot("amurmaple-5", 4, build=True),
                                 Shot("amurmaple-6", 5, build=True), Shot("amurmaple-9", 5, push=0.5)],
                                slide_box=PILLARBOX, gop_seconds=10.0),
    # A4 pages of small text with the realism bench's sensor noise (per colour channel), a
    # keyframe every 2 s: predicted frames copy their keyframe's noise, so the video looks as
    # quiet as a clean one between keyframes, and each keyframe draws the noise afresh (0.01-0.03
    # of the ink contrast per cell), which the lowered base of a clean video counted as a slide
    # change (realism noise seeds 16 and 18).
    "grain-keyframes": RealClip([Shot("cuerna-2", 8), Shot("cuerna-1", 8), Shot("cuerna-3", 8), Shot("cuerna-2", 8)],
                                slide_box=PILLARBOX, colour_noise=8.0, gop_seconds=2.0, seed=3),
    # Beamer overlays with sensor noise, a keyframe every 10 s: each step only adds an item, but
    # a few dozen pixels of grain on old ink edges passed the colour check's "ink taken away"
    # (realism noise seed 11: both steps kept as slides).
    "noisy-builds": RealClip([Shot("amurmaple-4", 6), Shot("amurmaple-5", 5, build=True),
                              Shot("amurmaple-6", 5, build=True), Shot("amurmaple-12", 6),
                              Shot("amurmaple-13", 6, build=True), Shot("amurmaple-11", 6)],
                             slide_box=PILLARBOX, noise=6.0, gop_seconds=10.0, seed=4),
    # A4 pages of small text pillarboxed, a picture-in-picture in the black margin (top right,
    # gliding to the bottom right at 16.5 s: both places masked), a keyframe every 4 s, a clean
    # video: a page replaced by another changes its cells by only 0.06-0.1, and with a fifth of
    # the free cells black and still, the pair's noise floor (their 20th percentile) was the
    # change itself; the page change at 14 s was missed (realism pip seed 19).
    "a4-pip": RealClip([Shot("pgf-38", 4), Shot("pgf-39", 4), Shot("pgf-40", 6), Shot("pgf-41", 8),
                        Shot("pgf-38", 5), Shot("pgf-39", 6)], slide_box=(193, 0, 254, 360),
                       face=Face((502, 10, 128, 96), move_at=16.5, moves_to=(502, 254)), gop_seconds=4.0,
                       fps=30),
    # The same pages, the tile in the left margin gliding from the top to the bottom at 16.5 s,
    # its right 40% plain sky (realism pip seed 16, the cameraman's sky): the runs find only its
    # left side live, and its sky edge with the black gap beside it lay outside the mask. The
    # gap's black set the free cells' ink contrast to 205-219 grey levels (55-152 with the tile
    # masked whole), the page changes at 8 and 14 s fell under the threshold, the glide became a
    # slide at 17 s, and pages 38 and 39 coming back at 22 and 27 s were not linked.
    "a4-pip-sky": RealClip([Shot("pgf-38", 4), Shot("pgf-39", 4), Shot("pgf-40", 6), Shot("pgf-41", 8),
                            Shot("pgf-38", 5), Shot("pgf-39", 6)], slide_box=(193, 0, 254, 360),
                           face=Face((6, 10, 180, 135), still=0.4, move_at=16.5, moves_to=(6, 215)),
                           gop_seconds=4.0, fps=30),
    # A4 pages of small text pillarboxed, pushed in, a keyframe every 4 s, a clean video: x264's
    # first keyframe rings along the page's edges, and the keyframe at 4 s draws them afresh
    # (75 cells at 0.02-0.035, over a clean video's lowered threshold, no pixel changing colour):
    # the first page came out twice, the second "a return" of the first (realism wipe-push seed
    # 10 at 3.93). Pages 31 and 30 come back at the end.
    "a4-redraw": RealClip([Shot("pgf-30", 6.8), Shot("pgf-31", 2, push=0.6), Shot("pgf-32", 6.6, push=0.7),
                           Shot("pgf-31", 4, push=0.6), Shot("pgf-30", 6, push=0.5)], slide_box=(193, 0, 254, 360),
                          gop_seconds=4.0, fps=30),
    # Focus section pages, full frame, no pointer, no webcam, a keyframe every 4 s: "Subsection
    # 1.1" gives way to "Subsection 1.2" (one digit, a blob of 4 faint cells), which the pointer
    # rule dropped, and the build test forgave as a webcam's edge (realism wipe-push seed 11 at
    # 33.8); the subtitle added at 5 s is a build; page 3 comes back at the end.
    "digit": RealClip([Shot("focus-2", 5), Shot("focus-3", 6, build=True), Shot("focus-6", 6, push=0.6),
                       Shot("focus-11", 5, push=0.5), Shot("focus-3", 5, push=0.5)], gop_seconds=4.0, fps=30),
    # A filmed projector (keystone, drift, blur, colour noise) showing beamer2thesis pages,
    # pillarboxed, joined by crossfades of 0.9-1 s, a keyframe every 10 s: the runs of frames
    # that live_regions reads catch three fades mid-way. Each frame is normalised on its own
    # contrast, so a fade's cells do not go one way and looked wandering: most of the slide
    # was masked as live video (realism projector seed 27: 494 of 576 cells, all seven changes
    # missed). Page 10 comes back at 28 s.
    "projector-fades": RealClip([Shot("b2t-8", 6.1), Shot("b2t-9", 4.0, fade=0.9), Shot("b2t-10", 4.06, fade=0.99),
                                 Shot("b2t-11", 6.435, fade=0.87), Shot("b2t-12", 7.4, fade=0.9),
                                 Shot("b2t-10", 4, fade=0.9), Shot("b2t-13", 2), Shot("b2t-14", 4)],
                                slide_box=PILLARBOX, filmed=True, colour_noise=2.0, gop_seconds=10.0, fps=30, seed=27),
    # A filmed projector (keystone, drift, blur, colour noise) showing metropolis overlay steps,
    # pillarboxed, a keyframe every 2 s: at 6 s a line is recoloured from the alert orange to
    # grey and the next added in orange; at 11.5 s the same again. Through the soft lens the
    # recoloured text moves by 20-35 grey levels, under the colour check's step of 40, and the
    # first overlay step was taken for a build (realism projector seed 23 at 33.6). focus 2 -> 3
    # adds a subtitle: a build; page 16 comes back at the end.
    "projector-alert": RealClip([Shot("metropolis-16", 6), Shot("metropolis-17", 5.5), Shot("metropolis-18", 6),
                                 Shot("focus-2", 6), Shot("focus-3", 6, build=True), Shot("metropolis-16", 5)],
                                slide_box=PILLARBOX, filmed=True, colour_noise=2.0, gop_seconds=2.0, seed=23),
    # A4 pages of small text with the realism bench's colour noise and two exposure steps, a
    # keyframe every 4 s, not filmed: page 38 comes back at 39.4 s, its cells over even the old
    # base threshold in places, while its colour pictures mapped to one exposure differ in no
    # more pixels than noise moves (realism noise seeds 21, 31, 40): the return was not linked.
    "noisy-exposure-return": RealClip([Shot("pgf-38", 7.4), Shot("pgf-39", 5.8), Shot("pgf-40", 4), Shot("pgf-41", 2),
                                       Shot("pgf-42", 5.4), Shot("pgf-43", 15), Shot("pgf-38", 3.8), Shot("pgf-44", 7.8)],
                                      slide_box=(193, 0, 254, 360), colour_noise=6.65, gop_seconds=4.0, fps=25, seed=21,
                                      exposure_steps=[(12.3, 0.9), (30.1, 1.1)]),
    # A4 pages of small text with the realism bench's colour noise, a keyframe every 2 s, not
    # filmed: predicted frames look clean, so the threshold is lowered, and at 3.1 s the camera's
    # gain steps up by 12%, clipping the page's whites: the cells around them move by up to 0.06
    # against a threshold of 0.02, and the step was taken for a slide change (realism noise seed
    # 23 at 6.3 s, where the extra also swallowed the next cut).
    "noisy-gain-step": RealClip([Shot("pgf-38", 8), Shot("pgf-39", 8), Shot("pgf-40", 8), Shot("pgf-38", 6)],
                                slide_box=(193, 0, 254, 360), colour_noise=7.4, gop_seconds=2.0, fps=25, seed=23,
                                exposure_steps=[(3.1, 1.12)]),
    # The realism bench's noise seed 1: A4 pages of small text, colour noise 4.7, a keyframe
    # every 4 s, and the camera's gain stepping up by 12% in the middle of the first page. The
    # paper clips at white while the ink lightens: cells of small text move by up to 0.28 (3.5
    # times the threshold, twice the old base), and the step was a slide of its own; page 38
    # coming back is the first page's, not the step's.
    "gain-step-mid-page": RealClip([Shot("pgf-38", 6), Shot("pgf-39", 6), Shot("pgf-40", 6), Shot("pgf-38", 6),
                                    Shot("pgf-41", 6)], slide_box=(193, 0, 254, 360), colour_noise=4.7,
                                   gop_seconds=4.0, fps=30, seed=1, exposure_steps=[(4.1, 1.12)]),
    # The realism bench's noise seed 60: bfh-ci sidebar pages, the gain up by 11.6% on the
    # second page, the first page back after it. Dark ink lifted from grey 143 to 160 against
    # clipped paper: a line fitted to every pixel, clipped paper too, left it "changed in colour".
    "gain-step-return": RealClip([Shot("bfh-10", 4), Shot("bfh-11", 4), Shot("bfh-12", 2), Shot("bfh-13", 5.2),
                                  Shot("bfh-10", 4.4)], colour_noise=5.07, gop_seconds=2.0, fps=30, seed=60,
                                 exposure_steps=[(5.2, 1.116)]),
    # The realism bench's noise seed 26's pattern: the gain up by 13.8% (the paper clips) and
    # 3 s later down to 81% of that, both on one page; page 10 back at the end. Main took each
    # step for a slide (5.94 and 9.04 s).
    "gain-steps-up-and-down": RealClip([Shot("bfh-10", 5), Shot("bfh-11", 6), Shot("bfh-12", 5), Shot("bfh-13", 5),
                                        Shot("bfh-10", 4)], colour_noise=4.2, gop_seconds=2.0, fps=25, seed=26,
                                       exposure_steps=[(6.0, 1.138), (9.0, 0.814)]),
    # Speaker view with 16:9 slides.
    "speaker16": RealClip([Shot("pure-12", 4), Shot("pure-13", 4), Shot("pure-14", 4), Shot("pure-9", 4),
                           Shot("pure-10", 4)], slide_box=(0, 62, 420, 236), face=Face((430, 90, 200, 180))),
}


@pytest.fixture(scope="session")
def real_clip(tmp_path_factory):
    """real_clip(name) -> (path, RealClip) of REAL_CLIPS[name], rendered once per session."""
    return made_once(tmp_path_factory, "real-clips",
                      lambda name, path: (render_real_clip(REAL_CLIPS[name], path), REAL_CLIPS[name]))
