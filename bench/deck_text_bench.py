"""Slide text against the deck page's own text, and deck alignment, on the realism bench.

    python bench/deck_text_bench.py --dir bench/real/videos/dev [--out /tmp/deck-bench] [--deck]

Each video is extracted once into OUT/NAME (kept: a re-run only re-scores; --fresh re-extracts).
Every true appearance with a deck page is matched to the found appearance it overlaps most in
time. Word precision = words of `text` also on the page / words of `text`; recall = words of the
page also in `text` / words of the page (multisets, lower case, \\w+ tokens). Three references:
the page's whole text (pdftotext); its body: the page without lines that repeat on half or more
of the deck's pages (headers, footers, navigation), which is what `text` is meant to hold; and
`place` (columns *_place), the body told by place (place_body_texts: a line at the same place on
a quarter of the deck's frames is running), which also takes out a sidebar shown on part of the
deck and keeps a matrix's digits that the word-based body takes for page numbers.
"Before" is the text of all OCR words (what `text` was before chrome was marked), "after" is
`text` (recomputed from the saved words: chrome as the rule decides now, live words as saved). Only appearances the detector found whole are scored for text (counted in `scored`).
With --deck each video is extracted with every build step kept (what a deck implies, see
ExtractOptions.builds_kept) into OUT/builds/NAME, and its deck is aligned to the pictures of
that run (slidecast.deck.align_slides, what --deck does after OCR): deck_page is scored over every true appearance
(`page_right`, and over the scored ones `scored_page_right`), "after" is then `text`.
With --reocr FROM a plain run saved by another tree (FROM/plain/NAME) is copied and only its
pictures are read again with this tree's OCR: an OCR change is measured on the same pictures,
without running detection twice (OCR does not change detection).
With --deck --wrong-deck each video is given another talk's deck instead (the next video's in
--dir by name, wrapping round, skipping decks of more than WRONG_DECK_PAGES pages: manuals, not
talks): what a wrong upload costs. Per video it prints `align_seconds` (reading the deck and
aligning, as always), `deck_seconds` (of which reading the deck), `refused` (the manifest got the few-matched warning) and `paged` (appearances that
took a page anyway); text and page columns then mean nothing.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdfium2 as pdfium  # noqa: E402
from PIL import Image  # noqa: E402

from slidecast.ocr.base import Word, page_from_words  # noqa: E402
from slidecast.deck import align_slides, open_deck  # noqa: E402
from slidecast.ocr.chrome import body_page, chrome_flags  # noqa: E402
from slidecast.content import ocr_slides  # noqa: E402
from slidecast.options import ExtractOptions  # noqa: E402
from slidecast.output.manifest import Manifest  # noqa: E402
from slidecast.pipeline import extract  # noqa: E402


WORD = re.compile(r"[^\W\d_]")
WRONG_DECK_PAGES = 300


def tokens(text: str) -> Counter:
    # NFKC: pdftotext keeps TeX's ligatures as one character ("ﬁle", "eﬀetto"); the letters are
    # the same word as "file" in `text`.
    return Counter(re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower()))


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext, reading order)."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8", "replace").split("\f")


def body_text(pages: list[str], page: int) -> str:
    """Page `page` (1-based) without lines found on half or more of the deck's pages."""
    def key(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split()).lower())

    seen = Counter(k for text in pages for k in {key(line) for line in text.splitlines() if line.strip()})
    common = {k for k, n in seen.items() if n >= len(pages) / 2}
    return "\n".join(line for line in pages[page - 1].splitlines() if key(line) not in common)


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', re.S)
_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', re.S)
# Words of a line closer than this share of the smaller one's height are one word, as pdftotext
# writes the page's text (no space between them): the LaTeX logo's raised small A ("L", "A",
# "TEX": overlapping boxes), a subscript or footnote mark ("v", "11"; "Gramm", "1": no gap). A
# word space is about 0.2 of a word's box height in the dev decks; a superscript before the next
# word ("1 Universität", 0.09) keeps its space, as in pdftotext's text.
JOINED = 0.05
# The place-aware reference (place_body_texts): lines at one place within PLACE of the page's
# width and height; a running line is on at least RUNNING of the deck's frames (and 2) besides
# its own; digits count as one (a page number) in the top and bottom MARGIN of the page; a frame
# title continued over consecutive frames is in the top TITLE_TOP, in its page's tallest type
# there (0.9 of it), on fewer than CONTINUED of the frames; a line at the same left edge up to
# SHIFT of the height higher or lower is at its place too.
PLACE, RUNNING, MARGIN, TITLE_TOP, CONTINUED, SHIFT = 0.02, 0.25, 0.15, 0.3, 0.8, 0.15


