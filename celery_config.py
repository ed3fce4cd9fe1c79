"""The Celery app, its queues and routes, and the thread-pool fallback.

Workers: `celery -A celery_config worker -Q extraction,default`. The web process never runs
Celery tasks itself: `JobExecutor.submit` sends a task by name when the broker answers, and
otherwise runs the same task code (tasks.process_job) on a bounded in-process thread pool.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from celery import Celery
from kombu import Connection, Exchange, Queue

from settings import ConfigError, load_settings

log = logging.getLogger("slidecast.executor")

QUEUES = ("extraction", "analysis", "transcription", "generation", "maintenance", "default")
PROCESS_JOB = "slidecast.process_job"
# Every task is routed by its name, so a sender never has to know the queue (tasks_graph.py).
ROUTES = {
    PROCESS_JOB: {"queue": "extraction"},
    "slidecast.chunk.*": {"queue": "extraction"},
    "slidecast.analyse": {"queue": "analysis"},
    "slidecast.transcribe": {"queue": "transcription"},
    "slidecast.generate": {"queue": "generation"},
    "slidecast.maintenance.*": {"queue": "maintenance"},
}
BROKER_CHECK_TTL = 5.0
WORKERS_CHECK_TTL = 10.0
# API priority 0..9, 9 first. RabbitMQ: queues declared with x-max-priority 9, bigger is sooner.
# Redis: kombu emulates priorities with one list per step and reads step 0 first, so the number
# is flipped when sending (see send_priority).
MAX_PRIORITY = 9


class BrokerUnavailable(Exception):
    """REQUIRE_BROKER is set and the broker does not answer."""


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
        # are re-queued earlier by the heartbeat check (maintenance.py), not by this timeout.
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
    }


def make_celery(broker_url: str | None, settings: dict | None = None) -> Celery:
    """A Celery app for `broker_url` with Slidecast's queues, routes, reliability settings and
    the maintenance beat schedule."""
    settings = settings or {}
    app = Celery("slidecast", broker=broker_url or "memory://",
                 include=["tasks", "tasks_graph", "tasks_chunks", "maintenance"])
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
        "recover-stale-jobs": {"task": "slidecast.maintenance.recover_stale", "schedule": float(stale_every)},
        "expire-old-jobs": {"task": "slidecast.maintenance.expire_jobs", "schedule": 3600.0},
    }


def _settings_from_env() -> dict:
    """Settings for `celery -A celery_config ...`; {} when imported by a web app whose own
    settings are bad (create_app reports that)."""
    try:
        return load_settings()
    except ConfigError:
        return {}


def _broker_from_env() -> str | None:
    """The broker for `celery -A celery_config ...`. A bad setting stops a celery command with its
    one line; imported by the web app, it is left to create_app to report (and exit) instead."""
    try:
        return load_settings()["CELERY_BROKER_URL"]
    except ConfigError as exc:
        if "celery" not in Path(sys.argv[0]).parts[-2:] and Path(sys.argv[0]).name != "celery":
            return None
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(2) from None


celery = make_celery(_broker_from_env(), _settings_from_env())


def process_identity() -> str:
    """host:pid:start-ticks of this process; the start time tells a reused pid apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks; "0" when there is no such live process (a zombie,
    which nobody may reap inside a container, counts as dead)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "0"
    return "0" if len(fields) < 20 or fields[0] in ("Z", "X") else fields[19]


def owner_is_alive(owner: str | None) -> bool | None:
    """True/False for an owner on this host; None when it is elsewhere (cannot tell)."""
    try:
        host, pid, ticks = (owner or "").rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname():
        return None
    return _start_ticks(pid_number) == ticks


