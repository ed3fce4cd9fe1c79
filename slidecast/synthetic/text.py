"""Deterministic English-like lecture text for synthetic slides.

Only real dictionary words are used, so that OCR accuracy can later be measured on these slides.
Every function takes a numpy Generator, so the same seed always gives the same text.
"""

from __future__ import annotations

import re

import numpy as np

TOPICS = (
    "Distributed Systems", "Linear Algebra", "Cell Biology", "Machine Learning",
    "Thermodynamics", "Microeconomics", "Operating Systems", "Organic Chemistry",
    "Signal Processing", "Climate Science", "Database Design", "Cognitive Psychology",
)

NOUNS = (
    "model", "system", "process", "energy", "network", "function", "signal", "memory",
    "market", "protein", "error", "sample", "theory", "method", "structure", "pressure",
    "temperature", "matrix", "vector", "graph", "algorithm", "cell", "population", "price",
    "cost", "rate", "layer", "query", "index", "feature", "result", "experiment",
    "measurement", "equation", "variable", "constraint", "interface", "server", "client",
    "request", "response", "gradient", "distribution", "probability", "estimate", "boundary",
    "surface", "reaction", "solution", "frequency", "spectrum", "filter", "policy", "strategy",
    "decision", "budget", "climate", "molecule", "enzyme", "pattern", "schedule", "buffer",
)

ADJECTIVES = (
    "simple", "linear", "random", "stable", "efficient", "large", "small", "common",
    "important", "average", "total", "local", "global", "high", "low", "different", "similar",
    "complex", "basic", "optimal", "fast", "slow", "accurate", "typical", "central", "final",
    "initial", "natural", "digital", "physical", "careful", "useful", "careless", "constant",
)

VERBS = (
    "controls", "reduces", "increases", "describes", "measures", "predicts", "explains",
    "improves", "changes", "limits", "defines", "supports", "requires", "produces", "follows",
    "depends on", "shows", "connects", "stores", "compares", "balances", "replaces",
)

SENTENCES = (
    "The {a} {n} {v} the {n2}",
    "Each {n} {v} a {a} {n2}",
    "A {a} {n} is useful for the {n2} and the {n3}",
    "We use the {n} to estimate the {a} {n2}",
    "Note that the {n} {v} the {a} {n2}",
    "Example: a {a} {n} with a {a2} {n2}",
    "In practice the {n2} {v} the {n}",
    "The {n} of a {a} {n2} {v} the {n3}",
    "Why the {a} {n} {v} the {n2}",
    "Compare the {a} {n} with the {a2} {n2}",
)

TITLES = (
    "{T}: {A} {N}",
    "The {N} of the {N2}",
    "{A} {N} and {N2}",
    "Why the {N} Matters",
    "From {N} to {N2}",
    "Measuring the {A} {N}",
    "Case Study: {A} {N}",
    "{N} versus {N2}",
    "How a {N} Works",
    "Review: {A} {N} Design",
)


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def _fill(template: str, rng: np.random.Generator, topic: str) -> str:
    n = [_pick(rng, NOUNS) for _ in range(3)]
    a = [_pick(rng, ADJECTIVES) for _ in range(2)]
    values = {
        "n": n[0], "n2": n[1], "n3": n[2], "a": a[0], "a2": a[1], "v": _pick(rng, VERBS),
        "N": n[0].title(), "N2": n[1].title(), "A": a[0].title(), "T": topic,
    }
    return template.format(**values)


def sentence(rng: np.random.Generator, topic: str) -> str:
    """One bullet sentence, first letter capitalised, no final period (as slides are written)."""
    text = _fill(_pick(rng, SENTENCES), rng, topic)
    text = re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", text)
    return text[0].upper() + text[1:]


def title(rng: np.random.Generator, topic: str) -> str:
    """A slide title such as 'Measuring the Stable Gradient'."""
    text = _fill(_pick(rng, TITLES), rng, topic)
    return re.sub(r"\b([Aa]) (?=[AEIOUaeiou])", r"\1n ", text)


def label(rng: np.random.Generator) -> str:
    """A short capitalised label for figure boxes, bars and axes."""
    return _pick(rng, NOUNS).title()
