"""A job's step messages: deterministic Celery task ids (cancel revokes them without a lookup)
and `send`, which routes a step by its name with the job's priority and waits out a broker outage."""

from __future__ import annotations

import logging

from flask import current_app
from kombu.exceptions import OperationalError
from kombu.utils.functional import retry_over_time

from celery_config import ANALYSE, CHUNK_MERGE, GENERATE, PROCESS_JOB, TRANSCRIBE, send_priority
from infra.extensions import executor
from models import Job

log = logging.getLogger("slidecast.dispatch")


def task_id(job_id: str, name: str, attempt: int | None, extra: object = "") -> str:
    """Deterministic Celery task ids, so cancel can revoke a job's messages without a lookup."""
    return f"{job_id}:{name}:{attempt or 0}:{extra}"


def send(name: str, job: Job, attempt: int, *extra) -> None:
    """Send step `name` of `job` (routed by name; the job's priority), waiting out a broker
    outage (patiently)."""
    app = executor().celery_app
    options = {"args": [job.id, attempt, *extra], "task_id": task_id(job.id, name, attempt, *extra),
               "priority": send_priority(app.conf.broker_url, job.priority or 0)}
    patiently(job.id, lambda: app.send_task(name, **options))


def patiently(job_id: str, publish):
    """publish(), tried again while the broker does not answer (a Redis restart or failover),
    for up to STEP_SEND_RETRY_SECONDS; then its OperationalError. For what a step sends (the next
    step, its own retry): before, a send failed at once, the step's retry could not be published
    either, and only the stale-job sweep brought the job back, as a second attempt. The step's
    heartbeat goes on while it waits, so no sweep takes the job meanwhile. kombu's publish retry
    policy cannot do this alone: the producer's channel is opened within broker_connection_timeout
    (2 s, kept short so submit falls back to the thread pool fast), and the error raised then is
    not one that policy retries."""
    def waiting(exc, intervals, tries) -> float:
        if tries % 10 == 0:  # the first failure, then every tenth: not one line a second
            log.warning("job %s: broker unreachable (%s); the next message waits for it", job_id, exc)
        return next(intervals)
    return retry_over_time(publish, (OperationalError,), errback=waiting, interval_start=0.2, interval_step=0.2,
                           interval_max=1.0, timeout=current_app.config["STEP_SEND_RETRY_SECONDS"])


def step_task_ids(job_id: str, attempts: int) -> list[str]:
    """Ids of the step messages a job may have in the broker (chunk pieces are not listed: they
    stop at their first progress checkpoint)."""
    ids = [task_id(job_id, PROCESS_JOB, 0)]
    for attempt in range(1, attempts + 2):
        ids += [task_id(job_id, name, attempt) for name in (PROCESS_JOB, ANALYSE, TRANSCRIBE, GENERATE, CHUNK_MERGE)]
    return ids
