"""Unsure words corrected from the words the same video read surely.

Small type (a code listing in a speaker view) is read one letter off ("drau", "atart",
"rectangla"), and the engine says so: on the pgf pictures words read under 0.5 confidence are
right 34% of the time, over 0.98 99% (docs/benchmarks.md). The same word is usually read
surely on another slide of the talk, so the talk's own sure words are the vocabulary: no
dictionary, so German or Italian slides are treated like English ones.

A word is changed only when it is letters alone (digits and punctuation around it kept as
read), at least MIN_LENGTH long, read under UNSURE, never read surely itself anywhere in the
video (then it is a real word: "whose" next to "whole"), and exactly one sure word is one edit
away, seen surely at least MIN_SEEN times and LEAD times as often as any other such word. A
letter may not be added or dropped at the end, nor a last letter changed to a usual ending:
there words differ by inflection ("graphic" / "graphics", "questo" / "questa"), not by
misreading; "drau" -> "draw" is kept.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from .base import PageText, Word

UNSURE, SURE = 0.8, 0.95
MIN_LENGTH, MIN_SEEN, LEAD = 4, 3, 3
# Letters words end in by inflection (English -s -d -y, German -e -en -er -es -em, Italian -o
# -a -i -e, ...): a last letter is changed only to another letter ("drau" -> "draw").
ENDINGS = set("aeiouysdrnmt")
_CORE = re.compile(r"^(\W*)([^\W\d_]+)(\W*)$")


def correct_pages(pages: list[PageText]) -> list[PageText]:
    """The pages of one video with unsure words replaced by the video's sure spelling."""
    sure, spelling = _sure_words(pages)
    by_length: dict[int, list[str]] = defaultdict(list)
    for key in sure:
        by_length[len(key)].append(key)
    fixed: dict[str, str | None] = {}

    def corrected(word: Word) -> Word:
        parts = _CORE.match(word.text)
        if word.confidence >= UNSURE or not parts or len(parts.group(2)) < MIN_LENGTH:
            return word
        key = parts.group(2).lower()
        if key in sure:
            return word
        if key not in fixed:
            fixed[key] = _replacement(key, sure, by_length)
        if fixed[key] is None:
            return word
        return Word(parts.group(1) + spelling[fixed[key]] + parts.group(3), word.box, word.confidence)

    return [PageText(lines=[[corrected(w) for w in line] for line in page.lines]) for page in pages]


def _sure_words(pages: list[PageText]) -> tuple[Counter, dict[str, str]]:
    """How often each word (lower case) was read surely, and its usual sure spelling."""
    sure: Counter = Counter()
    forms: dict[str, Counter] = defaultdict(Counter)
    for page in pages:
        for word in page.words:
            parts = _CORE.match(word.text)
            if parts and word.confidence >= SURE:
                sure[parts.group(2).lower()] += 1
                forms[parts.group(2).lower()][parts.group(2)] += 1
    return sure, {key: counts.most_common(1)[0][0] for key, counts in forms.items()}


def _replacement(key: str, sure: Counter, by_length: dict[int, list[str]]) -> str | None:
    near = [c for n in (len(key) - 1, len(key), len(key) + 1) for c in by_length.get(n, ()) if _one_edit(key, c)]
    if not near:
        return None
    near.sort(key=lambda c: -sure[c])
    if sure[near[0]] < MIN_SEEN or (len(near) > 1 and sure[near[0]] < LEAD * sure[near[1]]):
        return None
    return near[0]


def _one_edit(read: str, sure: str) -> bool:
    """One letter changed, added or dropped, not where words end by grammar (see ENDINGS)."""
    a, b = read, sure
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 and (diff[0] < len(a) - 1 or b[-1] not in ENDINGS)
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1:] == short for i in range(len(long) - 1))
