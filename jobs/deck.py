"""The talk's deck sent with a video: checked at submit (a PDF that PDFium opens, within
MAX_DECK_MB and MAX_DECK_PAGES), stored beside the video, and handed to the step that aligns."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import slidecast
from infra.extensions import storage
from jobs import keys
from jobs.upload_readers import reading_upload
from slidecast.deck import DeckError, check_pdf
from slidecast.pipeline import FileHasher

# What a job's options say of its deck: the file's hash, so that the same video with another
# deck is another job, and the job never names a path of the server.
DECK_MARK = "sha256:"
# Every page of a deck must load (its content parsed) within this many seconds at submit. A page
# can take minutes (a 28 KB PDF whose 400 pages share one 10 MB content stream: ~15 s each), and
# PDFium cannot be interrupted, so the pages are loaded in a child process that is killed then.
LOAD_SECONDS = 20.0


class BadDeck(Exception):
    """The deck is no PDF this service takes; the message says why, for the person who sent it."""


def check_deck(path: Path, config) -> str:
    """The deck's mark for the job's options (DECK_MARK + its SHA-256); BadDeck when the file
    is larger than MAX_DECK_MB, is not a PDF, cannot be opened, has no pages or more than
    MAX_DECK_PAGES, a page of a size no slide has, or pages that do not load within LOAD_SECONDS."""
    size, limit = Path(path).stat().st_size, config["MAX_DECK_MB"]
    if size > limit * 1024 * 1024:
        raise BadDeck(f"the deck is {size / 2**20:.1f} MB, more than the {limit} MB allowed (MAX_DECK_MB)")
    try:
        pages = check_pdf(Path(path))
    except DeckError as exc:
        raise BadDeck(exc.reason) from None  # the API names the file the person sent
    if pages > config["MAX_DECK_PAGES"]:
        raise BadDeck(f"the deck has {pages} pages, more than the {config['MAX_DECK_PAGES']} allowed (MAX_DECK_PAGES)")
    _load_in_time(Path(path))
    return DECK_MARK + FileHasher(Path(path)).result()


def _load_in_time(path: Path) -> None:
    """BadDeck when a page does not load, or the pages take more than LOAD_SECONDS to load."""
    code = "import sys; from pathlib import Path; from slidecast.deck import load_pages; load_pages(Path(sys.argv[1]))"
    try:
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                              timeout=LOAD_SECONDS, cwd=Path(slidecast.__file__).parent.parent)
    except subprocess.TimeoutExpired:
        raise BadDeck(f"the deck's pages take more than {LOAD_SECONDS:.0f} s to load: they are too heavy to draw; "
                      "send a lighter PDF (exported again)") from None
    if done.returncode != 0:
        raise BadDeck("the deck's pages cannot be read: a page does not load (the file is damaged)")


def store_deck(job_id: str, path: Path) -> int:
    """Put the checked deck in storage beside the job's video; its size."""
    return storage().put_file(keys.deck_key(job_id), path)


def with_local_deck(options: slidecast.ExtractOptions, job_id: str, folder: Path) -> slidecast.ExtractOptions:
    """`options` with `deck` the job's stored deck fetched into `folder` (unchanged without one).
    Raises slidecast.Cancelled when the job is not running: a cancelled or failed job's deck goes
    with its upload (jobs/upload_readers.py), and this copy holds them off as the video's does."""
    if not options.deck:
        return options
    target = Path(folder) / "deck.pdf"
    with reading_upload(job_id):
        storage().fetch(keys.deck_key(job_id), target)
    return dataclasses.replace(options, deck=str(target))
