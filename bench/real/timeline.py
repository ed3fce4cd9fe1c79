"""Which page is on screen when: a realism video's playlist and its exact ground truth.

A playlist is a list of Items (a page shown for some seconds, entered by a transition). The
truth groups consecutive items joined by builds (the next page only adds ink) into one
appearance, as the engine's contract does: a build is one slide, shown by its fullest state.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import pages as pg

TRANSITIONS = ("cut", "fade", "wipe", "push")


@dataclass
class Item:
    page: int            # 1-based page number in the deck
    file: Path
    seconds: float
    transition: str = "cut"   # how this item enters (centred on its start)
    transition_seconds: float = 0.0
    build: bool = False       # this item only adds ink to the previous one
    changed: float = 0.0      # share of the page that changed from the previous item
    is_return: bool = False


def _durations(rng, n: int, typical: float) -> list[float]:
    raw = np.clip(np.exp(rng.normal(math.log(typical), 0.5, n)), 4.0, 3 * typical)
    return [round(float(d) * 5) / 5 for d in raw]  # whole frames at 25 and 30 fps


def playlist(files: list[Path], first_page: int, rng, *, typical: float = 8.0, shorts: int = 2,
             returns: int = 2, weights: dict | None = None, fade: tuple[float, float] = (0.5, 1.2)) -> list[Item]:
    """Pages in deck order, each shown a log-normal time around `typical` s (build steps 2.4-6 s),
    `shorts` single-page slides of exactly 2 s, `returns` jumps back to an earlier slide, and
    transitions drawn from `weights` for slide changes (builds always cut, as beamer does)."""
    kept = _visible(files, first_page)
    items = [Item(page, f, d) for (page, f), d in zip(kept, _durations(rng, len(kept), typical))]
    _mark_changes(items)
    for k in range(1, len(items)):  # a build step is short: the speaker reveals the next point
        if items[k].build:
            items[k - 1].seconds = round(float(rng.uniform(2.4, 6.0)) * 5) / 5
    _insert_returns(items, rng, returns)
    _mark_changes(items)
    _make_shorts(items, rng, shorts)
    _pick_transitions(items, rng, weights or {"cut": 1.0}, fade)
    return items


def _visible(files: list[Path], first_page: int) -> list[tuple[int, Path]]:
    """(page, file) pairs, dropping blank pages and a page that looks the same as the next one."""
    kept = []
    for k, f in enumerate(files):
        if pg.blank(f) or k + 1 < len(files) and pg.compare(f, files[k + 1])["same"]:
            continue
        kept.append((first_page + k, f))
    return kept


def _mark_changes(items: list[Item]) -> None:
    for prev, cur in zip(items, items[1:]):
        change = pg.compare(prev.file, cur.file)
        cur.build, cur.changed = change["build"], change["changed"]


def _appearance_ends(items: list[Item]) -> list[int]:
    """Indices of the items that end an appearance (the next item is not a build)."""
    return [k for k in range(len(items)) if k + 1 == len(items) or not items[k + 1].build]


def _insert_returns(items: list[Item], rng, count: int) -> None:
    """Go back to the fullest state of an earlier slide that is not the one just left."""
    for _ in range(count):
        ends = _appearance_ends(items)
        if len(ends) < 5:
            return
        at = int(rng.choice(ends[3:-1]))  # after this item, before the next page
        earlier = [k for k in ends if k < at - 1 and items[k].page != items[at].page
                   and not items[k].is_return and not items[k + 1].is_return]
        if not earlier:
            continue
        back = items[int(rng.choice(earlier))]
        seconds = round(float(rng.uniform(3.0, 8.0)) * 5) / 5
        items.insert(at + 1, Item(back.page, back.file, seconds, is_return=True))


def _make_shorts(items: list[Item], rng, count: int) -> None:
    ends = set(_appearance_ends(items))
    single = [k for k in range(1, len(items) - 1) if k in ends and not items[k].build
              and k - 1 in ends and not items[k].is_return]
    for k in rng.permutation(single)[:count].tolist():
        items[k].seconds = 2.0


def _pick_transitions(items: list[Item], rng, weights: dict, fade: tuple[float, float]) -> None:
    kinds = list(weights)
    p = np.array([weights[k] for k in kinds], float)
    for prev, cur in zip(items, items[1:]):
        kind = "cut" if cur.build else str(rng.choice(kinds, p=p / p.sum()))
        if kind == "cut":
            continue
        low, high = fade if kind == "fade" else (0.4, 0.8)
        room = min(prev.seconds, cur.seconds) - 0.4  # the new page is fully shown for a while
        seconds = round(min(float(rng.uniform(low, high)), room), 2)
        if seconds >= 0.2:
            cur.transition, cur.transition_seconds = kind, seconds


def starts(items: list[Item]) -> list[float]:
    out, t = [], 0.0
    for item in items:
        out.append(t)
        t += item.seconds
    return out


def truth(items: list[Item], fps: float) -> dict:
    """The ground truth (bench/scoring.py's format) of a playlist at `fps`: appearances with
    their deck page and same_as, slide transitions, build transitions, and every change."""
    begin = starts(items)
    total = int(round(sum(i.seconds for i in items) * fps))

    def snap(t: float) -> float:  # the first frame at or after t (a transition's midpoint)
        return round(min(math.ceil(t * fps - 1e-6), total) / fps, 3)

    appearances, transitions, builds, changes, first_seen = [], [], [], [], {}
    for k, item in enumerate(items):
        if k:
            time = snap(begin[k])
            (builds if item.build else transitions).append(time)
            changes.append({"time": time, "from_page": items[k - 1].page, "to_page": item.page,
                            "kind": item.transition, "seconds": item.transition_seconds,
                            "build": item.build, "changed": item.changed})
        if item.build:
            appearances[-1]["pages"].append(item.page)
            appearances[-1]["deck_page"] = item.page
            continue
        appearances.append({"start": snap(begin[k]), "deck_page": item.page, "pages": [item.page]})
    for n, a in enumerate(appearances):
        a["end"] = appearances[n + 1]["start"] if n + 1 < len(appearances) else round(total / fps, 3)
        a["slide_id"] = a["deck_page"]
        a["same_as_appearance"] = first_seen.get(a["deck_page"])
        first_seen.setdefault(a["deck_page"], n + 1)
    return {"duration": round(total / fps, 3), "fps": fps, "appearances": appearances,
            "transitions": transitions, "build_transitions": builds, "changes": changes,
            "playlist": [{**asdict(i), "file": i.file.name} for i in items], "slides": {}}


def as_seen(truth: dict) -> dict:
    """The truth as a viewer sees it: a change between two pages that are the same picture (no
    pixel differs by pages.INK at the comparison size, e.g. a return to page 5 followed by page
    8) shows nothing on screen, so it is no slide change and its two appearances are one. A
    change of a few pixels (a page number, one digit) still counts. Returns point at the merged
    appearances. Scorers apply this; the saved truth keeps every page change."""
    unseen = {c["time"] for c in truth["changes"] if not c["build"] and c["changed"] == 0}
    if not unseen:
        return truth
    merged, number = [], {}
    for n, a in enumerate(truth["appearances"], 1):
        if merged and a["start"] in unseen:
            merged[-1] = {**merged[-1], "end": a["end"], "pages": merged[-1]["pages"] + a["pages"]}
        else:
            merged.append(dict(a))
        number[n] = len(merged)
    for a in merged:
        if a["same_as_appearance"]:
            a["same_as_appearance"] = number[a["same_as_appearance"]]
    return {**truth, "appearances": merged, "unseen_changes": sorted(unseen),
            "transitions": [t for t in truth["transitions"] if t not in unseen]}
