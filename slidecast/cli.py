"""Command line: `slidecast extract VIDEO --out DIR` (also `python -m slidecast`).

Exit 0 on success. On a SlidecastError: the error class's exit code and one line on stderr
(`slidecast: error: ...`), or with --json a JSON object {"error": {"type", "message",
"exit_code"}} on stdout. A progress bar is drawn only when stderr is a terminal and neither
--quiet nor --json is given.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import math
import os
import sys
from pathlib import Path

from .errors import SlidecastError
from .options import ExtractOptions, Region


class UsageError(SlidecastError):
    """A command line that cannot be right, whatever the video: exit code 2, as argparse's own."""

    exit_code = 2


def _region(text: str) -> Region:
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h as fractions 0..1, got {text!r}") from None
    if not all(0.0 <= v <= 1.0 for v in (x, y, w, h)):
        raise argparse.ArgumentTypeError(f"region values must be fractions 0..1, got {text!r}")
    return Region(x, y, w, h)


def _number(text: str, kind=float) -> float | None:
    """`text` as a finite number of `kind`, else None: nan and inf are no option's value (nan
    passed every comparison with a bound, inf stood for "never")."""
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _sensitivity(text: str) -> float:
    value = _number(text)
    if value is None or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


MAX_MIN_DURATION = 600.0  # the API's bound (api/schemas.py): a screen still for 10 min is a slide


def _seconds(text: str) -> float:
    value = _number(text)
    if value is None or not 0 <= value <= MAX_MIN_DURATION:
        raise argparse.ArgumentTypeError(f"must be a number of seconds from 0 to {MAX_MIN_DURATION:g}, got {text!r}")
    return value


def _workers(text: str) -> int:
    value = _number(text, int)
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 (one per core) or more, got {text!r}")
    return value


def _ocr_engine(text: str) -> str:
    from .ocr import ENGINES

    if text != "auto" and text not in ENGINES:
        raise argparse.ArgumentTypeError(f"must be auto, {' or '.join(ENGINES)}, got {text!r}")
    return text


def _transcribe_engine(text: str) -> str:
    # Only the name is checked here; whether the engine can run is the pipeline's error (exit 7).
    if text not in ("auto", "pocketsphinx", "whisper") and not text.startswith("whisper:"):
        raise argparse.ArgumentTypeError(f"must be auto, pocketsphinx, whisper or whisper:/path/to/model, got {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors the CLI's way: one line naming the option and its allowed values
    (or JSON with --json), exit 2, instead of the usage summary (eight lines for `extract`). It
    keeps the names of its options (option_names) for the did-you-mean hint."""

    def __init__(self, *args, **kwargs):
        self.option_names: list[str] = []  # before argparse's __init__, which adds --help
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise UsageError(f"{message} (`{self.prog} --help` lists the options)")

    def add_argument(self, *args, **kwargs):
        """argparse's, keeping the option's names (option_names) for the did-you-mean hint."""
        action = super().add_argument(*args, **kwargs)
        self.option_names += action.option_strings
        return action


def parse_args(argv: list[str]):
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the command's own parser says it, so the error names `slidecast extract --help`
        command = parser.commands[args.command]
        command.error(f"unrecognized arguments: {' '.join(unknown)}{_did_you_mean(unknown, command)}")
    if args.command == "extract" and args.out is None:
        parser.commands["extract"].error("the following arguments are required: --out")
    return args


def _did_you_mean(unknown: list[str], command: _Parser) -> str:
    """" (did you mean --transcribe?)" for the first unknown option close to one of `command`'s."""
    for token in unknown:
        if token.startswith("--"):
            close = difflib.get_close_matches(token.partition("=")[0], command.option_names, n=1, cutoff=0.75)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slidecast", description="Turn lecture videos into slide decks.")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = sub.choices
    ex = sub.add_parser("extract", help="find the slides of a video and write them to a folder")
    ex.add_argument("video", help="input video file")
    # Checked after parsing (parse_args): argparse names a missing required option before an
    # unknown one, so `extract talk.mp4 --bogus` would say "--out is required", not "--bogus".
    ex.add_argument("--out", help="output folder (created if missing; required)")
    ex.add_argument("--sensitivity", type=_sensitivity, default=0.5,
                    help="0..1; higher finds smaller changes (default 0.5)")
    ex.add_argument("--min-duration", type=_seconds, default=1.0, dest="min_duration",
                    help="seconds a screen must stand still to count as a slide (default 1.0)")
    ex.add_argument("--ignore", type=_region, action="append", default=[], metavar="X,Y,W,H",
                    help="region to ignore, as fractions of the frame (repeatable)")
    ex.add_argument("--keep-builds", action="store_true", help="every build step is its own slide")
    ex.add_argument("--no-ocr", action="store_true", help="skip reading the slides' text")
    ex.add_argument("--transcribe", action="store_true", help="transcribe the narration")
    ex.add_argument("--no-pdf", action="store_true", help="do not write the PDF")
    ex.add_argument("--notes", action=argparse.BooleanOptionalAction, default=True,
                    help="write Markdown notes (default on)")
    ex.add_argument("--no-subtitles", action="store_true", help="do not write SRT/VTT subtitles")
    ex.add_argument("--no-chapters", action="store_true", help="do not write chapters.txt/.vtt")
    ex.add_argument("--pptx", action="store_true", help="also write slides.pptx (notes: text and narration)")
    ex.add_argument("--deck", metavar="DECK.pdf", help="the talk's own slides as a PDF: pages are matched to the video")
    ex.add_argument("--pdf-all-appearances", action="store_true",
                    help="one PDF page per appearance, not per distinct slide")
    ex.add_argument("--ocr-engine", type=_ocr_engine, default="auto", help="auto, rapid or tesseract (default auto: rapid)")
    ex.add_argument("--transcribe-engine", type=_transcribe_engine, default="auto",
                    help="auto, pocketsphinx or whisper:/path/to/local/model (default auto)")
    ex.add_argument("--workers", type=_workers, default=0, help="OCR threads (default 0: one per core)")
    ex.add_argument("--explain", action="store_true",
                    help="also write explain.json: every candidate change and why it was kept or not")
    ex.add_argument("--quiet", action="store_true", help="print nothing but errors")
    ex.add_argument("--json", action="store_true", help="print the manifest (or error) as JSON on stdout")
    return parser


def check_out(out: str) -> None:
    """--out names a folder; a file there would only come back from the OS as "File exists"."""
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out must be a folder; {out} is a file")


def options_from_args(args) -> ExtractOptions:
    return ExtractOptions(sensitivity=args.sensitivity, min_slide_duration=args.min_duration,
                          ignore_regions=list(args.ignore), keep_builds=args.keep_builds,
                          ocr=not args.no_ocr, transcribe=args.transcribe, pdf=not args.no_pdf,
                          notes=args.notes, subtitles=not args.no_subtitles,
                          chapters=not args.no_chapters, pptx=args.pptx, deck=args.deck,
                          pdf_all_appearances=args.pdf_all_appearances, ocr_engine=args.ocr_engine,
                          transcribe_engine=args.transcribe_engine, workers=args.workers)


class _Bar:
    """tqdm bar per stage, on stderr."""

    def __init__(self):
        from tqdm import tqdm

        self.tqdm, self.bar, self.stage = tqdm, None, None

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            # The message rides in {unit}: tqdm puts ", " before any {postfix}.
            self.bar = self.tqdm(total=100, desc=stage, unit="", leave=False, file=sys.stderr, **_screen(),
                                 bar_format="{desc:>12} {percentage:3.0f}%|{bar}| {unit}")
        self.bar.n = round(fraction * 100)
        self.bar.unit = message
        self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _screen() -> dict:
    """Nothing: tqdm follows the terminal's size. A terminal that reports no size (a new pty,
    `script`, `docker run -t`) gets 80x24; tqdm would draw nothing on a 0x0 one."""
    try:
        if os.get_terminal_size(sys.stderr.fileno()).columns:
            return {}
    except OSError:
        pass
    return {"ncols": 80, "nrows": 24}


def report(exc: SlidecastError, as_json: bool) -> int:
    """One line on stderr (and with --json the error as JSON on stdout); the exit code."""
    if as_json:
        print(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc), "exit_code": exc.exit_code}}))
    print(f"slidecast: error: {exc}", file=sys.stderr)
    return exc.exit_code


