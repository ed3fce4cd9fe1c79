"""The talk's deck sent with a video: checked at submit (a PDF that PDFium opens, within
MAX_DECK_MB and MAX_DECK_PAGES), stored beside the video, and handed to the step that aligns."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import slidecast
from infra.extensions import storage
from jobs import keys
from slidecast.deck import DeckError, check_pdf
from slidecast.pipeline import FileHasher

# What a job's options say of its deck: the file's hash, so that the same video with another
# deck is another job, and the job never names a path of the server.
DECK_MARK = "sha256:"


class BadDeck(Exception):
    """The deck is no PDF this service takes; the message says why, for the person who sent it."""


def check_deck(path: Path, config) -> str:
    """The deck's mark for the job's options (DECK_MARK + its SHA-256); BadDeck when the file
    is larger than MAX_DECK_MB, is not a PDF, cannot be opened, or has no pages or more than
    MAX_DECK_PAGES."""
    size, limit = Path(path).stat().st_size, config["MAX_DECK_MB"]
    if size > limit * 1024 * 1024:
        raise BadDeck(f"the deck is {size / 2**20:.1f} MB, more than the {limit} MB allowed (MAX_DECK_MB)")
    try:
        pages = check_pdf(Path(path))
    except DeckError as exc:
        raise BadDeck(str(exc)) from None
    if pages > config["MAX_DECK_PAGES"]:
        raise BadDeck(f"the deck has {pages} pages, more than the {config['MAX_DECK_PAGES']} allowed (MAX_DECK_PAGES)")
    return DECK_MARK + FileHasher(Path(path)).result()


def store_deck(job_id: str, path: Path) -> int:
    """Put the checked deck in storage beside the job's video; its size."""
    return storage().put_file(keys.deck_key(job_id), path)


def with_local_deck(options: slidecast.ExtractOptions, job_id: str, folder: Path) -> slidecast.ExtractOptions:
    """`options` with `deck` the job's stored deck fetched into `folder` (unchanged without one)."""
    if not options.deck:
        return options
    target = Path(folder) / "deck.pdf"
    storage().fetch(keys.deck_key(job_id), target)
    return dataclasses.replace(options, deck=str(target))
