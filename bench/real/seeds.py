"""Realism seeds sweep: each difficulty rendered from real pages with many seeds, short clips,
scored as the number of seeds with any error (a missed or extra change, or an unlinked return).

    python bench/real/seeds.py                                   # every difficulty, seeds 1-20
    python bench/real/seeds.py --difficulties pip fade --seeds 1-5
    python bench/real/seeds.py --clips /tmp/seed-clips   # keep the clips; a later run reuses them

Each seed draws a dev deck and a window of 7 consecutive pages, the frame rate (25/30), the
keyframe interval (2-10 s), the slide timing and the difficulty's layout and motion (tile side
or corner, photo, moving corner, transition lengths, noise and exposure steps). Clips are
640x360 and about 40 s long, so one clip renders and extracts in about 10-20 s on one core.
Like bench/camera_seeds.py, this is the existing pattern of the synthetic bench.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))  # first: bench/ has a make_videos.py of its own

import decks as dk  # noqa: E402
import make_videos as mv  # noqa: E402
from scoring import score  # noqa: E402
from timeline import as_seen  # noqa: E402
from slidecast import ExtractOptions, extract  # noqa: E402

OPTIONS = ExtractOptions(ocr=False, transcribe=False, pdf=False, notes=False, subtitles=False)
PHOTOS = ("astronaut", "cameraman")
CORNERS = ("tl", "tr", "bl", "br")


def difficulty(name: str, rng) -> dict:
    """The difficulty's part of a recipe, its free choices drawn from rng."""
    photo = str(rng.choice(PHOTOS))
    if name == "fade":
        return dict(layout=("full",), weights={"fade": 1.0}, fade=(0.3, 1.5))
    if name == "wipe-push":
        return dict(layout=("full",), weights={"wipe": 0.5, "push": 0.5})
    if name == "pip":
        start, end = rng.choice(CORNERS, 2, replace=False)
        return dict(layout=("pip", str(start), photo, str(end)))
    if name == "speaker":
        return dict(layout=("speaker", str(rng.choice(["left", "right"])), photo))
    if name == "projector":
        return dict(layout=("projector",), weights={"cut": 0.5, "fade": 0.5})
    if name == "noise":
        return dict(layout=("full",), noise=float(rng.uniform(4, 8)), exposure=int(rng.integers(1, 4)))
    raise ValueError(name)


DIFFICULTIES = ("fade", "wipe-push", "pip", "speaker", "projector", "noise")


def recipe(name: str, seed: int) -> dict:
    rng = np.random.default_rng([seed, DIFFICULTIES.index(name), 17])
    dev = [d for d in dk.DECKS if d.split == "dev"]
    deck = dev[int(rng.integers(len(dev)))]
    first = int(rng.integers(deck.pages[0], deck.pages[1] - 6 + 1))
    return dict(deck=deck.name, pages=(first, first + 6), size=(640, 360), fps=int(rng.choice([25, 30])),
                gop=int(rng.choice([2, 4, 10])), typical=5.0, shorts=1, returns=1, **difficulty(name, rng))


def errors(truth: dict, found: list[float], same_as: list) -> list[str]:
    row = score(truth, found, same_as)
    problems = [f"missed {t}" for t in row["missed_transitions"]] + [f"extra {t}" for t in row["extra"]]
    linked, returns = row["returns_found"]
    if linked < returns:
        problems.append(f"{returns - linked} return(s) not linked")
    return problems


def clip(name: str, seed: int, folder: Path, cache: Path) -> tuple[Path, dict]:
    """The seed's clip and truth: rendered into folder, or the one a run before left there."""
    path = folder / f"{name}-{seed}.mp4"
    truth_file = Path(str(path) + ".truth.json")
    if path.exists() and truth_file.exists():
        return path, json.loads(truth_file.read_text())
    return path, mv.render(f"{name}-{seed}", recipe(name, seed), folder, seed, cache)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--difficulties", nargs="+", default=list(DIFFICULTIES), choices=DIFFICULTIES)
    parser.add_argument("--seeds", default="1-20", help="FIRST-LAST")
    parser.add_argument("--cache", type=Path, default=HERE / "cache")
    parser.add_argument("--count-unseen", action="store_true", help="score every page change, also one "
                        "between two pages that look the same (bench/real/timeline.py as_seen)")
    parser.add_argument("--clips", type=Path, help="keep the rendered clips here and reuse them (the same "
                        "renders for every engine compared); default: a temporary folder")
    args = parser.parse_args(argv)
    first, last = (int(x) for x in args.seeds.split("-"))
    totals = {}
    with tempfile.TemporaryDirectory(prefix="realseeds-") as tmp:
        folder = args.clips or Path(tmp)
        for name in args.difficulties:
            wrong = 0
            for seed in range(first, last + 1):
                spec = recipe(name, seed)
                video, truth = clip(name, seed, folder, args.cache)
                truth = truth if args.count_unseen else as_seen(truth)
                manifest = extract(video, Path(tmp) / f"out-{name}-{seed}", OPTIONS)
                slides = manifest.slides
                problems = errors(truth, [s.start for s in slides[1:]], [s.same_as for s in slides])
                wrong += bool(problems)
                unseen = truth.get("unseen_changes")
                note = f" (not scored, no pixel shows them: {unseen})" if unseen else ""
                print(f"{name} seed {seed} ({spec['deck']} p{spec['pages'][0]}-{spec['pages'][1]}, "
                      f"{len(truth['transitions'])} changes): {', '.join(problems) or 'ok'}{note}", flush=True)
            totals[name] = wrong
    print("\n| difficulty | seeds with any error |\n|---|---|")
    for name, wrong in totals.items():
        print(f"| {name} | {wrong} of {last - first + 1} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
