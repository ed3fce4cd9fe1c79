"""Bringing back jobs whose process stopped, and removing old ones.

- A Celery job `running` whose worker stopped (heartbeat older than HEARTBEAT_STALE_SECONDS, or
  its process gone on this host) is re-queued from the start as a new attempt (recover_stale:
  each worker sweeps when it starts and every RECOVERY_SWEEP_SECONDS, and beat's schedule too,
  one sweep at a time under a Redis lock; take_over, when its message is redelivered), or failed
  with a clear message once it used JOB_MAX_ATTEMPTS. This is what brings a job back after kill -9
  on Redis, where the broker would only redeliver the message after its (long) visibility
  timeout, with or without beat running.
- Thread-pool jobs of a dead web process are run again by the next web process to start, or
  by a live one within the hour (recover_thread_jobs), or failed the same way.
- expire_jobs: finished jobs older than JOB_RETENTION_DAYS are deleted with their files (beat;
  without a broker each web process every hour, start_expirer; by hand `flask jobs expire`).
- remove_orphans, at the same times: a job folder in storage that no job row names any more
  (files a worker wrote after its job was deleted, then was killed before removing them) goes once
  nothing in it changed for ORPHAN_GRACE; retention, working from rows, never sees it.
Each job is taken with a guarded update: several processes may recover at once.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta

import redis
import sqlalchemy as sa
from flask import current_app

from celery_config import PROCESS_JOB
from infra.extensions import db, executor, job_store, storage
from infra.logging import job_context
from jobs.dispatch import send
from jobs.identity import owner_is_alive
from jobs.keys import JOBS, job_prefix
from jobs.scratch import remove_stale_scratch
from jobs.upload_readers import remove_unused_upload
from models import ACTIVE_STATES, FINAL_STATES, RUNNING, Job, as_utc, utcnow

log = logging.getLogger("slidecast.maintenance")
EXPIRE_BATCH = 500


def fail_not_retried(job_id: str, owner: str | None, attempts: int, what_stopped: str) -> bool:
    """Fail an interrupted job that used up JOB_MAX_ATTEMPTS, if `owner` still holds it."""
    limit = current_app.config["JOB_MAX_ATTEMPTS"]
    failed = job_store().fail(job_id, f"interrupted: {what_stopped} (attempt {attempts} of {limit}); not retried",
                              owner_is=owner)
    if failed:
        remove_unused_upload(job_id)
    return failed


def out_of_attempts(attempts: int) -> bool:
    return attempts >= current_app.config["JOB_MAX_ATTEMPTS"]


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
    what = what_stopped(job.id)
    if out_of_attempts(job.attempts):
        fail_not_retried(job.id, job.owner, job.attempts, what)
        return False
    return job_store().transition(job.id, RUNNING, (RUNNING,), owner_is=job.owner, owner=me, heartbeat_at=utcnow(),
                                  attempts=Job.attempts + 1, message=f"taken over: {what}")


def what_stopped(job_id: str) -> str:
    """Why a running job's heartbeat went stale: what its step left in the cache when it gave up
    (jobs/steps.run_patiently), else its worker stopped."""
    return job_store().take_stop_note(job_id) or "the worker running this job stopped"


def recover_stale() -> dict:
    """Re-queue or fail stalled Celery jobs (see module docstring). Inside an app context."""
    result = {"requeued": [], "failed": []}
    with job_context("maintenance"):
        rows = db.session.scalars(sa.select(Job).where(Job.status == RUNNING, Job.executor == "celery",
                                                       Job.heartbeat_at.is_not(None))).all()
        for job in [j for j in rows if worker_gone(j)]:
            what = what_stopped(job.id)
            if out_of_attempts(job.attempts):
                if fail_not_retried(job.id, job.owner, job.attempts, what):
                    result["failed"].append(job.id)
            elif job_store().requeue(job.id, job.owner, None, f"re-queued: {what}"):
                send(PROCESS_JOB, job, job.attempts + 1)
                result["requeued"].append(job.id)
        if result["requeued"] or result["failed"]:
            log.warning("stale jobs recovered: %s", result)
    return result


SWEEP_LOCK = "slidecast:lock:recover-stale"


def sweep_once() -> dict | None:
    """recover_stale, by one process at a time: None when another holds the Redis lock (beat
    and every worker ask). Without Redis, or with it down, it sweeps unlocked: each job is taken
    with a guarded update, so two sweeps at once are wasted work, never a job run twice."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return recover_stale()
    lock = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5).lock(SWEEP_LOCK, timeout=300)
    try:
        if not lock.acquire(blocking=False):
            return None
    except redis.RedisError:
        return recover_stale()
    try:
        return recover_stale()
    finally:
        try:
            lock.release()
        except (redis.RedisError, redis.exceptions.LockError):
            pass  # expired or Redis gone: the lock times out by itself


def start_sweeper(app, every: float) -> threading.Thread:
    """A daemon thread sweeping for stale jobs now and then every `every` seconds, in `app`'s
    context, so a worker that starts takes over the jobs of one that died, with no beat."""
    return run_every(app, every, "stale-job sweep", sweep_once)


def run_every(app, every: float, what: str, work) -> threading.Thread:
    """A daemon thread running work() in `app`'s context now and then every `every` seconds; a
    run that failed (the database down) is tried again next time."""
    def forever():
        while True:
            try:
                with app.app_context():
                    work()
                    db.session.remove()
            except Exception:
                log.exception("%s failed", what)
            time.sleep(every)

    thread = threading.Thread(target=forever, name=f"slidecast-{what.replace(' ', '-')}", daemon=True)
    thread.start()
    return thread