def placed_pages(pdf: Path) -> list[list[tuple[str, float, float, float, float]]]:
    """Each page's lines (pdftotext -bbox-layout) as (text, x0, y0, x1, y1), fractions of the page."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True)
    pages = []
    for width, height, body in _PAGE.findall(out.stdout.decode("utf-8", "replace")):
        w, h = float(width), float(height)
        pages.append([(_line_text(_WORD.findall(inner)), float(x0) / w, float(y0) / h,
                       float(x1) / w, float(y1) / h) for x0, y0, x1, y1, inner in _LINE.findall(body)])
    return pages


def _line_text(words: list[tuple[str, str, str, str, str]]) -> str:
    """A line's words (xMin, yMin, xMax, yMax, text), a space only where pdftotext's text has one:
    between words further apart than JOINED of the smaller one's height."""
    text, last = "", None
    for x0, y0, x1, y1, word in words:
        height = float(y1) - float(y0)
        if last is not None:
            joined = float(x0) - last[0] < JOINED * min(height, last[1])
            text += "" if joined else " "
        text += html.unescape(word)
        last = (float(x1), height)
    return text


def frame_numbers(pdf: Path) -> list[int]:
    """Each page's frame (0, 1, ...): beamer gives the overlay pages of one frame one page label."""
    doc = pdfium.PdfDocument(str(pdf))
    try:
        labels = [doc.get_page_label(i) or f"page {i}" for i in range(len(doc))]
    finally:
        doc.close()
    order = {label: n for n, label in enumerate(dict.fromkeys(labels))}
    return [order[label] for label in labels]


def place_body_texts(pdf: Path) -> list[str]:
    """Each page's text without its running lines, told by place: a line is running when the same
    text (a page number: any digits) stands at its place (left edge or centre, and height) on
    RUNNING of the deck's frames besides its own. A navigation bar, a sidebar shown on one part
    of the deck, a footer, a frame counter are running; a matrix's digits, a body line that
    repeats elsewhere on the page are not (the word-based `body_text` takes both wrongly). A
    frame title continued over consecutive frames (the slide's own title, in title type there on
    every page carrying it) is not running."""
    pages, frames = placed_pages(pdf), frame_numbers(pdf)
    count = max(frames) + 1

    def key(text: str, y: float) -> str:
        text = " ".join(text.split()).lower()
        return re.sub(r"\d+", "#", text) if y < MARGIN or y > 1 - MARGIN else text

    spots: dict[str, list[tuple[int, float, float, float]]] = {}
    for p, lines in enumerate(pages):
        for text, x0, y0, x1, y1 in lines:
            spots.setdefault(key(text, (y0 + y1) / 2), []).append((p, x0, (x0 + x1) / 2, (y0 + y1) / 2))
    tallest = [max([y1 - y0 for _, _, y0, _, y1 in lines if (y0 + y1) / 2 < TITLE_TOP], default=0.0)
               for lines in pages]

    def title_type(p: int, text: str, y: float) -> bool:
        return y < TITLE_TOP and any(abs((y0 + y1) / 2 - y) <= PLACE and y1 - y0 >= 0.9 * tallest[p]
                                     and t.split() == text.split() for t, _, y0, _, y1 in pages[p])

    out = []
    for p, lines in enumerate(pages):
        kept = []
        for text, x0, y0, x1, y1 in lines:
            y = (y0 + y1) / 2
            # Same left edge or centre and height; or the same left edge up to SHIFT higher or
            # lower: a sidebar's entries move down under a section whose subsections open.
            carrying = [q for q, qx0, qx, qy in spots[key(text, y)]
                        if (abs(qy - y) <= PLACE and (abs(qx0 - x0) <= PLACE or abs(qx - (x0 + x1) / 2) <= PLACE))
                        or (abs(qy - y) <= SHIFT and abs(qx0 - x0) <= PLACE / 2)]
            held = sorted({frames[q] for q in carrying})
            continued = len(held) < CONTINUED * count and held[-1] - held[0] + 1 == len(held) and \
                all(title_type(q, text, y) for q in carrying)
            if len(held) - 1 < max(2, RUNNING * count) or continued:
                kept.append(text)
        out.append("\n".join(kept))
    return out


