"""Celery configuration: queues, routes, reliability settings, the beat schedule, and
`celery_init_app(flask_app)`, Flask's Celery pattern: the Celery app reads the Flask app's
settings, every task runs inside the Flask app context, and the Celery app is kept in
`flask_app.extensions["celery"]`. The tasks are in tasks.py; workers start from worker.py.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask
from kombu import Exchange, Queue

QUEUES = ("extraction", "analysis", "transcription", "generation", "maintenance", "default")
# The task names (tasks.py registers them; jobs/graph.py shows how they follow each other).
PROCESS_JOB = "slidecast.process_job"
ANALYSE, TRANSCRIBE, GENERATE = "slidecast.analyse", "slidecast.transcribe", "slidecast.generate"
CHUNK_EXTRACT, CHUNK_MERGE = "slidecast.chunk.extract", "slidecast.chunk.merge"
RECOVER_STALE, EXPIRE_JOBS = "slidecast.maintenance.recover_stale", "slidecast.maintenance.expire_jobs"
# Every task is routed by its name, so a sender never has to know the queue.
ROUTES = {
    PROCESS_JOB: {"queue": "extraction"},
    "slidecast.chunk.*": {"queue": "extraction"},
    ANALYSE: {"queue": "analysis"},
    TRANSCRIBE: {"queue": "transcription"},
    GENERATE: {"queue": "generation"},
    "slidecast.maintenance.*": {"queue": "maintenance"},
}
# API priority 0..9, 9 first. RabbitMQ: queues declared with x-max-priority 9, bigger is sooner.
# Redis: kombu emulates priorities with one list per step and reads step 0 first, so the number
# is flipped when sending (see send_priority).
MAX_PRIORITY = 9


def send_priority(broker_url: str | None, priority: int) -> int:
    """The broker's priority number for API priority 0..9 (9 = most urgent)."""
    priority = max(0, min(MAX_PRIORITY, int(priority)))
    return MAX_PRIORITY - priority if (broker_url or "").startswith(("redis", "rediss", "unix")) else priority


def reliability_settings(settings: dict) -> dict:
    """Celery settings that make a job survive killed workers and broker hiccups; each with why."""
    hard = settings.get("JOB_TIME_LIMIT", 3 * 3600)
    return {
        # Acknowledge after the task ran, not when it was received: a worker killed mid-task
        # leaves the message with the broker, which gives it to another worker.
        "task_acks_late": True,
        # ... and also when the worker child dies by a signal (OOM killer, kill -9): requeue it.
        "task_reject_on_worker_lost": True,
        # A worker holds one message beyond the one it runs: long jobs do not sit reserved behind
        # another long job on a busy worker while an idle worker waits.
        "worker_prefetch_multiplier": 1,
        # Redis re-delivers an unacknowledged message after visibility_timeout; below the longest
        # task that would start a second copy of a running job (celery#5935, #3541). Stale jobs
        # are re-queued earlier by the heartbeat check (jobs/recovery.py), not by this timeout.
        "broker_transport_options": {"visibility_timeout": int(hard * 1.5) + 600,
                                     "priority_steps": list(range(MAX_PRIORITY + 1)),
                                     "sep": ":", "queue_order_strategy": "priority"},
        # A task that runs too long gets SoftTimeLimitExceeded first (the job then ends `failed`
        # with a message); the hard limit kills the child if it does not stop.
        "task_soft_time_limit": max(1, hard - 30),
        "task_time_limit": hard,
        # Recycle worker children: decoders and OCR models leak a little per job.
        "worker_max_tasks_per_child": settings.get("WORKER_MAX_TASKS_PER_CHILD", 50),
        "worker_max_memory_per_child": settings.get("WORKER_MAX_MEMORY_MB", 1500) * 1024,
        # With REMAP_SIGTERM=SIGQUIT (deploy_scalable.sh worker) SIGTERM is a cold shutdown:
        # running steps get this many seconds, then go back to the broker unacknowledged (late
        # acknowledgement), so another worker starts them at once instead of after the heartbeat
        # check finds them stale or Render's SIGKILL at the end of maxShutdownDelaySeconds.
        "worker_soft_shutdown_timeout": settings.get("WORKER_SOFT_SHUTDOWN_SECONDS", 20.0),
        # The job store is the truth; Celery results would only fill Redis (celery#7801).
        "task_ignore_result": True,
        "result_expires": 3600,
        # Messages survive a broker restart.
        "task_default_delivery_mode": "persistent",
        # A worker that lost its broker tries again after 2, 4, 6 ... s, then every 30 s (kombu's
        # cap), for as long as the outage lasts. Celery's default gives up after 100 tries (about
        # 45 minutes) and the worker exits: a long outage would leave no worker to come back.
        "broker_connection_max_retries": None,
    }


def make_celery(broker_url: str | None, settings: dict | None = None, task_cls=Task) -> Celery:
    """A Celery app for `broker_url` with Slidecast's queues, routes, reliability settings and
    the maintenance beat schedule."""
    settings = settings or {}
    app = Celery("slidecast", broker=broker_url or "memory://", task_cls=task_cls)
    app.conf.update(
        # Each queue bound by its own name: a message routed to one queue lands in that one only.
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name,
                           queue_arguments={"x-max-priority": MAX_PRIORITY}) for name in QUEUES],
        task_default_queue="default",
        task_default_priority=None,
        task_routes=ROUTES,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=2,
        # Submit must fail fast when the broker is gone, so the thread pool can take the job.
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                   "interval_max": 0.5},
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(settings),
        **reliability_settings(settings),
    )
    return app


def beat_schedule(settings: dict) -> dict:
    """Maintenance: stale jobs every HEARTBEAT_STALE_SECONDS/3, expired jobs hourly."""
    stale_every = max(10, settings.get("HEARTBEAT_STALE_SECONDS", 180) // 3)
    return {
        "recover-stale-jobs": {"task": RECOVER_STALE, "schedule": float(stale_every)},
        "expire-old-jobs": {"task": EXPIRE_JOBS, "schedule": 3600.0},
    }


def celery_init_app(flask_app: Flask) -> Celery:
    """The Celery app for `flask_app` (its CELERY_BROKER_URL and settings), whose tasks run in
    `flask_app`'s app context; also the default app, so tasks.py's shared tasks bind to it."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery_app = make_celery(flask_app.config.get("CELERY_BROKER_URL"), dict(flask_app.config), FlaskTask)
    celery_app.set_default()
    flask_app.extensions["celery"] = celery_app
    return celery_app