def recover_thread_jobs(app) -> dict:
    """Jobs the thread pool of a dead process left queued or running: run them again here, or
    fail them when they already used JOB_MAX_ATTEMPTS. Never left `running`."""
    result = {"requeued": [], "failed": []}
    with app.app_context():
        try:
            rows = db.session.execute(
                sa.select(Job.id, Job.status, Job.owner, Job.attempts)
                .where(Job.executor == "thread", Job.status.in_(ACTIVE_STATES))).all()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("cannot look for interrupted jobs (database not migrated?): %s", exc)
            return result
        store, pool = job_store(), executor()
        for job_id, status, owner, attempts in rows:
            if owner_is_alive(owner) is not False:
                continue
            if status == RUNNING and out_of_attempts(attempts):
                if fail_not_retried(job_id, owner, attempts,
                                    "the server process stopped while this job was running"):
                    result["failed"].append(job_id)
            elif store.requeue(job_id, owner, pool.owner, "re-queued after the server restarted"):
                pool.submit(job_id, "thread")
                result["requeued"].append(job_id)
    if result["requeued"] or result["failed"]:
        log.warning("recovered interrupted jobs: %s", result)
    return result


def expire_jobs() -> dict:
    """Delete finished jobs (rows and files) older than JOB_RETENTION_DAYS. Inside an app context."""
    with job_context("maintenance"):
        cutoff = utcnow() - timedelta(days=current_app.config["JOB_RETENTION_DAYS"])
        ids = db.session.scalars(sa.select(Job.id).where(Job.status.in_(FINAL_STATES), Job.finished_at < cutoff)
                                 .order_by(Job.finished_at).limit(EXPIRE_BATCH)).all()
        for job_id in ids:
            storage().delete_prefix(job_prefix(job_id))
            job_store().delete(job_id)
        if ids:
            log.info("expired %d job(s) finished before %s", len(ids), cutoff.isoformat())
    return {"deleted": list(ids)}


def expire_all() -> int:
    """expire_jobs until nothing is left to delete (one run deletes EXPIRE_BATCH); the count."""
    total = 0
    while deleted := expire_jobs()["deleted"]:
        total += len(deleted)
    return total


# A job folder with no row is also what a submission under way looks like: api/jobs.accept writes
# the upload (and the deck) to storage first and commits the job's row after, so the folder has no
# row for as long as that write lasts (a 500 MB upload sent on to S3 in parts, dated by their
# start: minutes on a slow link). No upload comes near a day; a dead job's files a day more cost little.
ORPHAN_GRACE = timedelta(days=1)
ORPHAN_BATCH = 500  # folder names looked up in the database per query


def remove_orphans(now: datetime | None = None) -> int:
    """Remove the storage folders jobs/<id>/ of no job whose newest file (or folder) is older than
    ORPHAN_GRACE at `now` (default: now); how many. Only the few folders with no row are listed
    inside. Nothing is removed while the database knows no job at all: that is a database
    replaced or emptied by mistake far more often than a service whose every job was deleted.
    Inside an app context."""
    now = now or utcnow()
    store, removed, files = storage(), 0, 0
    with job_context("maintenance"):
        if db.session.scalar(sa.select(Job.id).limit(1)) is None:
            db.session.commit()
            return 0
        for names in _batches(store.folders(JOBS), ORPHAN_BATCH):
            ids = [name for name in names if _is_job_id(name)]
            known = set(db.session.scalars(sa.select(Job.id).where(Job.id.in_(ids))))
            db.session.commit()  # the next batch is looked up in a new transaction: rows committed since count
            for job_id in ids:
                if job_id in known:
                    continue
                newest = store.newest_change(job_prefix(job_id))
                if newest is not None and now - newest > ORPHAN_GRACE:
                    files += store.delete_prefix(job_prefix(job_id))
                    removed += 1
        if removed:
            log.info("removed %d job folder(s) of no job (%d file(s)), unchanged for %.0f h", removed, files,
                     ORPHAN_GRACE.total_seconds() / 3600)
    return removed


def _batches(items, size: int):
    """Lists of `size` items of the iterable (the last one shorter), read as they come."""
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def _is_job_id(name: str) -> bool:
    """A folder name the service made (models.new_id); anything else under jobs/ is left alone."""
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


EXPIRE_EVERY_SECONDS = 3600  # as beat's schedule


def start_expirer(app, every: float = EXPIRE_EVERY_SECONDS) -> threading.Thread:
    """A daemon thread running hourly_upkeep now and then every `every` seconds, in `app`'s
    context: with no broker there is no beat to do it. Each gunicorn worker runs one; a job two of
    them delete at once is deleted once (the rows and files are simply gone for the second)."""
    runs = itertools.count()
    return run_every(app, every, "expiry of old jobs", lambda: hourly_upkeep(app, first=not next(runs)))


def hourly_upkeep(app, first: bool = False) -> None:
    """Inside `app`'s context: expire old jobs and remove the files of no job (remove_orphans);
    after the first run (create_app did the rest at start; a server runs for weeks) also remove
    stale scratch folders (jobs/scratch.py) and run the thread jobs of dead processes
    (recover_thread_jobs): a gunicorn worker that stopped while the server goes on (a HUP, a
    replaced worker) handed its jobs back to the queue (JobExecutor.hand_back), and no process
    starting would otherwise take them before the next restart."""
    expire_all()
    if not first:
        remove_stale_scratch(app.config["JOB_TIME_LIMIT"])
        recover_thread_jobs(app)
    remove_orphans()  # last: a storage that cannot be listed now must not hold up the recovery of jobs