def overlap(a, b) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def texts_before_after(manifest: Manifest, folder: Path) -> dict[int, tuple[str, str]]:
    """Per distinct slide: the text of all its OCR words, and that text without chrome lines as
    slidecast.ocr.chrome decides now (recomputed from the saved words, so a change of the rule
    is re-scored without OCR again)."""
    distinct = manifest.distinct()
    pages = [page_from_words([Word(w["text"], tuple(w["box"]), w["confidence"]) for w in s.words])
             for s in distinct]
    sizes = []
    for slide in distinct:
        with Image.open(folder / slide.image) as im:
            sizes.append(im.size)
    flags = chrome_flags(pages, sizes, [s.live_regions for s in distinct])
    # Words the engine marked live (under a webcam tile) are left out of `text` as well.
    live = [{tuple(w["box"]) for w in s.words if w.get("live")} for s in distinct]
    flags = [[[c or tuple(word.box) in boxes for c, word in zip(line_flags, line)]
              for line_flags, line in zip(page_flags, p.lines)]
             for p, page_flags, boxes in zip(pages, flags, live)]
    return {s.index: (p.text, body_page(p, f).text) for s, p, f in zip(distinct, pages, flags)}


def shown_at(truth: dict, t: float) -> tuple[int, set[int]]:
    """The deck page on screen at time t (the last change at or before it) and the pages a
    transition under way then blends (a fade is centred on its change time), empty when none."""
    page, blended = truth["appearances"][0]["pages"][0], set()
    for change in truth.get("changes", []):
        if change["time"] <= t + 1e-6:
            page = change["to_page"]
        if abs(t - change["time"]) < change["seconds"] / 2:
            blended |= {change["from_page"], change["to_page"]}
    return page, blended


def score_pictures(manifest: Manifest, truth: dict) -> Counter:
    """The alignment on its own, whatever the detector split or merged: each found appearance's
    deck_page against the page on screen at its picture's time (frame_time). A picture taken
    during a transition (`pictures_moving`) is right with either page it blends."""
    counts = Counter()
    if "changes" not in truth:
        return counts
    for slide in manifest.slides:
        page, blended = shown_at(truth, slide.frame_time)
        counts["pictures"] += 1
        counts["pictures_moving"] += bool(blended)
        counts["picture_page_right"] += slide.deck_page == page or slide.deck_page in blended
    return counts


