"""Scores of predicted slide transitions against a synthetic video's ground truth.

Matching is one-to-one within a tolerance (1.0 s): the closest pair first, repeated (greedy by
distance; on sorted 1-D times with gaps of seconds between transitions this equals the optimal
assignment in practice, without needing scipy).
"""

from __future__ import annotations

TOLERANCE = 1.0


def match(truth: list[float], predicted: list[float], tolerance: float = TOLERANCE) -> list[tuple[int, int]]:
    """Pairs (truth index, predicted index), each index used at most once, |t - p| <= tolerance."""
    candidates = sorted((abs(t - p), i, j) for i, t in enumerate(truth)
                        for j, p in enumerate(predicted) if abs(t - p) <= tolerance)
    used_t, used_p, pairs = set(), set(), []
    for _, i, j in candidates:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def segments(transitions: list[float], duration: float) -> list[tuple[float, float]]:
    """The appearances implied by a list of transition times."""
    edges = [0.0] + sorted(t for t in transitions if 0 < t < duration) + [duration]
    return list(zip(edges, edges[1:]))


def best_overlap(span: tuple[float, float], spans: list[tuple[float, float]]) -> tuple[int | None, float]:
    """Index of the span in `spans` overlapping `span` most, and that overlap's share of `span`."""
    best, share = None, 0.0
    length = max(span[1] - span[0], 1e-9)
    for k, (s, e) in enumerate(spans):
        overlap = min(e, span[1]) - max(s, span[0])
        if overlap / length > share:
            best, share = k, overlap / length
    return best, share


def missed_slides(appearances: list[tuple[float, float]], found: list[tuple[float, float]]) -> list:
    """Truth appearances that no detected slide stands for: a detected slide stands for the one
    truth appearance it overlaps longest, and must cover more than half of it. (One long
    detected slide over many truth slides stands for one of them only.)"""
    covered = set()
    for span in found:
        k, _ = best_overlap(span, appearances)
        if k is not None and best_overlap(appearances[k], [span])[1] > 0.5:
            covered.add(k)
    return [a for k, a in enumerate(appearances) if k not in covered]


def score(truth: dict, predicted: list[float], same_as: list[int | None] | None = None,
          keep_builds: bool = False) -> dict:
    """Precision/recall/F1 of transitions, extra (duplicate) entries, missed slides, 2-second
    slides found and, when `same_as` is given (one per predicted appearance, 1-based), how many
    returns to an earlier slide were recognised."""
    expected = sorted(truth["transitions"] + (truth["build_transitions"] if keep_builds else []))
    predicted = sorted(predicted)
    pairs = match(expected, predicted)
    hit_t, hit_p = {i for i, _ in pairs}, {j for _, j in pairs}
    tp = len(pairs)
    precision = tp / len(predicted) if predicted else float(not expected)
    recall = tp / len(expected) if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    appearances = [(a["start"], a["end"]) for a in truth["appearances"]]
    if keep_builds:  # every build step is its own slide; returns are not scored
        appearances, same_as = segments(expected, truth["duration"]), None
    found = segments(predicted, truth["duration"])
    missed = missed_slides(appearances, found)
    short = [a for a in appearances if a[1] - a[0] <= 2.5]
    result = {
        "precision": precision, "recall": recall, "f1": f1,
        "extra": [round(p, 2) for j, p in enumerate(predicted) if j not in hit_p],
        "missed_transitions": [t for i, t in enumerate(expected) if i not in hit_t],
        "missed_slides": [[round(s, 2), round(e, 2)] for s, e in missed],
        "short_found": (len([a for a in short if a not in missed]), len(short)),
    }
    if same_as is not None:
        result["returns_found"] = _returns_found(truth, found, same_as)
    return result


def _returns_found(truth: dict, found: list, same_as: list) -> tuple[int, int]:
    """(recognised, total) returns: the predicted appearance over a returning truth appearance
    names, as its same_as, the predicted appearance over that slide's first truth appearance."""
    appearances = truth["appearances"]
    returns = [a for a in appearances if a["same_as_appearance"]]
    ok = 0
    for a in returns:
        mine, _ = best_overlap((a["start"], a["end"]), found)
        first = appearances[a["same_as_appearance"] - 1]
        theirs, _ = best_overlap((first["start"], first["end"]), found)
        if mine is not None and theirs is not None and mine < len(same_as) and same_as[mine] == theirs + 1:
            ok += 1
    return ok, len(returns)
