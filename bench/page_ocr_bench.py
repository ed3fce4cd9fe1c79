"""OCR alone on the realism bench's dev deck pages: word precision and recall against pdftotext.

    python bench/page_ocr_bench.py --engines rapid,rapid-v4 [--decks beamer-logik b2t-ita] [--step 4]
    python bench/page_ocr_bench.py --engines tesseract:deu+eng:2 --decks beamer-logik --step 4

Each dev deck page (bench/real/decks.py) is rendered as a 720p video shows it (pdftoppm, 720 px
high, letterboxed to 1280x720 when narrower) and read by each engine; no video, no detection,
so only the reading is measured. Scores (multisets of lower-case tokens with a letter, as
bench/deck_text_bench.py's "letters_" columns): P/R whole = against the page's pdftotext; R
body = against the page without its running lines (no chrome rule here, so precision against
the body means nothing and is not printed). Engines: `rapid` (the default engine as installed),
`rapid-v4` (the same with rapidocr-onnxruntime's PP-OCRv4 recogniser, as without rapidocr 3.x),
`tesseract:LANGS:SCALE` (Debian's tesseract, the picture enlarged SCALE times first).
OCR results are kept in --out per engine, so a re-run only re-scores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
from PIL import Image  # noqa: E402

from bench.deck_text_bench import WORD, body_text, pdf_pages, tokens  # noqa: E402
from bench.real.decks import DECKS  # noqa: E402
from slidecast.ocr import page_from_words, rapid  # noqa: E402
from slidecast.ocr.base import Word  # noqa: E402
from slidecast.ocr.tesseract import parse_tsv  # noqa: E402


def render(deck, out: Path, step: int) -> list[Path]:
    first, last = deck.pages
    if not list(out.glob(f"{deck.name}-*.png")):
        subprocess.run(["pdftoppm", "-png", "-f", str(first), "-l", str(last), "-scale-to-y", "720",
                        "-scale-to-x", "-1", str(deck.file), str(out / deck.name)], check=True)
        for path in out.glob(f"{deck.name}-*.png"):
            with Image.open(path) as image:
                page = image.convert("RGB")
            if page.size[0] < 1280:
                canvas = Image.new("RGB", (1280, 720))
                canvas.paste(page, ((1280 - page.size[0]) // 2, 0))
                canvas.save(path)
    return sorted(out.glob(f"{deck.name}-*.png"))[::step]


class Tesseract:
    def __init__(self, languages: str, scale: float):
        self.languages, self.scale = languages, scale

    def read(self, path: Path) -> list[Word]:
        image = cv2.imread(str(path))
        image = cv2.resize(image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_CUBIC)
        with tempfile.NamedTemporaryFile(suffix=".png") as big:
            cv2.imwrite(big.name, image)
            done = subprocess.run(["tesseract", big.name, "stdout", "-l", self.languages, "--psm", "3", "tsv"],
                                  capture_output=True, text=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
        return [Word(w.text, tuple(int(v / self.scale) for v in w.box), w.confidence)
                for w in parse_tsv(done.stdout) if w.confidence > 0]


def engine(name: str):
    if name.startswith("tesseract:"):
        _, languages, scale = name.split(":")
        return Tesseract(languages, float(scale))
    if name == "rapid-v4":
        rapid.LATIN_DISTRIBUTION = "no-such-distribution"  # what an install without rapidocr 3.x runs
    return rapid.RapidEngine(threads=1)


def read_all(name: str, paths: list[Path], out: Path) -> dict[str, str]:
    cache = out / f"{name.replace(':', '_')}.json"
    texts = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [p for p in paths if p.name not in texts]
    if todo:
        reader, started, cpu = engine(name), time.perf_counter(), time.process_time()
        for path in todo:
            texts[path.name] = page_from_words(reader.read(path)).text
            cache.write_text(json.dumps(texts, ensure_ascii=False))
        print(f"{name}: {len(todo)} pages, {(time.process_time() - cpu) / len(todo):.2f} CPU s/page "
              f"(this process), {(time.perf_counter() - started) / len(todo):.1f} s/page wall", file=sys.stderr)
    return texts


def score(texts: dict[str, str], deck, paths: list[Path]) -> Counter:
    pages, counts = pdf_pages(deck.file), Counter()
    for path in paths:
        number = int(path.stem.rsplit("-", 1)[1])
        letters = lambda text: Counter({t: n for t, n in tokens(text).items() if WORD.search(t)})  # noqa: E731
        whole, body, found = letters(pages[number - 1]), letters(body_text(pages, number)), letters(texts[path.name])
        counts.update(found=sum(found.values()), whole=sum(whole.values()), body=sum(body.values()),
                      hit_whole=sum((found & whole).values()), hit_body=sum((found & body).values()), pages=1)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="rapid,rapid-v4")
    parser.add_argument("--decks", nargs="+", help="dev deck names (default: all dev decks)")
    parser.add_argument("--step", type=int, default=1, help="every STEP-th page of each deck")
    parser.add_argument("--out", type=Path, default=Path("/tmp/page-ocr-bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    decks = [d for d in DECKS if d.split == "dev" and (not args.decks or d.name in args.decks)]
    for name in args.engines.split(","):
        total = Counter()
        for deck in decks:
            paths = render(deck, args.out, args.step)
            counts = score(read_all(name, paths, args.out), deck, paths)
            total.update(counts)
            print(name, deck.name, line(counts), flush=True)
        print(name, "ALL", line(total), flush=True)
    return 0


def line(c: Counter) -> str:
    return (f"P whole {c['hit_whole'] / max(1, c['found']):.3f}  R whole {c['hit_whole'] / max(1, c['whole']):.3f}"
            f"  R body {c['hit_body'] / max(1, c['body']):.3f}  pages {c['pages']}")


if __name__ == "__main__":
    sys.exit(main())
