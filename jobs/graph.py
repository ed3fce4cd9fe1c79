"""A job on Celery as a task graph, each step a thin task taking (job_id, attempt):

    slidecast.process_job (extraction)          slides found, pictures written
      [long video: slidecast.chunk.extract x N on extraction, then slidecast.chunk.merge]
    -> slidecast.analyse (analysis: OCR), then slidecast.transcribe (transcription, told the
       slides' words that OCR read)
    -> slidecast.generate (generation: alignment to the deck, keywords, PDF, notes, subtitles;
                           publish; succeed)

Each step is a function of the job here; tasks.py registers it as the Celery task of that name.
Steps hand files over in storage under the job's work folder (jobs/keys.py, jobs/handover.py).
The thread-pool fallback does not use this graph: it runs jobs/pipeline.process_job, the whole
pipeline in one go.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import slidecast
from flask import current_app

from celery_config import ANALYSE, GENERATE, ROUTES, TRANSCRIBE
from infra.extensions import db, job_store, storage
from jobs import keys
from jobs.chunks import merge_pieces, split
from jobs.dispatch import send
from jobs.handover import (extract_names, extraction_only, extraction_reporter, fetch_extraction, fetch_json,
                           job_options, put_json, put_tree, stored_video)
from jobs.deck import with_local_deck
from jobs.inputs import input_video
from jobs.progress import GRAPH_ORDER, job_bands, reporter, stage_percent
from jobs.publish import in_service_words, metrics_row, publish_files, result_values, slide_rows
from jobs.reuse import downloaded_sha256, reuse_earlier
from jobs.scratch import scratch
from jobs.steps import finish_part, remove_files_unless_succeeded
from models import Job, as_utc, utcnow
from slidecast import content
from slidecast.output import OutputDir
from slidecast.output.manifest import Manifest
from slidecast.transcribe.base import Segment, TimedWord
from slidecast.video import probe

log = logging.getLogger("slidecast.tasks")



# ---- extraction ----------------------------------------------------------------------------------
def extract(job: Job) -> str:
    """First step: extract the job's slides (a long video: plan pieces for chunks.py instead)."""
    with scratch("extract") as tmp:
        work = Path(tmp)
        video = input_video(job, work, extraction_reporter(job.id, graph_bands(job)))
        digest = downloaded_sha256(job, video)
        if reuse_earlier(job, digest):  # a download of a video already turned into slides
            return "reused"
        if not job.upload_key:  # a download: later steps on other machines need the file too
            storage().put_file(keys.stored_input_key(job.id, video.suffix), video)
        meta = probe(video)
        report = extraction_reporter(job.id, graph_bands(job, meta.has_audio))
        if (job.duration or meta.duration) > current_app.config["CHUNK_SECONDS"] * 1.25:
            return split(job, video, work, report, digest)
        out = work / "out"
        manifest = slidecast.extract(video, out, extraction_only(job_options(job)), progress=report, sha256=digest,
                                     meta=meta)
        OutputDir(out).write_manifest(manifest)
        put_tree(out, keys.extract_prefix(job.id), extract_names(manifest))
    fan_out(job, graph_bands(job, manifest.video.has_audio))
    return "extracted"


def graph_bands(job: Job, has_audio: bool = True) -> dict:
    """The job's progress bands on Celery (jobs/progress.py); `has_audio`: whether its video has
    sound to transcribe (true until the video is at hand)."""
    return job_bands(job_options(job), has_audio, GRAPH_ORDER)


def merge_chunks(job: Job) -> str:
    """After the last piece of a long video: join the pieces, then on as after extraction."""
    merged = merge_pieces(job)
    fan_out(job, graph_bands(job, merged.video.has_audio))
    return "merged"


def fan_out(job: Job, bands: dict) -> None:
    """After extraction: OCR, then transcription (those the options ask for; the recogniser
    takes the slides' words from OCR, so it waits for it), or straight to generation."""
    parts = analysis_parts(job_options(job))
    send_next(parts[0] if parts else GENERATE, job, "detecting", bands)