def score_video(manifest: Manifest, folder: Path, truth: dict, pages: list[str], use_text: bool = False,
                placed: list[str] | None = None) -> dict:
    """Counts over the true appearances whose found slide spans the same time (80% both ways):
    where the detector merged or split slides the text cannot be the page's, whatever OCR does."""
    counts = Counter()
    texts = texts_before_after(manifest, folder)
    if use_text:  # aligned: "after" is the manifest's text (the page's text layer where aligned)
        texts = {i: (before, s.text) for (i, (before, _)), s in zip(texts.items(), manifest.distinct())}
    for appearance in truth["appearances"]:
        page = appearance.get("deck_page")
        if not page:
            continue
        span = (appearance["start"], appearance["end"])
        slide = max(manifest.slides, key=lambda s: overlap(span, (s.start, s.end)))
        counts["appearances"] += 1
        right = int(getattr(slide, "deck_page", None) == page)
        counts["page_right"] += right
        shared = overlap(span, (slide.start, slide.end))
        if shared < 0.8 * (span[1] - span[0]) or shared < 0.8 * (slide.end - slide.start):
            continue
        counts["scored"] += 1
        counts["scored_page_right"] += right
        for kind, keep in (("", lambda token: True), ("letters_", WORD.search)):
            # "letters_": only tokens with a letter (words); digits are left out, because the
            # body rule takes a line of digits (a matrix row "0 1 0") for a running page number.
            whole = Counter({t: n for t, n in tokens(pages[page - 1]).items() if keep(t)})
            body = Counter({t: n for t, n in tokens(body_text(pages, page)).items() if keep(t)})
            place = Counter({t: n for t, n in tokens(placed[page - 1]).items() if keep(t)}) if placed else Counter()
            for name, text in zip(("before", "after"), texts[slide.same_as or slide.index]):
                found = Counter({t: n for t, n in tokens(text).items() if keep(t)})
                counts[f"{kind}{name}_found"] += sum(found.values())
                counts[f"{kind}{name}_hit_whole"] += sum((found & whole).values())
                counts[f"{kind}{name}_hit_body"] += sum((found & body).values())
                counts[f"{kind}{name}_hit_place"] += sum((found & place).values())
            counts[f"{kind}whole"] += sum(whole.values())
            counts[f"{kind}body"] += sum(body.values())
            counts[f"{kind}place"] += sum(place.values())
    counts.update(score_pictures(manifest, truth))
    return dict(counts)


def rates(c: dict) -> dict:
    out = {}
    for kind in ("", "letters_"):
        for name in ("before", "after"):
            found = max(1, c.get(f"{kind}{name}_found", 0))
            out[f"{kind}{name}_precision_whole"] = c.get(f"{kind}{name}_hit_whole", 0) / found
            out[f"{kind}{name}_precision_body"] = c.get(f"{kind}{name}_hit_body", 0) / found
            out[f"{kind}{name}_recall_whole"] = c.get(f"{kind}{name}_hit_whole", 0) / max(1, c.get(f"{kind}whole", 0))
            out[f"{kind}{name}_recall_body"] = c.get(f"{kind}{name}_hit_body", 0) / max(1, c.get(f"{kind}body", 0))
            out[f"{kind}{name}_precision_place"] = c.get(f"{kind}{name}_hit_place", 0) / found
            out[f"{kind}{name}_recall_place"] = c.get(f"{kind}{name}_hit_place", 0) / max(1, c.get(f"{kind}place", 0))
    out["deck_page_accuracy"] = c.get("page_right", 0) / max(1, c["appearances"])
    out["deck_page_accuracy_scored"] = c.get("scored_page_right", 0) / max(1, c.get("scored", 0))
    out["picture_page_accuracy"] = c.get("picture_page_right", 0) / max(1, c.get("pictures", 0))
    return {k: round(v, 3) for k, v in out.items()}


def wrong_decks(truths: list[Path]) -> dict[str, Path]:
    """Each video's wrong deck: that of the next video by name (wrapping round) whose deck is
    another file of at most WRONG_DECK_PAGES pages."""
    decks = [(t.name[:-len(".mp4.truth.json")], Path(json.loads(t.read_text())["deck"]["file"])) for t in truths]
    talks = [(name, pdf) for name, pdf in decks if len(pdfium.PdfDocument(str(pdf))) <= WRONG_DECK_PAGES]
    out = {}
    for name, pdf in decks:
        ring = [t for t in talks if t[0] > name] + [t for t in talks if t[0] <= name]
        out[name] = next(other for _, other in ring if other != pdf)
    return out


