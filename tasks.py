"""Every Celery task of Slidecast, thin: ids in, one call into jobs/. Each runs inside the Flask
app context (celery_config.celery_init_app); which queue takes it is decided by its name
(celery_config.ROUTES). How the steps follow each other: jobs/graph.py."""

from __future__ import annotations

from celery import shared_task

from celery_config import (ANALYSE, CHUNK_EXTRACT, CHUNK_MERGE, EXPIRE_JOBS, GENERATE, PROCESS_JOB, RECOVER_STALE,
                           TRANSCRIBE)
from jobs import chunks, graph, recovery
from jobs.steps import run_first_step, run_step


@shared_task(name=PROCESS_JOB, bind=True, ignore_result=True)
def process_job(self, job_id: str, attempt: int | None = None) -> str:
    """First step: claim the job (or take over one whose worker died), extract its slides."""
    return run_first_step(self, job_id, graph.extract)


@shared_task(name=CHUNK_EXTRACT, bind=True, ignore_result=True)
def chunk_extract(self, job_id: str, attempt: int, index: int) -> str:
    """One piece (time window) of a long video."""
    return run_step(self, job_id, attempt, chunks.extract_piece, index)


@shared_task(name=CHUNK_MERGE, bind=True, ignore_result=True)
def chunk_merge(self, job_id: str, attempt: int) -> str:
    """Join a long video's pieces, then analysis and transcription."""
    return run_step(self, job_id, attempt, graph.merge_chunks)


@shared_task(name=ANALYSE, bind=True, ignore_result=True)
def analyse(self, job_id: str, attempt: int) -> str:
    """OCR of every distinct slide."""
    return run_step(self, job_id, attempt, graph.analyse)


@shared_task(name=TRANSCRIBE, bind=True, ignore_result=True)
def transcribe(self, job_id: str, attempt: int) -> str:
    """The narration's transcript, aligned to the slides."""
    return run_step(self, job_id, attempt, graph.transcribe)


@shared_task(name=GENERATE, bind=True, ignore_result=True)
def generate(self, job_id: str, attempt: int) -> str:
    """Keywords, title, PDF, notes, subtitles; publish; the job succeeds."""
    return run_step(self, job_id, attempt, graph.generate)


@shared_task(name=RECOVER_STALE, ignore_result=True)
def recover_stale() -> dict:
    """Re-queue or fail jobs whose worker stopped (beat schedule); skipped while a worker sweeps."""
    return recovery.sweep_once() or {"requeued": [], "failed": [], "skipped": "another process is sweeping"}


@shared_task(name=EXPIRE_JOBS, ignore_result=True)
def expire_jobs() -> dict:
    """Delete finished jobs past JOB_RETENTION_DAYS, and the files of no job (beat schedule)."""
    return dict(recovery.expire_jobs(), orphans_removed=recovery.remove_orphans())
