"""What every Celery step of a job shares: claiming, heartbeat, retries, failing cleanly.

A step receives (job_id, attempt). It runs only while the job is `running` with that attempt
number: a step of an earlier attempt (a job re-queued after its worker died) or of a finished job
does nothing, so a redelivered or duplicated message is harmless. Steps write whole files under
jobs/<id>/work/ in storage, so the next step may run on another machine.

Failure policy (reliability_settings in celery_config.py has the Celery side):
- bad input (slidecast errors, BadVideo, DownloadFailed): the job fails with the reason, no retry;
- transient faults (database, broker, Redis or storage connections; a video_url server that
  does not answer now: DownloadUnavailable): the step is retried with
  exponential backoff and full jitter, up to TASK_MAX_RETRIES times, then the job fails;
- SoftTimeLimitExceeded: the job fails with a message naming JOB_TIME_LIMIT;
- cancelled (seen at a progress checkpoint): the job's work and output files are removed.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from pathlib import Path

import kombu.exceptions
import redis
import sqlalchemy as sa
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval
from flask import current_app

import slidecast
from celery_config import owner_is_alive, process_identity, send_priority
from extensions import db, executor, job_store, storage
from models import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job, JobPart, as_utc, utcnow
from storage import StorageError
from tasks import INTERNAL_ERROR, BadVideo, DownloadFailed, DownloadUnavailable

log = logging.getLogger("slidecast.steps")

TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, kombu.exceptions.OperationalError,
             redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, StorageError, ConnectionError,
             DownloadUnavailable)  # before BAD_INPUT: DownloadUnavailable is a DownloadFailed
BAD_INPUT = (slidecast.SlidecastError, BadVideo, DownloadFailed)


def work_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/work"


def out_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/out"


def task_id(job_id: str, name: str, attempt: int | None, extra: object = "") -> str:
    """Deterministic Celery task ids, so cancel can revoke a job's messages without a lookup."""
    return f"{job_id}:{name}:{attempt or 0}:{extra}"


def send(name: str, job: Job, attempt: int, *extra) -> None:
    """Send step `name` of `job` (routed by name; the job's priority)."""
    app = executor().celery_app
    app.send_task(name, args=[job.id, attempt, *extra], task_id=task_id(job.id, name, attempt, *extra),
                  priority=send_priority(app.conf.broker_url, job.priority or 0))


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


def worker_gone(job: Job, grace: float | None = None) -> bool:
    """The job's worker is dead (same host, process gone, no heartbeat for `grace` seconds,
    default two beats: a step running beside it may still beat) or its heartbeat is stale."""
    beat = job.heartbeat_at
    if beat is None:  # between steps: the broker holds the next step's message
        return False
    age = (utcnow() - as_utc(beat)).total_seconds()
    config = current_app.config
    grace = 2 * config["HEARTBEAT_SECONDS"] if grace is None else grace
    if owner_is_alive(job.owner) is False and age >= grace:
        return True
    return age > config["HEARTBEAT_STALE_SECONDS"]


def take_over(job: Job, me: str) -> bool:
    """A running job whose worker died: continue it here as a new attempt, or fail it when it
    used up JOB_MAX_ATTEMPTS. Exactly one of several claimants wins (guarded on the old owner)."""
    store, limit = job_store(), current_app.config["JOB_MAX_ATTEMPTS"]
    if job.attempts >= limit:
        store.fail(job.id, f"interrupted: the worker running this job stopped (attempt {job.attempts} of "
                           f"{limit}); not retried", owner_is=job.owner)
        return False
    now = utcnow()
    return store.transition(job.id, RUNNING, (RUNNING,), owner_is=job.owner, owner=me, heartbeat_at=now,
                            attempts=Job.attempts + 1, message="taken over after its worker stopped")


def claim_step(job_id: str, attempt: int) -> Job | None:
    """The job if it is running with `attempt` (this step's owner is now this worker), else None."""
    values = {"owner": process_identity(), "heartbeat_at": utcnow()}
    stmt = (sa.update(Job).where(Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt)
            .values(**values).execution_options(synchronize_session=False))
    claimed = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    return db.session.get(Job, job_id, populate_existing=True) if claimed else None


