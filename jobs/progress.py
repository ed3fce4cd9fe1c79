"""Job progress: the library reports a 0..1 fraction per stage; `reporter(job_id)` turns that
into the job's 0-100 % (never backwards) through the job store, and stops the work by raising
slidecast.Cancelled once the job is no longer running."""

from __future__ import annotations

import slidecast
from infra.extensions import job_store
from infra.metrics import stage_reached

# The library reports a 0..1 fraction per stage; each stage owns a band of the job's 0-100 %, in
# pipeline order, so the job's progress only moves forward (skipped stages are simply jumped).
STAGE_BANDS = {"downloading": (0, 5), "decoding": (5, 25), "detecting": (25, 45), "ocr": (45, 70),
               "aligning": (70, 75), "transcribing": (75, 92), "generating": (92, 99), "publishing": (99, 100)}


# On Celery workers the deck is aligned in the generation step, after transcription (whose band
# ends at 92 %): there alignment owns the start of generation's band, or the job would stand
# still at 92 % for the whole alignment (the slowest stage with a long deck).
ALIGNING_LAST = {**STAGE_BANDS, "aligning": (92, 97)}


def stage_percent(stage: str, fraction: float, bands: dict = STAGE_BANDS) -> float | None:
    """The job-wide percent for `fraction` of `stage`; None for a stage `bands` does not know."""
    band = bands.get(stage)
    if band is None:
        return None
    low, high = band
    return low + (high - low) * max(0.0, min(1.0, float(fraction)))


def reporter(job_id: str, bands: dict = STAGE_BANDS):
    """report(stage, fraction, message="") for `job_id`; raises slidecast.Cancelled when the job
    is not running any more. `bands`: each stage's share of the job's 0-100 %."""
    store = job_store()
    state = {"percent": 0.0}

    def report(stage: str, fraction: float, message: str = "") -> None:
        stage_reached(stage)
        percent = stage_percent(stage, fraction, bands)
        state["percent"] = max(state["percent"], percent if percent is not None else 0.0)
        if not store.report_progress(job_id, stage, state["percent"], message or ""):
            raise slidecast.Cancelled("the job was cancelled")
    return report