def reocr(source: Path, out: Path) -> None:
    """A copy of the extraction in `source` with its slides' text read again (timings "ocr" anew)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(source, out)
    manifest = Manifest.load(out / "manifest.json")
    started = time.perf_counter()
    ocr_slides(manifest, out, ExtractOptions(), lambda stage, fraction, message: None)
    manifest.timings["ocr"] = round(time.perf_counter() - started, 3)
    (out / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True, help="folder of NAME.mp4 + NAME.mp4.truth.json")
    parser.add_argument("--out", type=Path, default=Path("/tmp/deck-text-bench"))
    parser.add_argument("--deck", action="store_true", help="give each video its deck PDF")
    parser.add_argument("--fresh", action="store_true", help="extract again even if OUT/NAME exists")
    parser.add_argument("--json", type=Path, help="also write the per-video counts here")
    parser.add_argument("--no-ocr", action="store_true", help="deck_page only (text columns then mean nothing)")
    parser.add_argument("--videos", nargs="+", help="only these names (default: every video in --dir)")
    parser.add_argument("--reocr", type=Path, help="OUT of a plain run: read its pictures again instead of extracting")
    parser.add_argument("--wrong-deck", action="store_true", help="with --deck: align another video's deck (see above)")
    args = parser.parse_args()
    total, rows = Counter(), {}
    wrong = wrong_decks(sorted(args.dir.glob("*.mp4.truth.json"))) if args.wrong_deck else {}
    for truth_path in sorted(args.dir.glob("*.mp4.truth.json")):
        video = truth_path.with_name(truth_path.name[:-len(".truth.json")])
        if args.videos and video.stem not in args.videos:
            continue
        truth = json.loads(truth_path.read_text())
        pdf = Path(truth["deck"]["file"])
        # With a deck every build step is its own slide (ExtractOptions.builds_kept), as the deck
        # has a page for each: that run is kept apart from the plain one.
        out = args.out / ("builds" if args.deck else "plain") / video.stem
        if args.reocr and (args.fresh or not (out / "manifest.json").exists()):
            reocr(args.reocr / "plain" / video.stem, out)
        elif args.fresh or not (out / "manifest.json").exists():
            extract(video, out, {"pdf": False, "notes": False, "subtitles": False, "chapters": False,
                                 "keep_builds": args.deck, "ocr": not args.no_ocr})
        manifest = Manifest.load(out / "manifest.json")
        with tempfile.TemporaryDirectory(prefix="deck-bench-") as tmp:
            seconds = deck_seconds = 0.0
            if args.deck:
                # What content.run does with --deck after OCR, on the pictures of the same run;
                # on a copy, since joining appearances moves their pictures (a re-run re-scores
                # the extraction as it was).
                folder = shutil.copytree(out, Path(tmp) / video.stem)
                started = time.perf_counter()
                deck = open_deck(wrong.get(video.stem, pdf))
                read = time.perf_counter()
                align_slides(manifest, folder, deck)
                seconds, deck_seconds = time.perf_counter() - started, read - started
            counts = Counter() if args.wrong_deck else score_video(
                manifest, folder if args.deck else out, truth, pdf_pages(pdf), use_text=args.deck,
                placed=place_body_texts(pdf))
        counts["align_seconds"], counts["deck_seconds"] = round(seconds, 1), round(deck_seconds, 1)
        if args.wrong_deck:
            counts["refused"] = int(any("is it this talk's deck" in w for w in manifest.warnings))
            counts["paged"] = sum(s.deck_page is not None for s in manifest.slides)
            print(video.stem, "wrong deck", wrong[video.stem].name, json.dumps({k: counts[k] for k in (
                "align_seconds", "deck_seconds", "refused", "paged")}), f"of {len(manifest.slides)} appearances", flush=True)
            rows[video.stem] = counts
            continue
        rows[video.stem] = counts
        total.update(counts)
        print(video.stem, json.dumps(rates(counts)), f"scored {counts.get('scored', 0)}/{counts['appearances']}",
              f"align_seconds {counts['align_seconds']}", flush=True)
    if not args.wrong_deck:
        print("ALL", json.dumps(rates(total)), f"appearances={total['appearances']} scored={total['scored']}")
    if args.json:
        args.json.write_text(json.dumps({"videos": rows, "total": dict(total)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
