"""A job's step messages: deterministic Celery task ids (cancel revokes them without a lookup)
and `send`, which routes a step by its name with the job's priority."""

from __future__ import annotations

from celery_config import ANALYSE, CHUNK_MERGE, GENERATE, PROCESS_JOB, TRANSCRIBE, send_priority
from infra.extensions import executor
from models import Job


def task_id(job_id: str, name: str, attempt: int | None, extra: object = "") -> str:
    """Deterministic Celery task ids, so cancel can revoke a job's messages without a lookup."""
    return f"{job_id}:{name}:{attempt or 0}:{extra}"


def send(name: str, job: Job, attempt: int, *extra) -> None:
    """Send step `name` of `job` (routed by name; the job's priority)."""
    app = executor().celery_app
    app.send_task(name, args=[job.id, attempt, *extra], task_id=task_id(job.id, name, attempt, *extra),
                  priority=send_priority(app.conf.broker_url, job.priority or 0))


def step_task_ids(job_id: str, attempts: int) -> list[str]:
    """Ids of the step messages a job may have in the broker (chunk pieces are not listed: they
    stop at their first progress checkpoint)."""
    ids = [task_id(job_id, PROCESS_JOB, 0)]
    for attempt in range(1, attempts + 2):
        ids += [task_id(job_id, name, attempt) for name in (PROCESS_JOB, ANALYSE, TRANSCRIBE, GENERATE, CHUNK_MERGE)]
    return ids
