"""Periodic maintenance on the maintenance queue (beat schedule in celery_config.py).

- recover_stale: a Celery job `running` whose worker stopped (heartbeat older than
  HEARTBEAT_STALE_SECONDS, or its process gone on this host) is re-queued from the start as a
  new attempt, or failed with a clear message once it used JOB_MAX_ATTEMPTS. This is what
  brings a job back after kill -9 on Redis, where the broker would only redeliver the message
  after its (long) visibility timeout. Thread-pool jobs are recovered by the web processes
  (celery_config.recover_thread_jobs).
- expire_jobs: finished jobs older than JOB_RETENTION_DAYS are deleted with their files.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from celery_config import PROCESS_JOB, celery
from extensions import db, job_store, storage
from job_steps import send, step_context, worker_gone
from models import FINAL_STATES, RUNNING, Job, utcnow

log = logging.getLogger("slidecast.maintenance")
EXPIRE_BATCH = 500


def recover_stale() -> dict:
    """Re-queue or fail stalled Celery jobs (see module docstring). Inside an app context.
    Safe to run in several places at once: each job is taken with a guarded update."""
    from flask import current_app
    limit = current_app.config["JOB_MAX_ATTEMPTS"]
    result = {"requeued": [], "failed": []}
    rows = db.session.scalars(sa.select(Job).where(Job.status == RUNNING, Job.executor == "celery",
                                                   Job.heartbeat_at.is_not(None))).all()
    for job in [j for j in rows if worker_gone(j)]:
        if job.attempts >= limit:
            if job_store().fail(job.id, f"interrupted: the worker running this job stopped (attempt "
                                        f"{job.attempts} of {limit}); not retried", owner_is=job.owner):
                result["failed"].append(job.id)
        elif job_store().requeue(job.id, job.owner, None, "re-queued: its worker stopped"):
            send(PROCESS_JOB, job, job.attempts + 1)
            result["requeued"].append(job.id)
    if result["requeued"] or result["failed"]:
        log.warning("stale jobs recovered: %s", result)
    return result


def expire_jobs() -> dict:
    """Delete finished jobs (rows and files) older than JOB_RETENTION_DAYS. Inside an app context."""
    from flask import current_app
    cutoff = utcnow() - timedelta(days=current_app.config["JOB_RETENTION_DAYS"])
    ids = db.session.scalars(sa.select(Job.id).where(Job.status.in_(FINAL_STATES), Job.finished_at < cutoff)
                             .order_by(Job.finished_at).limit(EXPIRE_BATCH)).all()
    for job_id in ids:
        storage().delete_prefix(f"jobs/{job_id}")
        job_store().delete(job_id)
    if ids:
        log.info("expired %d job(s) finished before %s", len(ids), cutoff.isoformat())
    return {"deleted": list(ids)}


@celery.task(name="slidecast.maintenance.recover_stale", ignore_result=True)
def recover_stale_task() -> dict:
    with step_context("maintenance"):
        return recover_stale()


@celery.task(name="slidecast.maintenance.expire_jobs", ignore_result=True)
def expire_jobs_task() -> dict:
    with step_context("maintenance"):
        return expire_jobs()
