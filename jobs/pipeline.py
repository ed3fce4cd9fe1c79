"""A job in one go, for the thread-pool fallback: `process_job(job_id)` runs the whole pipeline
inside an app context and records the outcome (on Celery the same job runs as the task graph of
jobs/graph.py). It is idempotent: a job that is not `queued` any more (running elsewhere,
finished, cancelled, deleted) is left alone, and a finished job is never reopened.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm.exc import ObjectDeletedError

import slidecast
from infra.extensions import db, executor, job_store, storage
from infra.logging import job_context
from infra.metrics import stage_timer
from jobs.deck import with_local_deck
from jobs.inputs import BadVideo, DownloadFailed, input_video
from jobs.keys import job_prefix, out_prefix as output_prefix
from jobs.progress import job_bands, reporter
from jobs.reuse import downloaded_sha256, reuse_earlier
from jobs.publish import in_service_words, metrics_row, publish_files, result_values, slide_rows
from jobs.scratch import scratch
from jobs.upload_readers import remove_unused_upload
from models import QUEUED, RUNNING, Job
from slidecast.output import OutputDir
from slidecast.video import probe

log = logging.getLogger("slidecast.tasks")

INTERNAL_ERROR = "internal error while processing the job; the server log has the details"
HANDED_BACK = "re-queued: the server stopped while this job ran; it starts again when the server starts"


class ServerStopping(slidecast.Cancelled):
    """The server process is stopping (JobExecutor.hand_back): the job goes back to the queue."""


def process_job(job_id: str) -> str:
    """Run one job to a final state. Returns what happened: succeeded, failed, cancelled, skipped."""
    with job_context(job_id), stage_timer():  # job_id on every log line; stage durations measured
        return _process_job(job_id)


def _process_job(job_id: str) -> str:
    store = job_store()
    job = db.session.get(Job, job_id)
    if job is None or not store.start(job_id, executor().owner_for(job.executor)):
        log.info("job %s is not queued any more; nothing to do", job_id)
        return "skipped"
    started = time.monotonic()
    out_prefix = output_prefix(job_id)
    try:
        with scratch("job") as work:
            return _run(job_id, Path(work), out_prefix, started)
    except ServerStopping:
        _remove_partial(job_id, out_prefix)
        _hand_back(job_id)
        return "re-queued"
    except (slidecast.Cancelled, ObjectDeletedError):  # the latter: the job's row was deleted meanwhile
        db.session.rollback()
        _remove_partial(job_id, out_prefix)
        log.info("job %s stopped: cancelled or deleted", job_id)
        return "cancelled"
    except (slidecast.SlidecastError, BadVideo, DownloadFailed) as exc:
        _remove_partial(job_id, out_prefix)
        if store.fail(job_id, str(exc) or type(exc).__name__):
            remove_unused_upload(job_id)
        return "failed"
    except Exception:
        db.session.rollback()
        if _deleted(job_id):  # its files went from under it: no failure to tell anyone
            storage().delete_prefix(job_prefix(job_id))
            log.info("job %s stopped: deleted while it ran", job_id)
            return "cancelled"
        log.exception("job %s failed with an unexpected error", job_id)
        _fail_quietly(job_id, out_prefix)
        return "failed"


def _fail_quietly(job_id: str, out_prefix: str) -> None:
    """Record the failure even if the database session is in a broken state."""
    db.session.rollback()
    try:
        storage().delete_prefix(out_prefix)
    finally:
        if job_store().fail(job_id, INTERNAL_ERROR):
            remove_unused_upload(job_id)


def _hand_back(job_id: str) -> None:
    """Back to `queued` for the next start of the server, this try not counted: a stop for a
    deploy is no fault of the job (JOB_MAX_ATTEMPTS is for jobs that keep killing their process)."""
    if job_store().transition(job_id, QUEUED, (RUNNING,), owner_is=executor().owner, stage=None, progress=0.0,
                              attempts=Job.attempts - 1, message=HANDED_BACK):
        log.info("job %s handed back: the server is stopping", job_id)


def _stops_with_server(report):
    """`report`, raising ServerStopping first once the server is stopping."""
    stopping = executor().stopping

    def checked(stage: str, fraction: float, message: str = "") -> None:
        if stopping.is_set():
            raise ServerStopping("the server is stopping")
        report(stage, fraction, message)
    return checked


def _deleted(job_id: str) -> bool:
    """Whether the job's row is gone; False when the database cannot tell now."""
    try:
        return db.session.get(Job, job_id, populate_existing=True) is None
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return False


def _remove_partial(job_id: str, out_prefix: str) -> None:
    """Remove what this run published; everything of the job when it was deleted meanwhile (its
    delete removed the files while this run could still write some)."""
    storage().delete_prefix(job_prefix(job_id) if _deleted(job_id) else out_prefix)


def _run(job_id: str, work: Path, out_prefix: str, started: float) -> str:
    store = job_store()
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:  # deleted right after it started
        raise slidecast.Cancelled("the job was deleted")
    options = slidecast.ExtractOptions.from_dict(job.options)
    video = input_video(job, work, _stops_with_server(reporter(job_id, job_bands(options))))
    digest = downloaded_sha256(job, video)
    if reuse_earlier(job, digest):  # a download of a video already turned into slides
        return "succeeded"
    # Whether there is sound to transcribe decides the stages' shares (jobs/progress.py); the
    # library is given this probe rather than opening the video again for it.
    meta = probe(video)
    report = _stops_with_server(reporter(job_id, job_bands(options, meta.has_audio)))
    options = with_local_deck(options, job_id, work)
    manifest = slidecast.extract(video, work / "out", options, progress=report, sha256=digest, meta=meta)
    reworded = in_service_words(manifest)
    if options.deck:  # the manifest names the deck as the job does, not by a path of this machine
        manifest.options["deck"] = job.options["deck"]
    if options.deck or reworded:
        OutputDir(work / "out").write_manifest(manifest)
    report("publishing", 0.99, "publishing artifacts")
    storage().delete_prefix(out_prefix)  # leftovers of an interrupted earlier attempt
    rows = publish_files(job_id, work / "out", out_prefix, manifest, work)
    rows += slide_rows(job_id, manifest, out_prefix)
    elapsed = time.monotonic() - started
    rows.append(metrics_row(job, manifest, elapsed))
    done = store.succeed(job_id, rows, **result_values(manifest))
    if not done:  # cancelled or deleted while publishing: leave nothing behind
        _remove_partial(job_id, out_prefix)
        return "cancelled"
    log.info("job %s succeeded: %d slides in %.1f s", job_id, len(manifest.slides), elapsed)
    return "succeeded"
