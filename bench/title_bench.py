"""Slide titles against the frame titles of the realism bench's dev decks.

Each page of a dev deck is rendered at the size its dev video shows it (the deck filling the
frame), read by OCR as the pipeline reads a slide picture (chrome and all: the pages of one deck
are the distinct slides of one talk), and titled:

- without a deck: before = the single-slide rule (slidecast.ocr.base.title_of on the chrome-free
  lines); after = slidecast.titles.talk_titles over the talk;
- with the deck: before = the OCR title, else the page's first text line (what align_slides did);
  after = the deck page's title from its text layer (slidecast.titles over the deck's pages),
  else the OCR title.

Truth: the frame title, i.e. the text-layer lines lying in the deck's frametitle band, a band
per deck written down below from the pages themselves (contact sheets checked by eye; pages with
nothing in the band, a title page, a section page, have no truth and are not counted). A title is
right when it reads as the truth (lower case, letters and digits, SequenceMatcher ratio >= 0.85,
which forgives an OCR letter or two but not another line).

    python bench/title_bench.py [--decks NAME ...] [--cache /tmp/title-bench]

Held-out decks are refused. Prints one row per deck and the totals.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pypdfium2 as pdfium  # noqa: E402
from PIL import Image  # noqa: E402

from bench.real.decks import DECKS  # noqa: E402
from slidecast.deck import open_deck  # noqa: E402
from slidecast.deck_lines import page_lines  # noqa: E402
from slidecast.ocr import Word, page_from_words  # noqa: E402
from slidecast.ocr.chrome import body_page, chrome_flags  # noqa: E402
from slidecast.ocr.runner import ocr_images  # noqa: E402
from slidecast.titles import talk_titles, ocr_lines  # noqa: E402

# deck -> (frame size of its dev video, frametitle band (x0, y0, x1, y1) as fractions of the
# page, pages left out). Read off the decks' pages: the band is where the template puts the frame
# title (beside a sidebar, not on it); pages left out are title pages, whose band holds a logo's
# or a university's name.
DEV = {
    "beamer-talk": ((1280, 720), (0.0, 0.09, 1.0, 0.17), {1}),
    "metropolis": ((1280, 720), (0.0, 0.0, 1.0, 0.07), set()),
    "b2t-ita": ((1280, 720), (0.0, 0.12, 1.0, 0.22), {1}),
    "bfh-sidebar": ((854, 480), (0.0, 0.0, 0.85, 0.1), set(range(1, 9))),
    "focus": ((1280, 720), (0.0, 0.0, 1.0, 0.08), {1, 7}),  # 7: an empty frame title, its first line at the top
    "trigon": ((960, 720), (0.0, 0.08, 0.9, 0.16), {1}),
    "amurmaple": ((1280, 720), (0.2, 0.0, 1.0, 0.09), {1}),
    "beamer-logik": ((1280, 720), (0.0, 0.0, 0.8, 0.075), {1}),
}
RIGHT = 0.85


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decks", nargs="*", default=list(DEV))
    parser.add_argument("--cache", default="/tmp/title-bench")
    parser.add_argument("--show", action="store_true", help="print every page's titles")
    args = parser.parse_args()
    totals = Counter4()
    print(f"{'deck':14} {'titled':>6} {'ocr before':>10} {'ocr after':>9} {'deck before':>11} {'deck after':>10}")
    for name in args.decks:
        deck = next(d for d in DECKS if d.name == name)
        if deck.split != "dev":
            raise SystemExit(f"{name} is not a dev deck")
        row = score_deck(deck, Path(args.cache), args.show)
        totals.add(row)
        print(f"{name:14} {row.titled:6d} {row.ocr_before:10d} {row.ocr_after:9d} {row.deck_before:11d} {row.deck_after:10d}")
    print(f"{'all':14} {totals.titled:6d} {totals.ocr_before:10d} {totals.ocr_after:9d} {totals.deck_before:11d} {totals.deck_after:10d}")


class Counter4:
    def __init__(self, titled=0, ocr_before=0, ocr_after=0, deck_before=0, deck_after=0):
        self.titled, self.ocr_before, self.ocr_after = titled, ocr_before, ocr_after
        self.deck_before, self.deck_after = deck_before, deck_after

    def add(self, other: "Counter4") -> None:
        for key in vars(self):
            setattr(self, key, getattr(self, key) + getattr(other, key))


def score_deck(deck, cache: Path, show: bool) -> Counter4:
    size, band, left_out = DEV[deck.name]
    first, last = deck.pages
    numbers = list(range(first, last + 1))
    images = render_pages(deck, numbers, size, cache / deck.name)
    pages = read_pages(images, cache / deck.name / "ocr.json")
    sizes = [Image.open(p).size for p in images]
    flags = chrome_flags(pages, sizes)
    bodies = [body_page(page, marks) for page, marks in zip(pages, flags)]
    before = [body.title for body in bodies]
    after = talk_titles([ocr_lines(body, s) for body, s in zip(bodies, sizes)], before)
    opened = open_deck(deck.file)
    texts = {p.number: p for p in opened.pages}
    deck_before = [b or next(iter(texts[n].text.splitlines()), "") for b, n in zip(before, numbers)]
    deck_after = [texts[n].title or a for a, n in zip(after, numbers)]
    truth = frame_titles(deck.file, numbers, band, left_out)
    row = Counter4()
    for i, n in enumerate(numbers):
        if not truth[i]:
            continue
        row.titled += 1
        marks = [right(t, truth[i]) for t in (before[i], after[i], deck_before[i], deck_after[i])]
        row.ocr_before += marks[0]
        row.ocr_after += marks[1]
        row.deck_before += marks[2]
        row.deck_after += marks[3]
        if show:
            print(f"  p{n:<3} truth={truth[i]!r}\n        ocr {before[i]!r} -> {after[i]!r} {marks[:2]}"
                  f"\n        deck {deck_before[i]!r} -> {deck_after[i]!r} {marks[2:]}")
    return row


def right(title: str, truth: str) -> bool:
    return difflib.SequenceMatcher(None, _norm(title), _norm(truth)).ratio() >= RIGHT


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def frame_titles(path: Path, numbers: list[int], band, left_out: set[int]) -> list[str]:
    """The text-layer lines whose middle lies in the band, top to bottom, of each page ("" for
    pages left out)."""
    pdf = pdfium.PdfDocument(path)
    try:
        out = []
        for n in numbers:
            lines = [] if n in left_out else [l for l in page_lines(pdf[n - 1]) if _inside(l, band)]
            out.append(" ".join(l.text for l in lines).strip())
        return out
    finally:
        pdf.close()


def _inside(line, band) -> bool:
    middle = (line.box[0] + line.box[2]) / 2
    return band[0] <= middle <= band[2] and band[1] <= line.centre <= band[3]


def render_pages(deck, numbers: list[int], size: tuple[int, int], folder: Path) -> list[Path]:
    """Each page fitted into the frame size (as the deck fills a dev video's frame)."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(deck.file)
    try:
        paths = []
        for n in numbers:
            path = folder / f"page-{n:03d}.png"
            if not path.exists():
                page = pdf[n - 1]
                scale = min(size[0] / page.get_width(), size[1] / page.get_height())
                page.render(scale=scale).to_pil().convert("RGB").save(path)
            paths.append(path)
        return paths
    finally:
        pdf.close()


def read_pages(images: list[Path], cache: Path):
    """OCR of each picture (rapid engine), kept in `cache` so that title rules can be re-run."""
    if cache.exists():
        data = json.loads(cache.read_text())
    else:
        pages = ocr_images(images, "auto", 0, None)
        data = [[[w.text, list(w.box), w.confidence] for w in page.words] for page in pages]
        cache.write_text(json.dumps(data))
    return [page_from_words([Word(t, tuple(b), c) for t, b, c in words]) for words in data]


if __name__ == "__main__":
    main()
