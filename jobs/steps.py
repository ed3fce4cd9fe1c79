"""What every Celery step of a job shares: claiming, heartbeat, retries, failing cleanly.

A step receives (job_id, attempt). It runs only while the job is `running` with that attempt
number: a step of an earlier attempt (a job re-queued after its worker died) or of a finished job
does nothing, so a redelivered or duplicated message is harmless. Steps write whole files under
the job's work folder in storage (jobs/keys.py), so the next step may run on another machine.

Failure policy (reliability_settings in celery_config.py has the Celery side):
- bad input (slidecast errors, BadVideo, DownloadFailed): the job fails with the reason, no retry;
- a transient database fault (the connection ended or refused: a restart, a failover): the step
  waits in its process for the database to answer again and runs again from its claim, for up
  to DB_FAULT_RETRY_SECONDS from the first fault (run_patiently), then the job fails;
- other transient faults (broker, Redis or storage connections; a video_url server that
  does not answer now: DownloadUnavailable): the step is retried with
  exponential backoff and full jitter, up to TASK_MAX_RETRIES times, then the job fails;
- SoftTimeLimitExceeded, wherever it strikes (claim, body, failure handling): the job fails with a
  message naming JOB_TIME_LIMIT, recorded with the soft limit's signal ignored;
- cancelled (seen at a progress checkpoint): the job's work and output files are removed;
- deleted while a step ran (seen at a checkpoint, or as files or the row gone from under it):
  whatever the step wrote after the delete is removed, everything under the job's prefix, and
  nothing is logged as a failure.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager

import kombu.exceptions
import redis
import sqlalchemy as sa
from billiard.pool import SIG_SOFT_TIMEOUT
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from flask import current_app
from kombu.utils.functional import retry_over_time
from sqlalchemy.orm.exc import ObjectDeletedError

import slidecast
from infra.extensions import db, job_store, storage
from infra.logging import job_context
from infra.metrics import stage_timer
from infra.storage import StorageError
from jobs.dispatch import patiently
from jobs.identity import process_identity
from jobs.inputs import BadVideo, DownloadFailed, DownloadUnavailable
from jobs.keys import job_prefix, out_prefix, work_prefix
from jobs.pipeline import INTERNAL_ERROR
from jobs.recovery import take_over, worker_gone
from jobs.upload_readers import remove_unused_upload
from models import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job, JobPart

log = logging.getLogger("slidecast.steps")

TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, kombu.exceptions.OperationalError,
             redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, StorageError, ConnectionError,
             DownloadUnavailable)  # before BAD_INPUT: DownloadUnavailable is a DownloadFailed
BAD_INPUT = (slidecast.SlidecastError, BadVideo, DownloadFailed)
DATABASE_FAULTS = (sa.exc.OperationalError, sa.exc.InterfaceError)  # waited out by run_patiently
STOP_NOTE_SECONDS = 86400  # the sweep acts only once the database is back, however long that takes


# ---- claiming ----------------------------------------------------------------------------------
def claim_first_step(job_id: str) -> Job | None:
    """queued -> running for this worker, or take over a running job whose worker is gone
    (a redelivered message). Returns the job with its new attempt number, or None: leave it."""
    store, me = job_store(), process_identity()
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:
        return None
    if job.status == QUEUED:
        claimed = store.start(job_id, me)
    elif job.status == RUNNING and job.owner == me and job.heartbeat_at is not None:
        # this step's own retry: a process runs one task at a time, so the earlier try is over
        claimed = True
    elif job.status == RUNNING and worker_gone(job, grace=0):  # redelivered after its worker died
        claimed = take_over(job, me)
    else:
        claimed = False
    return db.session.get(Job, job_id, populate_existing=True) if claimed else None


def claim_step(job_id: str, attempt: int) -> Job | None:
    """The job if it is running with `attempt` (this step's owner is now this worker), else None."""
    claimed = job_store().claim_step(job_id, attempt, process_identity())
    return db.session.get(Job, job_id, populate_existing=True) if claimed else None


def finish_part(job_id: str, attempt: int, part: str, needed: list[str]) -> bool:
    """Record that `part` of this attempt is done; True when every part in `needed` is (the
    caller then starts the next step). The job row is locked meanwhile, so of parallel finishers
    exactly one sees the set complete; a redelivered part may see it again (next steps are
    idempotent)."""
    db.session.execute(sa.select(Job.id).where(Job.id == job_id).with_for_update())
    name = f"a{attempt}:{part}"
    if db.session.get(JobPart, (job_id, name)) is None:
        db.session.add(JobPart(job_id=job_id, name=name))
        db.session.flush()
    done = set(db.session.scalars(sa.select(JobPart.name).where(JobPart.job_id == job_id)))
    db.session.commit()
    return {f"a{attempt}:{p}" for p in needed} <= done


# ---- running -----------------------------------------------------------------------------------
def claim_or_retry(task, job_id: str, claim):
    """`claim()`, or a later retry of the whole task when Redis or the broker is unreachable now
    (a database fault goes up to run_patiently)."""
    try:
        return claim()
    except DATABASE_FAULTS:
        db.session.rollback()
        raise  # run_patiently waits for the database
    except TRANSIENT as exc:
        db.session.rollback()
        countdown = backoff(task)
        log.warning("cannot claim the job now (%s); retry in %d s", exc, countdown)
        retry_later(task, job_id, exc=exc, countdown=countdown, max_retries=current_app.config["TASK_MAX_RETRIES"])


def backoff(task) -> int:
    """Seconds before the next try of `task`: exponential from 2 s, at most 120, full jitter."""
    return get_exponential_backoff_interval(2, task.request.retries, 120, full_jitter=True)


def run_step(task, job_id: str, attempt: int, body, *extra) -> str:
    """Run `body(job, *extra)` as step `task` of (job_id, attempt): only for a job running with
    that attempt, under run_guarded. What a task of tasks.py calls. The stages the step reports
    are timed (slidecast_job_stage_duration_seconds), as the first step's; each piece of a long
    video counts once."""
    def claim_and_run():
        job = claim_or_retry(task, job_id, lambda: claim_step(job_id, attempt))
        return "skipped" if job is None else run_guarded(task, job, lambda: body(job, *extra))
    with job_context(job_id), stage_timer():
        return within_time_limit(job_id, lambda: run_patiently(job_id, claim_and_run))


def run_first_step(task, job_id: str, body) -> str:
    """Run `body(job)` as the job's first step: claim the queued job (or take over one whose
    worker died), under run_guarded."""
    def claim_and_run():
        job = claim_or_retry(task, job_id, lambda: claim_first_step(job_id))
        return "skipped" if job is None else run_guarded(task, job, lambda: body(job))
    with job_context(job_id), stage_timer():
        return within_time_limit(job_id, lambda: run_patiently(job_id, claim_and_run))


def run_patiently(job_id: str, claim_and_run) -> str:
    """claim_and_run(), run again in this process once the database answers after a transient
    database fault, until DB_FAULT_RETRY_SECONDS have passed since the first one; then the job
    fails. Celery's counted retries (TASK_MAX_RETRIES, shared with downloads) ran out within
    about 30 s of an outage, and the sweep then re-queued the job as a second attempt.

    A database that answers but keeps failing the step (a statement timeout, a server out of
    connections or disk) would otherwise be asked again at once, hundreds of times a second:
    from the second fault on the step pauses first, longer each time (repeat_pause)."""
    budget = current_app.config["DB_FAULT_RETRY_SECONDS"]
    deadline, faults = None, 0
    while True:
        try:
            return claim_and_run()
        except DATABASE_FAULTS as exc:
            db.session.rollback()
            faults += 1
            deadline = deadline or time.monotonic() + budget
            if time.monotonic() >= deadline:
                return fail(job_id, f"gave up after {budget} s: the database kept failing the step "
                                    f"({type(exc).__name__}, {faults} times)")
            if not wait_for_database(job_id, exc, deadline - time.monotonic()):
                # fail() cannot reach the database either; the sweep that fails or re-queues the
                # job once it is back reads why from the cache.
                job_store().note_stop(job_id, f"the database stayed unreachable for DB_FAULT_RETRY_SECONDS ({budget} s)",
                                      ttl=STOP_NOTE_SECONDS)
                return fail(job_id, f"gave up after {budget} s: the database stayed unreachable ({type(exc).__name__})")
            time.sleep(min(repeat_pause(faults), max(deadline - time.monotonic(), 0.0)))


# Pauses before running a step again after its database answered (run_patiently): none after a
# first fault (an outage that is over), then FIRST_REPEAT_PAUSE doubling up to MAX_REPEAT_PAUSE.
FIRST_REPEAT_PAUSE = 0.5
MAX_REPEAT_PAUSE = 30.0


def repeat_pause(faults: int) -> float:
    """Seconds to pause after the `faults`-th database fault of one step."""
    return 0.0 if faults < 2 else min(MAX_REPEAT_PAUSE, FIRST_REPEAT_PAUSE * 2 ** (faults - 2))


def wait_for_database(job_id: str, exc: Exception, seconds: float) -> bool:
    """True once the database answers within `seconds`. What answers is the job's heartbeat
    (the heartbeat lives in the database): the first statement that works makes it fresh, so the
    stale-job sweep does not take the job the moment the database is back. As dispatch.patiently
    waits for the broker."""
    log.warning("job %s: database unreachable (%s); the step waits up to %.0f s for it", job_id, exc, max(seconds, 0))

    def waiting(error, intervals, tries) -> float:
        if tries % 10 == 0:
            log.warning("job %s: database still unreachable (%s)", job_id, error)
        return next(intervals)
    try:
        retry_over_time(lambda: job_store().beat(db.engine, job_id), DATABASE_FAULTS, errback=waiting,
                        interval_start=0.2, interval_step=0.2, interval_max=1.0, timeout=max(seconds, 0.001))
    except DATABASE_FAULTS:
        return False
    log.warning("job %s: the database answers again; the step runs again", job_id)
    return True


def within_time_limit(job_id: str, step) -> str:
    """step(), or the job failed with a message naming JOB_TIME_LIMIT when the pool's soft time
    limit strikes anywhere in it: while claiming (the job would stay `running` with no heartbeat,
    which no sweep notices), in the body, or while another failure is being recorded."""
    try:
        return step()
    except SoftTimeLimitExceeded:
        return fail_over_time(job_id)


def fail_over_time(job_id: str) -> str:
    """Record the time-limit failure with the soft limit's signal ignored: under load the signal
    can come again meanwhile (one meant for the child's previous task arrives late), and a second
    SoftTimeLimitExceeded in the middle of recording the failure used to leave the job `running`.
    One that lands before the signal is ignored starts the recording again (fail is idempotent)."""
    limit = current_app.config["JOB_TIME_LIMIT"]
    while True:
        try:
            with soft_limit_ignored():
                db.session.rollback()
                return fail(job_id, f"stopped: a processing step ran longer than JOB_TIME_LIMIT ({limit} s)")
        except SoftTimeLimitExceeded:
            log.warning("job %s: the soft time limit struck again while the failure was recorded", job_id)


@contextmanager
def soft_limit_ignored():
    """The pool's soft-time-limit signal (SIGUSR1) is ignored meanwhile. Signal handlers run in the
    main thread only, where a prefork child runs its task; elsewhere (tests calling a step from a
    thread) there is nothing to ignore."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(SIG_SOFT_TIMEOUT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(SIG_SOFT_TIMEOUT, previous)


class Heartbeat:
    """While a step runs, a thread writes heartbeat_at every HEARTBEAT_SECONDS (its own
    connection; a database outage only skips beats)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.interval = current_app.config["HEARTBEAT_SECONDS"]
        self.store, self.engine = job_store(), db.engine
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{job_id[:8]}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _run(self):
        while not self.stop.wait(self.interval):
            try:
                self.store.beat(self.engine, self.job_id)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("job %s: heartbeat not written: %s", self.job_id, exc)


def run_guarded(task, job: Job, body) -> str:
    """Run `body()` for `job` with heartbeat and the failure policy of the module docstring."""
    # Plain values: after a rollback `job` is expired, and reading job.id would reload it from
    # the database, which fails when the database is what went away (the retry never happened).
    job_id, attempt = job.id, job.attempts
    try:
        with Heartbeat(job_id):
            result = body()
        job_store().release_step(job_id, attempt, process_identity())
        if db.session.get(Job, job_id, populate_existing=True) is None or job.status in (CANCELLED, FAILED):
            remove_files_unless_succeeded(job_id)  # cancelled while this step wrote its files
        return result
    except (slidecast.Cancelled, ObjectDeletedError):  # the latter: the job's row was deleted meanwhile
        db.session.rollback()
        return stopped(job_id)
    except SoftTimeLimitExceeded:
        raise  # within_time_limit records it, with the soft limit's signal ignored
    except DATABASE_FAULTS:
        db.session.rollback()
        raise  # run_patiently waits for the database
    except Exception as exc:
        db.session.rollback()
        if db.session.get(Job, job_id, populate_existing=True) is None:
            return stopped(job_id)  # deleted meanwhile: its files went from under the step, no failure to tell
        if isinstance(exc, TRANSIENT):
            return retry_or_fail(task, job_id, exc)
        if isinstance(exc, BAD_INPUT):
            return fail(job_id, str(exc) or type(exc).__name__)
        log.exception("job %s failed with an unexpected error", job_id)
        return fail(job_id, INTERNAL_ERROR)


def stopped(job_id: str) -> str:
    """A step of a job cancelled or deleted while it ran: remove what the job's steps wrote."""
    remove_files_unless_succeeded(job_id)
    log.info("job %s stopped: cancelled or deleted", job_id)
    return "cancelled"


def retry_or_fail(task, job_id: str, exc: Exception) -> str:
    """Retry the step later (exponential backoff, full jitter), or fail the job when out of tries."""
    retries, limit = task.request.retries, current_app.config["TASK_MAX_RETRIES"]
    if retries >= limit:
        why = str(exc) if isinstance(exc, DownloadUnavailable) else f"a service stayed unreachable ({type(exc).__name__})"
        return fail(job_id, f"gave up after {limit} retries: {why}")
    countdown = backoff(task)
    log.warning("job %s: transient fault (%s); retry %d of %d in %d s", job_id, exc, retries + 1, limit, countdown)
    retry_later(task, job_id, exc=exc, countdown=countdown, max_retries=limit)


def retry_later(task, job_id: str, **options) -> None:
    """Raise Celery's Retry for task.retry(**options) once the retry is published, waiting out a
    broker outage as the next step's send does (dispatch.patiently)."""
    def publish():
        try:
            return task.retry(throw=False, **options)
        except Reject as rejected:  # what task.retry makes of a publish that failed
            if isinstance(rejected.reason, kombu.exceptions.OperationalError):
                raise rejected.reason from rejected
            raise
    raise patiently(job_id, publish)


def fail(job_id: str, error: str) -> str:
    try:
        if job_store().fail(job_id, error):
            remove_files_unless_succeeded(job_id)
            remove_unused_upload(job_id)
    except TRANSIENT as exc:  # the stale-job sweep will find it once the database is back
        db.session.rollback()
        log.warning("job %s: could not record the failure (%s)", job_id, exc)
    return "failed"


def remove_files_unless_succeeded(job_id: str) -> None:
    """Partial work and output of a job that ended cancelled or failed; everything of a deleted
    job (its delete removed the files while a step still wrote some)."""
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:
        storage().delete_prefix(job_prefix(job_id))
        return
    if job.status == SUCCEEDED:
        return
    storage().delete_prefix(work_prefix(job_id))
    storage().delete_prefix(out_prefix(job_id))
