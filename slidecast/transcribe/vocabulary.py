"""A language model that knows the slides: the words on a talk's slides (OCR or the deck's text)
made likely for the recogniser, so that a lecture's technical terms can be heard at all.

PocketSphinx decodes with one n-gram model and cannot interpolate two through its Python API,
so a small model is built per video and written as ARPA text (the format every n-gram decoder
reads): its vocabulary is the general model's most frequent words plus the slides' words that
the pronunciation dictionary knows; probabilities mix the slides' own unigrams and bigrams with
the general model's (queried from the bundled model itself), with Katz-style back-off weights
so that each history's probabilities add up to one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

# Words of the general model kept: the most frequent ones carry the sentences around the terms.
COMMON_WORDS = 3000
# Of those, histories whose bigrams are taken from the general model, and the words looked up
# after each history (the model is queried word by word: this bounds the time, a few seconds).
COMMON_HISTORIES = 150
COMMON_FOLLOWERS = 1000
# Share of probability the slides get: of each unigram, and of each bigram after a slide word.
SLIDE_UNIGRAM_WEIGHT = 0.3
SLIDE_BIGRAM_WEIGHT = 0.5
_WORD = re.compile(r"[a-z][a-z']*")
_LOG10_BASE = math.log10(1.0001)  # PocketSphinx's log probabilities are in base 1.0001


def slide_words(texts: list[str]) -> list[str]:
    """The slides' text as lower-case word sequences joined by line ("\\n" between lines)."""
    lines = []
    for text in texts:
        for line in text.lower().splitlines():
            words = _WORD.findall(line)
            if words:
                lines.append(" ".join(words))
    return lines


class SlideModel:
    """Builds the mixed model for one video from a loaded PocketSphinx decoder."""

    def __init__(self, decoder, dictionary_words: list[str]):
        self.decoder = decoder
        self.general = decoder.get_lm("_default")
        self.dictionary_words = dictionary_words

    def write_arpa(self, lines: list[str], path: Path) -> int:
        """Write the model for slide text `lines` (slide_words) to `path`; its vocabulary size."""
        known = [[w for w in line.split() if self.decoder.lookup_word(w)] for line in lines]
        unigrams = Counter(w for line in known for w in line)
        bigrams = Counter(pair for line in known for pair in zip(["<s>"] + line, line + ["</s>"]))
        common = self._common()
        vocabulary = sorted(set(common) | set(unigrams))
        p_uni = self._unigrams(vocabulary, unigrams)
        histories = set(common[:COMMON_HISTORIES]) | set(unigrams) | {"<s>"}
        followers = sorted(set(common[:COMMON_FOLLOWERS]) | set(unigrams))
        p_bi = {h: self._bigrams(h, followers, bigrams, p_uni) for h in sorted(histories)}
        _write(path, p_uni, p_bi)
        return len(vocabulary)

    def _common(self) -> list[str]:
        scored = sorted(((self.general.prob([w]), w) for w in self.dictionary_words), reverse=True)
        return [w for _, w in scored[:COMMON_WORDS]]

    def _general(self, word: str, history: str | None = None) -> float:
        words = [word] if history is None else [word, history]
        return 10 ** (self.general.prob(words) * _LOG10_BASE)

    def _unigrams(self, vocabulary: list[str], slide: Counter) -> dict[str, float]:
        general = {w: self._general(w) for w in vocabulary}
        total_general, total_slide = sum(general.values()), max(1, sum(slide.values()))
        mixed = {w: (1 - SLIDE_UNIGRAM_WEIGHT) * general[w] / total_general
                 + SLIDE_UNIGRAM_WEIGHT * slide[w] / total_slide for w in vocabulary}
        mixed["</s>"] = mixed["<s>"] = 0.05  # sentence ends: a pause is as likely as a word
        total = sum(v for k, v in mixed.items() if k != "<s>")
        return {w: p / total for w, p in mixed.items()}

    def _bigrams(self, history: str, followers: list[str], slide: Counter, p_uni) -> dict[str, float]:
        """P(w | history) for the words the general model or the slides say follow `history`
        more often than they occur at all; the rest is left to the back-off."""
        out = {}
        after = {w2: n for (w1, w2), n in slide.items() if w1 == history}
        seen = sum(after.values())
        for word in followers + ["</s>"]:
            general = self._general(word, history) if history != "<s>" and word != "</s>" else 0.0
            slides = after.get(word, 0) / seen if seen else 0.0
            p = (1 - SLIDE_BIGRAM_WEIGHT) * general + SLIDE_BIGRAM_WEIGHT * slides if seen else general
            if p > 2 * p_uni.get(word, 0.0):
                out[word] = p
        mass = sum(out.values())
        if mass > 0.9:  # queried on a subset of the vocabulary: never more than the whole
            out = {w: 0.9 * p / mass for w, p in out.items()}
        return out


def _write(path: Path, p_uni: dict[str, float], p_bi: dict[str, dict[str, float]]) -> None:
    backoff = {}
    for history, following in p_bi.items():
        left = 1.0 - sum(following.values())
        covered = sum(p_uni.get(w, 0.0) for w in following)
        backoff[history] = left / max(1e-9, 1.0 - covered)
    count = sum(len(f) for f in p_bi.values())
    lines = ["\\data\\", f"ngram 1={len(p_uni)}", f"ngram 2={count}", "", "\\1-grams:"]
    for word, p in sorted(p_uni.items()):
        logp = -99.0 if word == "<s>" else math.log10(p)
        lines.append(f"{logp:.4f}\t{word}\t{math.log10(backoff.get(word, 1.0)):.4f}")
    lines += ["", "\\2-grams:"]
    for history, following in sorted(p_bi.items()):
        lines += [f"{math.log10(p):.4f}\t{history} {word}" for word, p in sorted(following.items())]
    lines += ["", "\\end\\", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")