def unused_options(args) -> list[str]:
    """An engine chosen for a stage that is off: most likely the stage was meant to be on."""
    unused = []
    if args.transcribe_engine != "auto" and not args.transcribe:
        unused.append("--transcribe-engine has no effect without --transcribe")
    if args.ocr_engine != "auto" and args.no_ocr:
        unused.append("--ocr-engine has no effect with --no-ocr")
    return unused


def _asks_json(argv: list[str]) -> bool:
    """--json anywhere on a command line argparse refused, abbreviations included (argparse takes
    `--js` for `--json`), so the error comes back in the form the caller reads."""
    return any(len(arg) > 3 and "--json".startswith(arg) for arg in argv)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"slidecast: warning: {warning}", file=sys.stderr)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
    except UsageError as exc:
        return report(exc, _asks_json(argv))
    from .pipeline import extract

    logging.basicConfig(level=logging.ERROR if args.quiet or args.json else logging.WARNING,
                        format="slidecast: warning: %(message)s")
    # fpdf2 names each character the PDF's text font lacks (OCR misreads, CJK); the picture on the
    # page is whole and the user can do nothing about it.
    logging.getLogger("fpdf").setLevel(logging.ERROR)
    if not args.quiet:
        _warn(unused_options(args))
    bar = _Bar() if sys.stderr.isatty() and not (args.quiet or args.json) else None
    try:
        check_out(args.out)
        manifest = extract(args.video, args.out, options_from_args(args), progress=bar, explain=args.explain)
    except SlidecastError as exc:
        return report(exc, args.json)
    except KeyboardInterrupt:
        print("slidecast: interrupted", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        _warn(manifest.warnings)
    if args.json:
        print(manifest.to_json())
    elif not args.quiet:
        # Slides as the PDF and the service's slide_count count them; appearances as the timeline.
        slides, appearances = len(manifest.distinct()), len(manifest.slides)
        shown = f" ({_count(appearances, 'appearance')})" if appearances != slides else ""
        print(f"{_count(slides, 'slide')}{shown} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