def send_next(name: str, job: Job, stage: str, bands: dict) -> None:
    """Send the job's next step, saying first that the job waits for a worker of its queue: with
    none consuming it, the job would read as still in `stage` of the step that ended. The next
    step replaces the message as soon as a worker takes it (`started`; it comes after: no race)."""
    queue = ROUTES[name]["queue"]
    job_store().report_progress(job.id, stage, stage_percent(stage, 1.0, bands), f"waiting for a worker of the {queue} queue",
                                force=True)
    send(name, job, job.attempts)


def started(job: Job, stage: str, message: str) -> None:
    """A step's first report, as soon as its worker took it: send_next's "waiting for a worker"
    would otherwise stay until the step's work reports, seconds later (once its inputs are
    fetched from storage and its engine loaded). Raises slidecast.Cancelled for a job no longer
    running. Made before anything is fetched, it cannot know the stages' bands yet (whether the
    video has sound is in the extraction's manifest): it names the stage only, and the store
    keeps, polls and publishes the percent the job has reached (report_progress)."""
    reporter(job.id, {})(stage, 0.0, message)


def analysis_parts(options: slidecast.ExtractOptions) -> list[str]:
    return [name for name, wanted in ((ANALYSE, options.ocr), (TRANSCRIBE, options.transcribe)) if wanted]


def after_part(job: Job, part: str, bands: dict) -> None:
    """Record an analysis part; the next part of the set follows it, the last sends generation."""
    parts = analysis_parts(job_options(job))
    stage = "ocr" if part == ANALYSE else "transcribing"
    if finish_part(job.id, job.attempts, part, parts):
        send_next(GENERATE, job, stage, bands)
    elif part in parts and parts.index(part) + 1 < len(parts):
        send_next(parts[parts.index(part) + 1], job, stage, bands)


# ---- analysis and transcription ---------------------------------------------------------------
def analyse(job: Job) -> str:
    """OCR of every distinct slide; results to work/ocr.json."""
    started(job, "ocr", "starting: reading the slides' text")
    with scratch("ocr") as tmp:
        folder = Path(tmp)
        manifest = fetch_extraction(job, folder)
        bands = graph_bands(job, manifest.video.has_audio)
        began, known = time.perf_counter(), list(manifest.warnings)
        content.ocr_slides(manifest, folder, job_options(job), reporter(job.id, bands))
        pages = [{"text": s.text, "title": s.title, "words": s.words} for s in manifest.slides]
        put_json(keys.ocr_key(job.id), {"slides": pages, "seconds": time.perf_counter() - began,
                                        "warnings": added_warnings(manifest, known)}, folder)
    after_part(job, ANALYSE, bands)
    return "analysed"


def transcribe(job: Job) -> str:
    """Transcript of the narration, aligned to the slides; results to work/transcript.json. The
    recogniser is told the slides' words (OCR's text, from the analysis step)."""
    started(job, "transcribing", "starting: transcribing the narration")
    with scratch("asr") as tmp:
        folder = Path(tmp)
        manifest = fetch_extraction(job, folder)
        bands = graph_bands(job, manifest.video.has_audio)  # without sound, "transcribing" has none
        if job_options(job).ocr:
            _apply_ocr(job, manifest, folder)
        video = stored_video(job, folder, reporter(job.id, bands))
        began, known = time.perf_counter(), list(manifest.warnings)
        segments = content.transcribe_slides(manifest, video, job_options(job), reporter(job.id, bands))
        data = {"transcripts": [s.transcript for s in manifest.slides], "seconds": time.perf_counter() - began,
                "segments": None if segments is None else [dataclasses.asdict(s) for s in segments],
                "warnings": added_warnings(manifest, known)}
        put_json(keys.transcript_key(job.id), data, folder)
    after_part(job, TRANSCRIBE, bands)
    return "transcribed"


def added_warnings(manifest: Manifest, known: list[str]) -> list[str]:
    """The warnings a step added to its copy of the manifest: only its results travel to the
    generation step, which would otherwise lose them (the job ends with the manifest's)."""
    return [w for w in manifest.warnings if w not in known]


