"""Why each candidate change was kept or not: the log behind `extract(..., explain=True)`.

Every candidate change gets one entry: its time, the rule that decided it, whether it became a
slide change, a few measures and a sentence a user can act on. Candidates come from three
places: the transition detector (the screen left its settled state: a new state, the old one
back, a drifting camera), the timeline (a new state too short, a build step, the same screen
again) and the keyframe pairs of the first pass where nothing was found (a change confined to a
live region, pointer-sized, or below the threshold). Written as explain.json (see
docs/engine.md for the rules and which option turns each).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .cells import NOISE_FACTOR, ChangeMeter

# rule -> (accepted as a slide change?, what the user can do about it)
RULES = {
    "slide change": (True, ""),
    "build": (False, "content only added to the slide before: one slide; --keep-builds keeps each step"),
    "build kept": (True, "content only added to the slide before: its own slide (--keep-builds)"),
    "too short": (False, "shown for less than --min-duration: taken for part of a transition"),
    "fade tail": (False, "the end of the change before it (a slow fade settling, a keyframe sharpening it)"),
    "same screen": (False, "the screen came back to what it showed before (a flash, a pointer)"),
    "camera drift": (False, "the same picture shifted by at most a pixel or two (a filmed screen)"),
    "keyframe redraw": (False, "a keyframe drew the slide faintly differently (compression after predicted frames,"
                                " or a noisy video's noise drawn afresh); under the default threshold"),
    "same slide": (False, "the slide before drawn again: faint differences, no pixel changed colour (encoder noise),"
                           " or an exposure step (the return judge's rules)"),
    "exposure": (False, "changed faintly all over (a camera's exposure or gain step), nowhere strongly"),
    "live region": (False, "changed only inside a live region (webcam, video); --ignore masks more"),
    "pointer": (False, "only pointer-sized spots changed; a higher --sensitivity counts smaller ones"),
    "noise": (False, "below the change threshold; a higher --sensitivity lowers it"),
}

# return rule -> what it means (explain.json's "returns": one entry per slide after the first)
RETURN_RULES = {
    "same picture": "no cell differs from the earlier slide by more than the change threshold",
    "spread thin": "cells differ faintly (encoder noise), and no pixel there changed colour: the same slide",
    "camera drift": "the same picture shifted by at most a pixel or two (a filmed screen)",
    "exposure": "changed faintly all over (a camera's exposure or gain step), nowhere strongly",
    "differs": "differs from the closest earlier slide by more than the change threshold: a slide of its own",
    "differs in colour": "differs from the closest earlier slide faintly, but pixels there changed colour:"
                         " a slide of its own",
    "none alike": "no earlier slide comes close (many cells differ strongly): a slide of its own",
}


@dataclass
class Candidate:
    time: float
    rule: str
    accepted: bool
    detail: str
    measures: dict = field(default_factory=dict)


class Explanation:
    """Collects candidates (cheap: a few per slide); `write(path)` saves them sorted by time."""

    def __init__(self):
        self.candidates: list[Candidate] = []
        self.returns: list[dict] = []

    def add(self, time: float, rule: str, **measures) -> None:
        accepted, detail = RULES[rule]
        clean = {k: _plain(v) for k, v in measures.items() if v is not None}
        self.candidates.append(Candidate(round(float(time), 3), rule, accepted, detail, clean))

    def add_return(self, time: float, same_as: int | None, compared_with: int | None, verdict) -> None:
        """Why the slide starting at `time` was linked to an earlier one (`same_as`) or not:
        the verdict (returns.Verdict) of its comparison with slide `compared_with` (the linked
        one, or the closest unlinked one; None when no earlier slide came close)."""
        rule = verdict.rule if verdict is not None else "none alike"
        self.returns.append({"time": round(float(time), 3), "same_as": same_as, "compared_with": compared_with,
                             "rule": rule, "detail": RETURN_RULES[rule],
                             "measures": {k: _plain(v) for k, v in (verdict.measures if verdict else {}).items()}})

    def times(self) -> np.ndarray:
        return np.array([c.time for c in self.candidates])

    def write(self, path: Path) -> None:
        entries = [asdict(c) for c in sorted(self.candidates, key=lambda c: c.time)]
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(json.dumps({"candidates": entries, "returns": self.returns}, indent=1))
        tmp.replace(path)


def pair_measures(meter: ChangeMeter, diff: np.ndarray) -> dict:
    """What a user needs to judge a comparison: cells changed (all, outside live regions and
    pointer-sized spots), the largest cell difference, the noise floor and the threshold, and
    the sensitivity at which the largest difference would have counted."""
    changed = meter.changed_cells(diff)
    free = diff[~meter.mask]
    floor = meter.noise_floor(diff)
    top = float(free.max()) if free.size else 0.0
    room = top - NOISE_FACTOR * floor
    needed = 0.5 - math.log2(room / meter.base) / 4 if room > 0 else None
    return {"changed_cells": int(changed.sum()), "content_cells": int(meter.content(diff).sum()),
            "live_cells_changed": int((diff > meter.threshold + NOISE_FACTOR * floor)[meter.mask].sum()),
            "max_cell_diff": round(top, 3), "noise_floor": round(floor, 3),
            "threshold": round(meter.threshold + NOISE_FACTOR * floor, 3),
            "sensitivity_needed": round(needed, 2) if needed is not None and 0 <= needed <= 1 else None}


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return round(float(value), 3)
    return value
