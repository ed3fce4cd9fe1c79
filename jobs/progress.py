"""Job progress: the library reports a 0..1 fraction per stage; `reporter(job_id, bands)` turns
that into the job's 0-100 % (never backwards) through the job store, and stops the work by
raising slidecast.Cancelled once the job is no longer running. `job_bands` gives each stage the
job will run its band of the 0-100 %."""

from __future__ import annotations

import slidecast
from infra.extensions import job_store
from infra.metrics import stage_reached

# A download, when there is one, is the first 5 %; every job's other stages share the rest.
DOWNLOAD_BAND = (0.0, 5.0)

# Each stage's share of the work when it runs: its seconds on a dev talk (talk-cuts, 233 s, 33
# appearances) with its 31-page deck on the thread pool (docs/benchmarks.md, "New-user fixes"):
# reading keyframes 0.3 s (more on long videos), detection 11 s, OCR 45 s, the deck's alignment
# 118 s (10 s of it reading the deck), documents 10 s. A transcription is taken as long as OCR.
STAGE_WEIGHTS = {"decoding": 2, "detecting": 10, "ocr": 45, "aligning": 110, "transcribing": 45, "generating": 10,
                 "publishing": 1}

# The order of the stages on the thread pool (slidecast.extract runs them all) ...
PIPELINE_ORDER = ("decoding", "detecting", "ocr", "aligning", "transcribing", "generating", "publishing")
# ... and on Celery workers, where the deck is aligned in the generation step, after transcription.
GRAPH_ORDER = ("decoding", "detecting", "ocr", "transcribing", "aligning", "generating", "publishing")


def job_bands(options: slidecast.ExtractOptions, has_audio: bool = True, order=PIPELINE_ORDER) -> dict:
    """Stage -> (low, high) % in `order` for a job of `options`, each stage that runs as wide as
    its weight. A stage the job skips (OCR off, no deck, no transcription asked or no sound to
    transcribe) is as wide as nothing, where it would have been: its share goes to the stages
    that run, so the job's progress moves through the work there is, and a report of that stage
    ("no audio track: no transcript") names it without moving the progress."""
    skipped = {"ocr": not options.ocr, "aligning": not options.deck,
               "transcribing": not (options.transcribe and has_audio)}
    weights = {stage: 0 if skipped.get(stage) else STAGE_WEIGHTS[stage] for stage in order}
    scale = (100.0 - DOWNLOAD_BAND[1]) / sum(weights.values())
    bands, low = {"downloading": DOWNLOAD_BAND}, DOWNLOAD_BAND[1]
    for stage in order:
        bands[stage] = (low, low + weights[stage] * scale)
        low = bands[stage][1]
    return bands


def stage_percent(stage: str, fraction: float, bands: dict) -> float | None:
    """The job-wide percent for `fraction` of `stage`; None for a stage `bands` does not have."""
    band = bands.get(stage)
    if band is None:
        return None
    low, high = band
    return low + (high - low) * max(0.0, min(1.0, float(fraction)))


def reporter(job_id: str, bands: dict):
    """report(stage, fraction, message="") for `job_id`; raises slidecast.Cancelled when the job
    is not running any more. `bands`: each stage's share of the job's 0-100 % (job_bands)."""
    store = job_store()
    state = {"percent": 0.0}

    def report(stage: str, fraction: float, message: str = "") -> None:
        stage_reached(stage)
        percent = stage_percent(stage, fraction, bands)
        state["percent"] = max(state["percent"], percent if percent is not None else 0.0)
        if not store.report_progress(job_id, stage, state["percent"], message or ""):
            raise slidecast.Cancelled("the job was cancelled")
    return report
