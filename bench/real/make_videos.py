"""Render the realism bench: lecture videos made from real, published slide decks.

    python bench/real/make_videos.py --check                 # what is missing on this machine
    python bench/real/make_videos.py --split dev             # dev videos into bench/real/videos/dev/
    python bench/real/make_videos.py --split heldout --out /tmp/real
    python bench/real/make_videos.py --only metropolis-pip   # some videos

Each video is OUT/SPLIT/NAME.mp4 plus NAME.mp4.truth.json (bench/scoring.py's format, plus each
appearance's deck page, the playlist and every change with its kind). Same recipe and seed, same
pixels and truth. x264 CRF 28, preset veryfast, a keyframe exactly every `gop` seconds and no
scene-cut keyframes (as bench/make_videos.py encodes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import decks as dk  # noqa: E402
import pages as pg  # noqa: E402
import scene  # noqa: E402
import timeline as tl  # noqa: E402
from slidecast.synthetic import encode_frames  # noqa: E402

VIDEO_DIR = HERE / "videos"
MIX = {"cut": 0.4, "fade": 0.4, "wipe": 0.1, "push": 0.1}
FADES = {"fade": 1.0}
TYPICAL20 = 31.0  # seconds a slide is shown in lecture20-*: the deck then fills about 20 minutes

# name: deck, frame size, fps, keyframe interval, layout, playlist knobs, effects.
# layout: ("full",) | ("speaker", side, photo) | ("pip", corner, photo[, move_to]) | ("projector",)
RECIPES = {
    # dev
    "talk-cuts": dict(deck="beamer-talk", size=(1280, 720), fps=30, gop=10, layout=("full",),
                      returns=2, shorts=2),
    "logik-fades-1080": dict(deck="beamer-logik", size=(1920, 1080), fps=25, gop=5, layout=("full",),
                             weights=FADES, fade=(0.5, 1.5), returns=2, shorts=2, bars=(40, 40, 40)),
    "metropolis-pip": dict(deck="metropolis", size=(1280, 720), fps=25, gop=2,
                           layout=("pip", "br", "astronaut", "tl"), weights=MIX, fade=(0.3, 0.8), pointer=True),
    "b2t-speaker-right": dict(deck="b2t-ita", size=(1280, 720), fps=30, gop=4, layout=("speaker", "right", "cameraman"),
                              weights={"cut": 0.6, "push": 0.4}, returns=2),
    "bfh-noise-480": dict(deck="bfh-sidebar", size=(854, 480), fps=25, gop=10, layout=("full",), weights=MIX,
                          noise=6.0, exposure=3),
    "focus-projector": dict(deck="focus", size=(1280, 720), fps=25, gop=2, layout=("projector",),
                            weights={"cut": 0.5, "fade": 0.5}, noise=3.0, exposure=2),
    "pgf-a4-speaker-left": dict(deck="pgf-a4", size=(1280, 720), fps=25, gop=8,
                                layout=("speaker", "left", "astronaut"), typical=10.0),
    "trigon-letterbox": dict(deck="trigon", size=(960, 720), fps=30, gop=6, layout=("pip", "bl", "cameraman"),
                             weights={"cut": 0.4, "wipe": 0.3, "push": 0.3}),
    "guide-a4-pip": dict(deck="beamer-guide-a4", size=(1280, 720), fps=25, gop=10,
                         layout=("pip", "tr", "astronaut"), noise=3.0, typical=10.0),
    "amurmaple-overlays": dict(deck="amurmaple", size=(1280, 720), fps=25, gop=3, layout=("pip", "tr", "astronaut"),
                               weights={"cut": 0.7, "fade": 0.3}, returns=2, shorts=2),
    # held-out
    "tuda-pip-1080": dict(deck="tuda", size=(1920, 1080), fps=25, gop=4, layout=("pip", "tr", "cameraman", "br"),
                          weights=MIX),
    "tuda-phd-speaker": dict(deck="tuda-phd-a4", size=(1280, 720), fps=30, gop=10,
                             layout=("speaker", "right", "astronaut"), typical=10.0),
    "abntex2-noise-480": dict(deck="abntex2", size=(854, 480), fps=25, gop=10, layout=("full",), noise=7.0,
                              exposure=3, weights={"cut": 0.7, "fade": 0.3}),
    "lalic-speaker-left": dict(deck="lalic", size=(1280, 720), fps=25, gop=5, layout=("speaker", "left", "cameraman"),
                               weights={"cut": 0.5, "push": 0.5}),
    "biogeo-fades": dict(deck="biogeo", size=(1280, 720), fps=30, gop=10, layout=("full",), weights=FADES,
                         fade=(0.3, 1.5), returns=3, shorts=3),
    "darkblue-projector": dict(deck="darkblue", size=(1280, 720), fps=25, gop=2, layout=("projector",),
                               weights={"cut": 0.6, "fade": 0.4}, exposure=2),
    "overlays-pip": dict(deck="overlays", size=(1280, 720), fps=25, gop=2, layout=("pip", "br", "astronaut"),
                         pointer=True),
    "hitsz-wipes": dict(deck="hitsz", size=(960, 720), fps=25, gop=6, layout=("full",),
                        weights={"cut": 0.4, "wipe": 0.6}, noise=4.0),
    "epyt-pip-tl": dict(deck="epyt", size=(1280, 720), fps=30, gop=8, layout=("pip", "tl", "cameraman"), exposure=3,
                        weights=MIX),
    "urbeamer-speaker-480": dict(deck="urbeamer", size=(854, 480), fps=25, gop=5,
                                 layout=("speaker", "left", "astronaut"), weights=FADES),
    "verona-sidebar": dict(deck="verona", size=(1280, 720), fps=30, gop=10, layout=("full",), exposure=2),
    # dev, added last: a recipe's seed is its place in this list, so earlier videos keep theirs.
    # The speed target's video (issue #10): a 20-minute lecture as streaming sites encode it
    # (720p, 30 fps, a keyframe every 10 s), a whole deck with builds, webcam tile, fades, returns.
    "lecture20-b2t-pip": dict(deck="b2t-ita", size=(1280, 720), fps=30, gop=10, layout=("pip", "br", "cameraman"),
                              weights={"cut": 0.5, "fade": 0.4, "push": 0.1}, typical=TYPICAL20, returns=3, shorts=3),
}


def split_of(name: str) -> str:
    return dk.BY_NAME[RECIPES[name]["deck"]].split


def build(name: str, recipe: dict, seed: int, cache: Path) -> tuple[list[tl.Item], dict]:
    """The playlist and truth of one recipe."""
    deck = dk.BY_NAME[recipe["deck"]]
    first, last = recipe.get("pages", deck.pages)
    files = pg.render_deck(deck.file, first, last, cache / deck.name)
    rng = np.random.default_rng([seed, 11])
    items = tl.playlist(files, first, rng, typical=recipe.get("typical", 8.0), shorts=recipe.get("shorts", 2),
                        returns=recipe.get("returns", 2), weights=recipe.get("weights"),
                        fade=recipe.get("fade", (0.5, 1.2)))
    truth = tl.truth(items, recipe["fps"])
    page = pg.load(files[0]).shape[1::-1]
    truth.update(width=recipe["size"][0], height=recipe["size"][1], title=name, seed=seed,
                 deck={"name": deck.name, "source": deck.source, "package": deck.package, "file": str(deck.file),
                       "language": deck.language, "split": deck.split, "page_size": list(page)},
                 spec={k: v for k, v in recipe.items()})
    return items, truth


class Frames:
    """Frame i of a video from its playlist and recipe."""

    def __init__(self, items: list[tl.Item], recipe: dict, seed: int, duration: float, page: tuple[int, int]):
        kind, *rest = recipe["layout"]
        size = recipe["size"]
        layout = scene.Layout("full" if kind == "projector" else kind, size, page, bars=recipe.get("bars", (0, 0, 0)))
        self.face = None
        if kind == "speaker":
            layout.side = rest[0]
        if kind == "pip":
            layout.corner = rest[0]
            if len(rest) > 2:
                layout.move_to, layout.move_at = rest[2], duration * 0.55
        if kind in ("speaker", "pip"):
            self.face = scene.Face(rest[1], layout.tile_size(), seed, duration)
        self.layout, self.items, self.fps = layout, items, recipe["fps"]
        self.starts = tl.starts(items)
        self.box = layout.slide_box()
        rng = np.random.default_rng([seed, 13])
        steps = [(float(rng.uniform(0, duration)), float(rng.uniform(0.8, 1.15))) for _ in range(recipe.get("exposure", 0))]
        self.effects = scene.Effects(size, seed, kind == "projector", recipe.get("pointer", False),
                                     recipe.get("noise", 0.0), sorted(steps), recipe.get("flicker", 0.0))
        self.background = np.zeros((size[1], size[0], 3), np.uint8)
        self.background[:] = (30, 30, 34) if kind == "speaker" else layout.bars
        self.cache: dict[int, np.ndarray] = {}

    def picture(self, k: int) -> np.ndarray:
        page = self.items[k].page
        if page not in self.cache:
            w, h = self.box[2:]
            self.cache[page] = cv2.resize(pg.load(self.items[k].file), (w, h), interpolation=cv2.INTER_AREA)
        return self.cache[page]

    def slide(self, t: float) -> np.ndarray:
        """The slide picture at time t, inside a transition when t is within one."""
        k = max(0, int(np.searchsorted(self.starts, t + 1e-6, side="right")) - 1)
        for into in (k, k + 1):  # the transition into item k (t after its start) or into k + 1
            if 0 < into < len(self.items) and self.items[into].transition != "cut":
                half = self.items[into].transition_seconds / 2
                a = (t - (self.starts[into] - half)) / (2 * half)
                if 0 <= a < 1:
                    return scene.transition(self.items[into].transition, self.picture(into - 1), self.picture(into), a)
        return self.picture(k)

    def frame(self, i: int) -> np.ndarray:
        t = i / self.fps
        image = self.background.copy()
        x, y, w, h = self.box
        image[y:y + h, x:x + w] = self.slide(t)
        if self.face:
            tx, ty = self.layout.tile_at(t)
            tile = self.face.draw(t)
            image[ty:ty + tile.shape[0], tx:tx + tile.shape[1]] = tile
        return self.effects.apply(image, i, t)


def render(name: str, recipe: dict, out_dir: Path, seed: int, cache: Path) -> dict:
    """Write OUT_DIR/NAME.mp4 and its truth (NAME.mp4.truth.json) from `recipe`; return the truth."""
    items, truth = build(name, recipe, seed, cache)
    frames = Frames(items, recipe, seed, truth["duration"], tuple(truth["deck"]["page_size"]))
    total = int(round(truth["duration"] * recipe["fps"]))
    path = out_dir / f"{name}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = SimpleNamespace(fps=recipe["fps"], gop_seconds=recipe["gop"], width=recipe["size"][0],
                               height=recipe["size"][1], preset="veryfast", crf=28)
    partial = path.with_suffix(".part.mp4")
    encode_frames(partial, encoding, frames.frame, total)
    truth["spec"]["encoding"] = vars(encoding)
    partial.rename(path)
    Path(str(path) + ".truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def check() -> list[str]:
    """What this machine lacks to render the bench."""
    problems = dk.missing_files()
    problems += [f"{tool} (apt-get install poppler-utils)" for tool in ("pdftoppm", "pdfinfo") if not shutil.which(tool)]
    try:
        scene.photo_file("astronaut")
    except SystemExit as error:
        problems.append(str(error))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=VIDEO_DIR, help="videos go to OUT/dev and OUT/heldout")
    parser.add_argument("--split", choices=["dev", "heldout"], help="only this split")
    parser.add_argument("--only", nargs="+", choices=list(RECIPES))
    parser.add_argument("--seed", type=int, default=0, help="added to every recipe's own seed")
    parser.add_argument("--cache", type=Path, default=HERE / "cache", help="rendered pages")
    parser.add_argument("--check", action="store_true", help="only say what is missing")
    args = parser.parse_args(argv)
    problems = check()
    if problems or args.check:
        print("\n".join(["missing:"] + problems) if problems else "all decks, tools and photos are here")
        return 1 if problems else 0
    names = [n for n in (args.only or RECIPES) if not args.split or split_of(n) == args.split]
    for name in names:
        started = time.perf_counter()
        truth = render(name, RECIPES[name], args.out / split_of(name), 1000 + list(RECIPES).index(name) + args.seed, args.cache)
        print(f"{split_of(name)}/{name}: {truth['duration']:.0f} s, {len(truth['appearances'])} appearances, "
              f"{len(truth['transitions'])} changes, {len(truth['build_transitions'])} builds, "
              f"rendered in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
