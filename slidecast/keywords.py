"""Keywords (YAKE, statistical, no model) per slide and for the whole deck; the deck title."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import resources

import yake

from .output.manifest import Manifest, SlideEntry

SLIDE_TOP = 8
DECK_TOP = 15
# Fewer OCR words than this and the slide is a picture or a title card: the narration then says
# more about it than its text does.
MIN_TEXT_WORDS = 4
EDGE_PUNCTUATION = ".,;:!?"
INNER_PUNCTUATION = re.compile(r"[.,;:!?]\s+[a-z]")  # "Univ. Press" stays


# Languages whose stopword list (YAKE's own) the talk's language is chosen from: YAKE itself
# takes the language as given, and English stopwords left "die", "der", "ist" as a German
# lecture's keywords.
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cz", "tr", "ru")


@lru_cache(maxsize=None)
def _stopwords(language: str) -> frozenset[str]:
    text = resources.files("yake.core").joinpath("StopwordsList", f"stopwords_{language}.txt").read_text("utf-8")
    return frozenset(word.strip().lower() for word in text.splitlines() if word.strip())


def text_language(text: str) -> str:
    """The language (YAKE's code) whose stopwords make up most of `text`'s words; "en" when
    none stands out (few words, or formulas and names only)."""
    words = Counter(re.findall(r"[^\W\d_]+", text.lower()))
    hits = {lang: sum(n for word, n in words.items() if word in _stopwords(lang)) for lang in LANGUAGES}
    best = max(LANGUAGES, key=lambda lang: hits[lang])
    return best if hits[best] > hits["en"] * 1.5 and hits[best] >= 5 else "en"


def extract_keywords(text: str, top: int, language: str = "en") -> list[str]:
    """Up to `top` key phrases (1-2 words) of `text`, best first, without case-duplicates."""
    # Each slide line is its own phrase: a key phrase must not run from one bullet into the next.
    text = ". ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if len(re.findall(r"[A-Za-z]{3,}", text)) == 0:
        return []
    extractor = yake.KeywordExtractor(lan=language, n=2, dedup_lim=0.7, top=top * 2)
    covered: set[str] = set()
    out: list[str] = []
    for phrase, _score in extractor.extract_keywords(text):
        # YAKE keeps a sentence's full stop on its last word: "perfect phylogeny." next to
        # "Perfect Phylogeny" in a deck's keywords.
        phrase = phrase.strip(EDGE_PUNCTUATION)
        words = {word.strip(EDGE_PUNCTUATION) for word in phrase.lower().split()}
        # "Descent" says nothing new after "Gradient Descent". A line that breaks mid-sentence
        # ("... follows the" / "protein") left YAKE tokens such as "the." that its stopword list
        # misses: "the. protein" and "the" were keywords, "Protein. error" ran across the break.
        if words <= covered or not re.search(r"[A-Za-z]{2,}", phrase) or words <= _stopwords(language) \
                or INNER_PUNCTUATION.search(phrase):
            continue
        covered |= words
        out.append(phrase)
        if len(out) == top:
            break
    return out


def slide_source_text(slide: SlideEntry) -> str:
    """What a slide's keywords come from: its text, plus the narration when the text is thin.

    Slide text is what the author chose to write; the offline recogniser's transcript is noisier,
    so it only speaks for slides that have almost no text.
    """
    if len(slide.text.split()) >= MIN_TEXT_WORDS:
        return slide.text
    return f"{slide.text}\n{slide.transcript}".strip()


def fill_keywords(manifest: Manifest) -> None:
    """Set keywords on every appearance (repeats share their slide's) and on the deck."""
    deck_text = "\n".join(slide_source_text(s) for s in manifest.distinct())
    # One language for the talk: a slide alone has too few words to tell.
    language = text_language(deck_text)
    by_index = {}
    for slide in manifest.distinct():
        slide.keywords = extract_keywords(slide_source_text(slide), SLIDE_TOP, language)
        by_index[slide.index] = slide.keywords
    for slide in manifest.slides:
        if slide.same_as is not None:
            slide.keywords = list(by_index.get(slide.same_as, []))
    manifest.keywords = extract_keywords(deck_text, DECK_TOP, language)


def deck_title(manifest: Manifest) -> str:
    """The first slide's title; if it has none, the first titled slide's; else ""."""
    for slide in manifest.distinct():
        if slide.title.strip():
            return slide.title.strip()
    return ""