def release(job_id: str, attempt: int) -> None:
    """The step is over and the next one (if any) waits in the broker: no heartbeat is expected
    until a worker picks it up, so the stale-job sweep must not count the wait."""
    me = process_identity()
    db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt,
                                            Job.owner == me).values(heartbeat_at=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


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
def claim_or_retry(task, claim):
    """`claim()`, or a later retry of the whole task when the database is unreachable now."""
    try:
        return claim()
    except TRANSIENT as exc:
        db.session.rollback()
        countdown = backoff(task)
        log.warning("cannot claim the job now (%s); retry in %d s", exc, countdown)
        raise task.retry(exc=exc, countdown=countdown, max_retries=current_app.config["TASK_MAX_RETRIES"])


def backoff(task) -> int:
    """Seconds before the next try of `task`: exponential from 2 s, at most 120, full jitter."""
    return get_exponential_backoff_interval(2, task.request.retries, 120, full_jitter=True)


def step(name: str):
    """Register `body(job, *extra)` as the Celery task `name` taking (job_id, attempt, *extra):
    it runs only for a running job of that attempt, under run_guarded."""
    from celery_config import celery

    def register(body):
        @celery.task(name=name, bind=True, ignore_result=True)
        def task(self, job_id: str, attempt: int, *extra):
            with step_context(job_id):
                job = claim_or_retry(self, lambda: claim_step(job_id, attempt))
                return "skipped" if job is None else run_guarded(self, job, lambda: body(job, *extra))
        task.__doc__ = body.__doc__
        return task
    return register


class Heartbeat:
    """While a step runs, a thread writes heartbeat_at every HEARTBEAT_SECONDS (its own
    connection; a database outage only skips beats)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.interval = current_app.config["HEARTBEAT_SECONDS"]
        self.engine = db.engine
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
                with self.engine.begin() as conn:
                    conn.execute(sa.update(Job).where(Job.id == self.job_id, Job.status == RUNNING)
                                 .values(heartbeat_at=utcnow()))
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
        release(job_id, attempt)
        if db.session.get(Job, job_id, populate_existing=True) is None or job.status in (CANCELLED, FAILED):
            remove_files_unless_succeeded(job_id)  # cancelled while this step wrote its files
        return result
    except slidecast.Cancelled:
        db.session.rollback()
        remove_files_unless_succeeded(job_id)
        log.info("job %s stopped: cancelled", job_id)
        return "cancelled"
    except SoftTimeLimitExceeded:
        db.session.rollback()
        limit = current_app.config["JOB_TIME_LIMIT"]
        return fail(job_id, f"stopped: a processing step ran longer than JOB_TIME_LIMIT ({limit} s)")
    except TRANSIENT as exc:
        db.session.rollback()
        return retry_or_fail(task, job_id, exc)
    except BAD_INPUT as exc:
        db.session.rollback()
        return fail(job_id, str(exc) or type(exc).__name__)
    except Exception:
        log.exception("job %s failed with an unexpected error", job_id)
        db.session.rollback()
        return fail(job_id, INTERNAL_ERROR)


def retry_or_fail(task, job_id: str, exc: Exception) -> str:
    """Retry the step later (exponential backoff, full jitter), or fail the job when out of tries."""
    retries, limit = task.request.retries, current_app.config["TASK_MAX_RETRIES"]
    if retries >= limit:
        why = str(exc) if isinstance(exc, DownloadUnavailable) else f"a service stayed unreachable ({type(exc).__name__})"
        return fail(job_id, f"gave up after {limit} retries: {why}")
    countdown = backoff(task)
    log.warning("job %s: transient fault (%s); retry %d of %d in %d s", job_id, exc, retries + 1, limit, countdown)
    raise task.retry(exc=exc, countdown=countdown, max_retries=limit)


def fail(job_id: str, error: str) -> str:
    try:
        if job_store().fail(job_id, error):
            remove_files_unless_succeeded(job_id)
    except TRANSIENT as exc:  # the stale-job sweep will find it once the database is back
        db.session.rollback()
        log.warning("job %s: could not record the failure (%s)", job_id, exc)
    return "failed"


def remove_files_unless_succeeded(job_id: str) -> None:
    """Partial work and output of a job that ended cancelled or failed (or was deleted)."""
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is not None and job.status == SUCCEEDED:
        return
    storage().delete_prefix(work_prefix(job_id))
    storage().delete_prefix(out_prefix(job_id))


# ---- files between steps -----------------------------------------------------------------------
def put_tree(folder: Path, prefix: str, names) -> None:
    """Copy `names` (paths relative to `folder`) to storage under `prefix`."""
    for name in names:
        storage().put_file(f"{prefix}/{name}", folder / name)


def fetch_tree(prefix: str, names, folder: Path) -> None:
    for name in names:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        storage().fetch(f"{prefix}/{name}", target)


def put_json(key: str, data, scratch: Path) -> None:
    path = scratch / (Path(key).name + ".tmp")
    path.write_text(json.dumps(data), encoding="utf-8")
    storage().put_file(key, path)


def fetch_json(key: str, scratch: Path):
    path = scratch / (Path(key).name + ".fetched")
    storage().fetch(key, path)
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def step_context(job_id: str):
    """The worker's app context plus job_id on every log line."""
    from logging_config import job_context
    from tasks import _worker_app
    with _worker_app().app_context(), job_context(job_id):
        try:
            yield
        finally:
            db.session.remove()