def keep_warnings(manifest: Manifest, step_result: dict) -> None:
    """Add a step's warnings (added_warnings) to the manifest once, in the order the steps ran."""
    manifest.warnings.extend(w for w in step_result.get("warnings", []) if w not in manifest.warnings)


# ---- generation --------------------------------------------------------------------------------
def generate(job: Job) -> str:
    """Keywords, title, PDF, notes, subtitles; publish everything; the job succeeds."""
    options = job_options(job)
    started(job, "aligning" if options.deck else "generating", "starting: writing documents")
    with scratch("generate") as tmp:
        folder = Path(tmp)
        out = folder / "out"
        manifest = fetch_extraction(job, out)
        bands = graph_bands(job, manifest.video.has_audio)
        segments = _apply_analysis(job, manifest, options, folder)
        aligned = _align(job, manifest, out, folder, reporter(job.id, bands))
        began = time.perf_counter()
        content.fill_keywords(manifest)
        manifest.title = content.deck_title(manifest)
        content.write_artifacts(manifest, out, options, segments, reporter(job.id, bands), aligned)
        manifest.timings["generate"] = round(time.perf_counter() - began, 3)
        manifest.options = options.to_dict()
        in_service_words(manifest)
        OutputDir(out).write_manifest(manifest)
        return _publish_and_succeed(job, manifest, out, folder, bands)


def _apply_analysis(job: Job, manifest: Manifest, options, folder: Path):
    """Copy OCR text and transcripts of the analysis steps into the manifest; the segments."""
    segments = None
    if options.ocr:
        _apply_ocr(job, manifest, folder)
    if options.transcribe:
        spoken = fetch_json(keys.transcript_key(job.id), folder)
        for slide, text in zip(manifest.slides, spoken["transcripts"]):
            slide.transcript = text
        manifest.timings["transcribe"] = round(spoken["seconds"], 3)
        keep_warnings(manifest, spoken)
        if spoken["segments"] is not None:
            segments = [Segment(s["start"], s["end"], [TimedWord(**w) for w in s["words"]])
                        for s in spoken["segments"]]
    return segments


def _apply_ocr(job: Job, manifest: Manifest, folder: Path) -> None:
    ocr = fetch_json(keys.ocr_key(job.id), folder)
    for slide, page in zip(manifest.slides, ocr["slides"]):
        slide.text, slide.title, slide.words = page["text"], page["title"], page["words"]
    manifest.timings["ocr"] = round(ocr["seconds"], 3)
    keep_warnings(manifest, ocr)


def _align(job: Job, manifest: Manifest, out: Path, folder: Path, report):
    """The slides aligned to the job's deck (after OCR: the deck's text wins), None without one."""
    local = with_local_deck(job_options(job), job.id, folder)
    if not local.deck:
        return None
    deck = content.read_deck(local.deck, report)  # reported: a cancel stops it at the next page
    return content.align_to_deck(manifest, out, deck, report, join_builds=not job_options(job).keep_builds)


def _publish_and_succeed(job: Job, manifest: Manifest, out: Path, folder: Path, bands: dict) -> str:
    reporter(job.id, bands)("publishing", 0.99, "publishing artifacts")
    prefix = keys.out_prefix(job.id)
    storage().delete_prefix(prefix)  # leftovers of an earlier attempt
    rows = publish_files(job.id, out, prefix, manifest, folder) + slide_rows(job.id, manifest, prefix)
    elapsed = (utcnow() - (as_utc(job.started_at) or utcnow())).total_seconds()
    rows.append(metrics_row(job, manifest, elapsed))
    done = job_store().succeed(job.id, rows, **result_values(manifest))
    if not done:  # cancelled or deleted meanwhile, or a duplicate generation already succeeded
        db.session.rollback()
        remove_files_unless_succeeded(job.id)
        return "skipped"
    storage().delete_prefix(keys.work_prefix(job.id))
    log.info("job %s succeeded: %d slides in %.1f s", job.id, len(manifest.slides), elapsed)
    return "succeeded"
