"""A job on Celery as a task graph, each step a thin task taking (job_id, attempt):

    slidecast.process_job (extraction)          slides found, pictures written
      [long video: slidecast.chunk.extract x N on extraction, then slidecast.chunk.merge]
    -> slidecast.analyse (analysis: OCR)   and   slidecast.transcribe (transcription), side by side
    -> slidecast.generate (generation: keywords, PDF, notes, subtitles; publish; succeed)

Steps hand files over in storage under jobs/<id>/work/ (extract/ holds manifest.json, slides/ and
thumbs/; ocr.json and transcript.json hold the analysis results). The thread-pool fallback does
not use this graph: it runs tasks.process_job, the whole pipeline in one go.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from pathlib import Path

import slidecast
from celery_config import PROCESS_JOB, celery
from extensions import db, job_store, storage
from job_steps import (claim_first_step, claim_or_retry, step, fetch_json, fetch_tree, finish_part, out_prefix, task_id,
                       put_json, put_tree, remove_files_unless_succeeded, run_guarded, send, step_context,
                       work_prefix)
from metrics import stage_timer
from models import Job, as_utc, utcnow
from slidecast import content
from slidecast.output.manifest import Manifest
from slidecast.output import OutputDir
from slidecast.transcribe.base import Segment, TimedWord
from slidecast.video import probe
from tasks import _input_video, _metrics, _publish, _reporter, _slide_rows

log = logging.getLogger("slidecast.tasks")

ANALYSE, TRANSCRIBE, GENERATE = "slidecast.analyse", "slidecast.transcribe", "slidecast.generate"
CHUNK_EXTRACT, CHUNK_MERGE = "slidecast.chunk.extract", "slidecast.chunk.merge"
EXTRACTION_STAGES = ("downloading", "decoding", "detecting")


def job_options(job: Job) -> slidecast.ExtractOptions:
    return slidecast.ExtractOptions.from_dict(job.options)


def extraction_only(options: slidecast.ExtractOptions) -> slidecast.ExtractOptions:
    """Find slides and write pictures; the later steps do text, transcript and documents."""
    return dataclasses.replace(options, ocr=False, transcribe=False, pdf=False, notes=False, subtitles=False)


def extraction_reporter(job_id: str):
    """Progress of the extraction step; the content stages extract() runs with everything off
    (it still names "generating") count as the end of detection."""
    report = _reporter(job_id)

    def progress(stage: str, fraction: float, message: str = "") -> None:
        if stage in EXTRACTION_STAGES:
            report(stage, fraction, message)
        else:
            report("detecting", 1.0, "slides found")
    return progress


def extract_names(manifest: Manifest) -> list[str]:
    """Files of an extraction result, relative to its folder."""
    names = ["manifest.json"]
    for slide in manifest.slides:
        names += [slide.image, slide.thumbnail]
    return names


# ---- extraction ----------------------------------------------------------------------------------
@celery.task(name=PROCESS_JOB, bind=True, ignore_result=True)
def process_job_task(self, job_id: str, attempt: int | None = None) -> str:
    """First step: claim the job (or take over one whose worker died), extract its slides."""
    with step_context(job_id), stage_timer():
        job = claim_or_retry(self, lambda: claim_first_step(job_id))
        if job is None:
            return "skipped"
        return run_guarded(self, job, lambda: _extract(job))


def _extract(job: Job) -> str:
    from flask import current_app
    with tempfile.TemporaryDirectory(prefix="slidecast-extract-") as tmp:
        work = Path(tmp)
        report = extraction_reporter(job.id)
        video = _input_video(job, work, report)
        if not job.upload_key:  # a download: later steps on other machines need the file too
            storage().put_file(f"{work_prefix(job.id)}/input{video.suffix}", video)
        duration = job.duration or probe(video).duration
        if duration > current_app.config["CHUNK_SECONDS"] * 1.25:
            from tasks_chunks import split
            return split(job, video, work, report)
        out = work / "out"
        manifest = slidecast.extract(video, out, extraction_only(job_options(job)), progress=report)
        OutputDir(out).write_manifest(manifest)
        put_tree(out, f"{work_prefix(job.id)}/extract", extract_names(manifest))
    fan_out(job)
    return "extracted"


def fan_out(job: Job) -> None:
    """After extraction: OCR and transcription side by side (those the options ask for), or
    straight to generation."""
    parts = analysis_parts(job_options(job))
    for name in parts:
        send(name, job, job.attempts)
    if not parts:
        send(GENERATE, job, job.attempts)


def analysis_parts(options: slidecast.ExtractOptions) -> list[str]:
    return [name for name, wanted in ((ANALYSE, options.ocr), (TRANSCRIBE, options.transcribe)) if wanted]


def after_part(job: Job, part: str) -> None:
    """Record an analysis part; the last one of the set sends generation."""
    if finish_part(job.id, job.attempts, part, analysis_parts(job_options(job))):
        send(GENERATE, job, job.attempts)


def fetch_extraction(job: Job, folder: Path) -> Manifest:
    prefix = f"{work_prefix(job.id)}/extract"
    fetch_tree(prefix, ["manifest.json"], folder)
    manifest = Manifest.load(folder / "manifest.json")
    fetch_tree(prefix, extract_names(manifest)[1:], folder)
    return manifest


# ---- analysis and transcription ---------------------------------------------------------------
@step(ANALYSE)
def analyse_task(job: Job) -> str:
    """OCR of every distinct slide; results to work/ocr.json."""
    with tempfile.TemporaryDirectory(prefix="slidecast-ocr-") as tmp:
        folder = Path(tmp)
        manifest = fetch_extraction(job, folder)
        began = time.perf_counter()
        content.ocr_slides(manifest, folder, job_options(job), _reporter(job.id))
        pages = [{"text": s.text, "title": s.title, "words": s.words} for s in manifest.slides]
        put_json(f"{work_prefix(job.id)}/ocr.json", {"slides": pages, "seconds": time.perf_counter() - began},
                 folder)
    after_part(job, ANALYSE)
    return "analysed"


@step(TRANSCRIBE)
def transcribe_task(job: Job) -> str:
    """Transcript of the narration, aligned to the slides; results to work/transcript.json."""
    with tempfile.TemporaryDirectory(prefix="slidecast-asr-") as tmp:
        folder = Path(tmp)
        manifest = fetch_extraction(job, folder)
        video = stored_video(job, folder, _reporter(job.id))
        began = time.perf_counter()
        segments = content.transcribe_slides(manifest, video, job_options(job), _reporter(job.id))
        data = {"transcripts": [s.transcript for s in manifest.slides], "seconds": time.perf_counter() - began,
                "segments": None if segments is None else [dataclasses.asdict(s) for s in segments]}
        put_json(f"{work_prefix(job.id)}/transcript.json", data, folder)
    after_part(job, TRANSCRIBE)
    return "transcribed"


def stored_video(job: Job, folder: Path, report) -> Path:
    """The file the extraction step read, in `folder`: the upload, or the download it stored."""
    if job.upload_key:
        return _input_video(job, folder, report)
    target = folder / "input.video"
    storage().fetch(f"{work_prefix(job.id)}/input.video", target)
    return target


# ---- generation --------------------------------------------------------------------------------
@step(GENERATE)
def generate_task(job: Job) -> str:
    """Keywords, title, PDF, notes, subtitles; publish everything; the job succeeds."""
    options = job_options(job)
    with tempfile.TemporaryDirectory(prefix="slidecast-generate-") as tmp:
        folder = Path(tmp)
        out = folder / "out"
        manifest = fetch_extraction(job, out)
        segments = _apply_analysis(job, manifest, options, folder)
        began = time.perf_counter()
        content.fill_keywords(manifest)
        manifest.title = content.deck_title(manifest)
        content.write_artifacts(manifest, out, options, segments, _reporter(job.id))
        manifest.timings["generate"] = round(time.perf_counter() - began, 3)
        manifest.options = options.to_dict()
        OutputDir(out).write_manifest(manifest)
        return _publish_and_succeed(job, manifest, out, folder)


def _apply_analysis(job: Job, manifest: Manifest, options, folder: Path):
    """Copy OCR text and transcripts of the analysis steps into the manifest; the segments."""
    segments = None
    if options.ocr:
        ocr = fetch_json(f"{work_prefix(job.id)}/ocr.json", folder)
        for slide, page in zip(manifest.slides, ocr["slides"]):
            slide.text, slide.title, slide.words = page["text"], page["title"], page["words"]
        manifest.timings["ocr"] = round(ocr["seconds"], 3)
    if options.transcribe:
        spoken = fetch_json(f"{work_prefix(job.id)}/transcript.json", folder)
        for slide, text in zip(manifest.slides, spoken["transcripts"]):
            slide.transcript = text
        manifest.timings["transcribe"] = round(spoken["seconds"], 3)
        if spoken["segments"] is not None:
            segments = [Segment(s["start"], s["end"], [TimedWord(**w) for w in s["words"]])
                        for s in spoken["segments"]]
    return segments


def _publish_and_succeed(job: Job, manifest: Manifest, out: Path, folder: Path) -> str:
    _reporter(job.id)("publishing", 0.99, "publishing artifacts")
    prefix = out_prefix(job.id)
    storage().delete_prefix(prefix)  # leftovers of an earlier attempt
    rows = _publish(job.id, out, prefix, manifest, folder) + _slide_rows(job.id, manifest, prefix)
    elapsed = (utcnow() - (as_utc(job.started_at) or utcnow())).total_seconds()
    rows.append(_metrics(job, manifest, elapsed))
    done = job_store().succeed(job.id, rows, slide_count=len(manifest.slides), duration=manifest.video.duration,
                               video_sha256=manifest.video.sha256)
    if not done:  # cancelled or deleted meanwhile, or a duplicate generation already succeeded
        db.session.rollback()
        remove_files_unless_succeeded(job.id)
        return "skipped"
    storage().delete_prefix(work_prefix(job.id))
    log.info("job %s succeeded: %d slides in %.1f s", job.id, len(manifest.slides), elapsed)
    return "succeeded"


def step_task_ids(job_id: str, attempts: int) -> list[str]:
    """Ids of the step messages a job may have in the broker (chunk pieces are not listed: they
    stop at their first progress checkpoint)."""
    ids = [task_id(job_id, PROCESS_JOB, 0)]
    for attempt in range(1, attempts + 2):
        ids += [task_id(job_id, name, attempt) for name in (PROCESS_JOB, ANALYSE, TRANSCRIBE, GENERATE, CHUNK_MERGE)]
    return ids
