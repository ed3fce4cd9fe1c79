"""Slide content: OCR, transcript aligned to slides, keywords, title, PDF, notes, subtitles.

The pipeline calls `run` after the slide images are written and before manifest.json is
committed. Everything here is offline: the OCR and speech models ship inside pip packages.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from PIL import Image

from .deck import Alignment, Deck, align_slides, open_deck
from .keywords import deck_title, fill_keywords
from .output import ARTIFACT_FILES
from .output.manifest import Manifest, SlideEntry
from .output.chapters import make_chapters, to_chapters_txt, to_chapters_vtt
from .output.navigation import navigation_sections
from .output.notes import render_notes
from .output.pptx import build_pptx
from .ocr.chrome import body_page, chrome_flags
from .ocr.live import live_flags
from .ocr.runner import ocr_images
from .ocr.vocab import correct_pages
from .errors import OutputNotWritable
from .options import ExtractOptions
from .output.pdf import PdfInfo, build_pdf
from .output.subtitles import to_srt, to_vtt
from .transcribe import NO_AUDIO_WARNING, rough_engine_warning, transcribe_media
from .titles import talk_titles, ocr_lines
from .transcribe.align import all_words, make_cues, words_by_range

Progress = Callable[[str, float, str], None]


def run(manifest: Manifest, out_dir: Path, video_path: Path, options: ExtractOptions,
        progress: Progress | None = None) -> None:
    """Fill OCR text/words/title per distinct slide (repeats get copies), transcript per
    appearance, keywords, deck title; write slides.pdf, notes.md, transcript.srt/.vtt as the
    options ask. Sets manifest.artifacts (paths relative to out_dir, only files written by this
    run) and manifest.timings "ocr", "transcribe", "generate" for the parts that ran.

    progress(stage, fraction, message): stages "ocr", "aligning" (with a deck: reading it, then
    matching its pages), "transcribing", "generating", fraction 0..1 never decreasing within a
    stage. A video without an audio track gets no transcript and
    no subtitle files, and is not an error.
    """
    out_dir = Path(out_dir)
    report = progress or (lambda stage, fraction, message: None)
    if options.ocr:
        started = time.perf_counter()
        ocr_slides(manifest, out_dir, options, report)
        manifest.timings["ocr"] = round(time.perf_counter() - started, 3)
    aligned = None
    if options.deck:
        # Read as alignment's first part, as the Celery steps do: read before OCR, its seconds
        # (10 s for a 31-page deck) went unreported. extract() checked the file before any work.
        deck = read_deck(options.deck, report)
        aligned = align_to_deck(manifest, out_dir, deck, report, join_builds=not options.keep_builds)
    segments = None
    if options.transcribe:
        started = time.perf_counter()
        segments = transcribe_slides(manifest, Path(video_path), options, report)
        manifest.timings["transcribe"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    fill_keywords(manifest)
    manifest.title = deck_title(manifest)
    write_artifacts(manifest, out_dir, options, segments, report, aligned)
    manifest.timings["generate"] = round(time.perf_counter() - started, 3)


# The part of the "aligning" stage that reading the deck takes (10 s of 118 s on a 31-page deck).
DECK_READING_SHARE = 0.1


def read_deck(path, report: Progress) -> Deck:
    """The deck at `path` (slidecast.deck.open_deck), reported as the first part of "aligning"."""
    return open_deck(path, progress=lambda f: report("aligning", DECK_READING_SHARE * f,
                                                     f"reading the deck: {f:.0%} of its pages"))


def align_to_deck(manifest: Manifest, out_dir: Path, deck: Deck, report: Progress,
                  join_builds: bool = True) -> Alignment:
    """deck_page for every appearance and the deck's text for aligned slides (after OCR, which
    it overrides); timings "align". `join_builds`: the user did not ask to keep build steps, so
    those the deck does not tell apart are joined back (slidecast.deck.align_slides)."""
    started = time.perf_counter()
    aligned = align_slides(manifest, Path(out_dir), deck,
                           lambda f: report("aligning", DECK_READING_SHARE + (1 - DECK_READING_SHARE) * f,
                                            "matching the deck's pages"),
                           join_builds)
    manifest.timings["align"] = round(time.perf_counter() - started, 3)
    return aligned


def ocr_slides(manifest: Manifest, out_dir: Path, options: ExtractOptions, report: Progress) -> None:
    """OCR each distinct slide once (in parallel); repeats copy their first appearance."""
    distinct = manifest.distinct()
    report("ocr", 0.0, f"reading text on {len(distinct)} slides")

    def done(count: int, total: int) -> None:
        report("ocr", count / total, f"read slide {count} of {total}")

    images = [out_dir / s.image for s in distinct]
    sizes = [_size(p) for p in images]
    # The talk's surely read words correct its unsurely read ones (slidecast.ocr.vocab).
    pages = correct_pages(ocr_images(images, options.ocr_engine, options.workers, done))
    bodies = []
    for slide, page, flags in zip(distinct, pages, chrome_flags(pages, sizes, [s.live_regions for s in distinct])):
        live = live_flags(page, slide.live_regions)
        body = body_page(page, [[c or v for c, v in zip(*marks)] for marks in zip(flags, live)])
        slide.text = body.text
        slide.words = [w.to_dict(chrome=c, live=v) for line, chrome, lives in zip(page.lines, flags, live)
                       for w, c, v in zip(line, chrome, lives)]
        bodies.append(body)
    # The frame title is told by its place across the talk's slides, not by one slide alone.
    tiles = [[_fractions(box, size) for box in slide.live_regions] for slide, size in zip(distinct, sizes)]
    titles = talk_titles([ocr_lines(body, size) for body, size in zip(bodies, sizes)], [b.title for b in bodies], tiles)
    for slide, title in zip(distinct, titles):
        slide.title = title
    first = {s.index: s for s in distinct}
    for slide in manifest.slides:
        if slide.same_as is not None and slide.same_as in first:
            source = first[slide.same_as]
            slide.text, slide.title, slide.words = source.text, source.title, list(source.words)
    report("ocr", 1.0, "slide text read")


def _fractions(box: list[int], size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = max(1, size[0]), max(1, size[1])
    return box[0] / width, box[1] / height, box[2] / width, box[3] / height


def _size(image: Path) -> tuple[int, int]:
    with Image.open(image) as im:
        return im.size


def transcribe_slides(manifest: Manifest, video_path: Path, options: ExtractOptions,
                      report: Progress):
    """Transcribe the audio and give each appearance the words spoken during its [start, end).
    The recogniser is told the slides' words (their `text`: OCR's, or the deck's when aligned).

    Returns the segments, or None when the video has no audio track.
    """
    report("transcribing", 0.0, "transcribing the narration")
    segments = transcribe_media(video_path, options.transcribe_engine,
                                lambda f: report("transcribing", f, "transcribing the narration"),
                                slide_text=[s.text for s in manifest.distinct() if s.text])
    if segments is None:
        # Asked for a transcript and given none: the user should hear why, not find it missing.
        manifest.warnings.append(NO_AUDIO_WARNING)
        report("transcribing", 1.0, "no audio track: no transcript")
        return None
    warning = rough_engine_warning(options.transcribe_engine)
    if warning:
        manifest.warnings.append(warning)
    ranges = [(s.start, s.end) for s in manifest.slides]
    for slide, words in zip(manifest.slides, words_by_range(all_words(segments), ranges)):
        slide.transcript = " ".join(w.text for w in words)
    report("transcribing", 1.0, f"transcribed {sum(len(s.words) for s in segments)} words")
    return segments


def write_artifacts(manifest: Manifest, out_dir: Path, options: ExtractOptions, segments,
                    report: Progress, aligned: Alignment | None = None) -> None:
    """Write the requested files atomically and list them in manifest.artifacts.

    With `aligned` (the slides aligned to the talk's deck), aligned slides are the deck's own
    pages in the PDF (vector) and its rendered pages in notes and PPTX; the deck's outline decides
    the chapters of aligned slides.

    Files this run does not produce are removed, so a re-run into the same folder never leaves
    a stale transcript or PDF next to a manifest that does not list it.
    """
    wanted: dict[str, Callable[[], bytes]] = {}
    pictures = aligned.pictures if aligned else {}
    if options.pdf:
        deck = aligned.deck if aligned else None
        wanted["pdf"] = lambda: build_pdf(_pdf_pages(manifest, options), out_dir, _pdf_info(manifest), deck)
    if options.notes:
        wanted["markdown"] = lambda: render_notes(manifest, _relative(pictures, out_dir)).encode("utf-8")
    if options.subtitles and segments is not None:
        cues = make_cues(segments, [s.start for s in manifest.slides[1:]])
        wanted["srt"] = lambda: to_srt(cues).encode("utf-8")
        wanted["vtt"] = lambda: to_vtt(cues).encode("utf-8")
    chapters = _chapters(manifest, out_dir, aligned) if options.chapters else []
    if chapters:
        wanted["chapters"] = lambda: to_chapters_txt(chapters).encode("utf-8")
        wanted["chapters_vtt"] = lambda: to_chapters_vtt(chapters, manifest.video.duration).encode("utf-8")
    if options.pptx:
        wanted["pptx"] = lambda: build_pptx(manifest, out_dir, pictures)
    report("generating", 0.0, "writing documents")
    for done, (kind, build) in enumerate(wanted.items(), start=1):
        write_atomic(out_dir / ARTIFACT_FILES[kind], build())
        manifest.artifacts[kind] = ARTIFACT_FILES[kind]
        report("generating", done / len(wanted), f"wrote {ARTIFACT_FILES[kind]}")
    for kind, name in ARTIFACT_FILES.items():
        if kind not in wanted:
            manifest.artifacts.pop(kind, None)
            (out_dir / name).unlink(missing_ok=True)
    report("generating", 1.0, "documents written")


def _chapters(manifest: Manifest, out_dir: Path, aligned: Alignment | None):
    return make_chapters(manifest, aligned.outline if aligned else None,
                         navigation_sections(manifest.slides, out_dir))


def _relative(pictures: dict[int, Path], out_dir: Path) -> dict[int, str]:
    return {index: path.relative_to(out_dir).as_posix() for index, path in pictures.items()}


def _pdf_pages(manifest: Manifest, options: ExtractOptions) -> list[SlideEntry]:
    return list(manifest.slides) if options.pdf_all_appearances else manifest.distinct()


def _pdf_info(manifest: Manifest) -> PdfInfo:
    count = len(manifest.distinct())
    return PdfInfo(title=manifest.title, subject=f"{count} slides extracted by Slidecast",
                   keywords=manifest.keywords)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputNotWritable(f"cannot write {path.name} to {path.parent}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