class JobExecutor:
    """Runs jobs: on Celery when the broker answers, else on a bounded thread pool."""

    def __init__(self, app):
        self.app = app
        self.broker_url = app.config.get("CELERY_BROKER_URL")
        self.require_broker = app.config.get("REQUIRE_BROKER", False)
        self.pool_size = app.config.get("THREAD_POOL_SIZE", 2)
        self._celery = (celery if self.broker_url == celery.conf.broker_url
                        else make_celery(self.broker_url, dict(app.config)))
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._broker_checked = (0.0, False)
        self._workers_checked: tuple[float, dict] = (0.0, {})
        self.owner = process_identity()

    # ---- choosing ----------------------------------------------------------------------------
    def broker_reachable(self) -> bool:
        """Whether the broker accepts a connection (1 s timeout; answer cached a few seconds)."""
        if not self.broker_url:
            return False
        checked_at, ok = self._broker_checked
        if time.monotonic() - checked_at < BROKER_CHECK_TTL:
            return ok
        try:
            with Connection(self.broker_url, connect_timeout=1) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=1)
            ok = True
        except Exception as exc:  # kombu raises many kinds; all mean "not now"
            log.warning("broker %s unreachable: %s", _redact(self.broker_url), exc)
            ok = False
        self._broker_checked = (time.monotonic(), ok)
        return ok

    def choose(self) -> str:
        """"celery" or "thread" for a new job; BrokerUnavailable if a broker is required and down."""
        if self.broker_reachable():
            return "celery"
        if self.require_broker:
            raise BrokerUnavailable("the task broker is unreachable and REQUIRE_BROKER is set")
        return "thread"

    def owner_for(self, kind: str) -> str | None:
        return self.owner if kind == "thread" else None

    # ---- running -----------------------------------------------------------------------------
    def submit(self, job_id: str, kind: str) -> str:
        """Start a committed, queued job. Returns the executor actually used."""
        if kind == "celery":
            try:
                self._celery.send_task(PROCESS_JOB, args=[job_id], task_id=f"{job_id}:{PROCESS_JOB}:0:",
                                       priority=send_priority(self.broker_url, self._priority(job_id)))
                return "celery"
            except Exception as exc:
                self._broker_checked = (time.monotonic(), False)
                log.warning("job %s: broker send failed (%s)", job_id, exc)
                if self.require_broker:
                    raise BrokerUnavailable("the task broker is unreachable and REQUIRE_BROKER is set") from exc
                from extensions import job_store
                job_store().set_executor(job_id, "thread", self.owner)
        self._submit_thread(job_id)
        return "thread"

    @property
    def celery_app(self) -> Celery:
        """The Celery app on this executor's broker (steps send the next steps through it)."""
        return self._celery

    @staticmethod
    def _priority(job_id: str) -> int:
        from extensions import job_store
        return (job_store().get(job_id) or {}).get("priority") or 0

    def revoke(self, job_id: str, attempts: int) -> None:
        """Tell workers to drop the job's queued step messages (terminate=False: a running step
        stops by itself at its next progress checkpoint, seeing the job cancelled). Best effort."""
        if not self.broker_url or not self.broker_reachable():
            return
        from tasks_graph import step_task_ids
        try:
            self._celery.control.revoke(step_task_ids(job_id, attempts), terminate=False)
        except Exception as exc:  # the job is cancelled in the store whatever the broker says
            log.warning("job %s: revoke not sent (%s)", job_id, exc)

    def _submit_thread(self, job_id: str) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="slidecast-job")
        self._pool.submit(self._run_in_app, job_id)

    def _run_in_app(self, job_id: str) -> None:
        from tasks import process_job
        with self.app.app_context():
            try:
                process_job(job_id)
            except Exception:  # process_job records failures itself; this is the last resort
                log.exception("job %s: unexpected error in the thread pool", job_id)

    def describe(self) -> dict:
        """Health: the broker and who runs jobs."""
        if not self.broker_url:
            return {"status": "not configured", "mode": "thread pool", "threads": self.pool_size}
        if self.broker_reachable():
            return {"status": "ok", "mode": "celery", "url": _redact(self.broker_url)}
        state = "down" if self.require_broker else "degraded"
        return {"status": state, "mode": "unavailable" if self.require_broker else "thread pool fallback",
                "url": _redact(self.broker_url), "threads": self.pool_size}

    def workers(self) -> dict:
        """Health: Celery workers answering a ping, or the thread pool. A ping waits its whole
        0.5 s timeout for replies, so the answer is kept WORKERS_CHECK_TTL seconds."""
        if not self.broker_reachable():
            return {"status": "ok", "mode": "thread pool", "threads": self.pool_size}
        checked_at, answer = self._workers_checked
        if time.monotonic() - checked_at < WORKERS_CHECK_TTL:
            return answer
        try:
            replies = self._celery.control.ping(timeout=0.5) or []
            names = sorted(name for reply in replies for name in reply)
            answer = {"status": "ok" if names else "none", "mode": "celery", "online": names}
        except Exception as exc:
            answer = {"status": "unknown", "mode": "celery", "detail": str(exc)}
        self._workers_checked = (time.monotonic(), answer)
        return answer

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=not wait)
                self._pool = None


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def recover_thread_jobs(app) -> dict:
    """Jobs the thread pool of a dead process left queued or running: run them again here, or
    fail them when they already used JOB_MAX_ATTEMPTS. Never left `running`. Safe to run in
    several processes at once (each job is claimed with a guarded update)."""
    from extensions import db, executor, job_store
    from models import ACTIVE_STATES, RUNNING, Job

    result = {"requeued": [], "failed": []}
    with app.app_context():
        try:
            rows = db.session.execute(
                sa.select(Job.id, Job.status, Job.owner, Job.attempts)
                .where(Job.executor == "thread", Job.status.in_(ACTIVE_STATES))).all()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("cannot look for interrupted jobs (database not migrated?): %s", exc)
            return result
        store, pool, limit = job_store(), executor(), app.config["JOB_MAX_ATTEMPTS"]
        for job_id, status, owner, attempts in rows:
            if owner_is_alive(owner) is not False:
                continue
            if status == RUNNING and attempts >= limit:
                if store.fail(job_id, f"interrupted: the server process stopped while this job was running "
                                      f"(attempt {attempts} of {limit}); not retried", owner_is=owner):
                    result["failed"].append(job_id)
            elif store.requeue(job_id, owner, pool.owner, "re-queued after the server restarted"):
                pool.submit(job_id, "thread")
                result["requeued"].append(job_id)
    if result["requeued"] or result["failed"]:
        log.warning("recovered interrupted jobs: %s", result)
    return result
