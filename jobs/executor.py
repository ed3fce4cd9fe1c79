"""Who runs a job: `JobExecutor.submit` sends the job's first step to Celery when the broker
answers, and otherwise runs the whole job (jobs/pipeline.py) on a bounded in-process thread
pool. Health answers about the broker and the workers come from here too.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from celery import Celery
from kombu import Connection

from celery_config import PROCESS_JOB, ROUTES, send_priority
from infra.extensions import job_store
from jobs.dispatch import step_task_ids, task_id
from jobs.identity import process_identity
from jobs.pipeline import process_job

log = logging.getLogger("slidecast.executor")

BROKER_CHECK_TTL = 5.0
WORKERS_CHECK_TTL = 10.0
# The queues tasks are sent to: one that no worker consumes keeps its tasks until one does.
ROUTED_QUEUES = tuple(dict.fromkeys(route["queue"] for route in ROUTES.values()))


class BrokerUnavailable(Exception):
    """REQUIRE_BROKER is set and the broker does not answer."""


class JobExecutor:
    """Runs jobs: on Celery when the broker answers, else on a bounded thread pool."""

    def __init__(self, app):
        self.app = app
        self.broker_url = app.config.get("CELERY_BROKER_URL")
        self.require_broker = app.config.get("REQUIRE_BROKER", False)
        self.pool_size = app.config.get("THREAD_POOL_SIZE", 2)
        self._celery = app.extensions["celery"]
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._broker_checked = (0.0, False)
        self._workers_checked: tuple[float, dict] = (0.0, {})
        self.owner = process_identity()
        self.stopping = threading.Event()  # set by hand_back: the pool's jobs stop and go back to queued

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
        """Start a committed, queued job. Returns the executor actually used. A thread job sent
        while this process stops (hand_back) stays queued for the next start."""
        if kind == "celery":
            try:
                self._celery.send_task(PROCESS_JOB, args=[job_id], task_id=task_id(job_id, PROCESS_JOB, 0),
                                       priority=send_priority(self.broker_url, self._priority(job_id)))
                return "celery"
            except Exception as exc:
                self._broker_checked = (time.monotonic(), False)
                log.warning("job %s: broker send failed (%s)", job_id, exc)
                if self.require_broker:
                    raise BrokerUnavailable("the task broker is unreachable and REQUIRE_BROKER is set") from exc
                job_store().set_executor(job_id, "thread", self.owner)
        self._submit_thread(job_id)
        return "thread"

    @property
    def celery_app(self) -> Celery:
        """The Celery app on this executor's broker (steps send the next steps through it)."""
        return self._celery

    @staticmethod
    def _priority(job_id: str) -> int:
        return (job_store().get(job_id) or {}).get("priority") or 0

    def revoke(self, job_id: str, attempts: int) -> None:
        """Tell workers to drop the job's queued step messages (terminate=False: a running step
        stops by itself at its next progress checkpoint, seeing the job cancelled). Best effort."""
        if not self.broker_url or not self.broker_reachable():
            return
        try:
            self._celery.control.revoke(step_task_ids(job_id, attempts), terminate=False)
        except Exception as exc:  # the job is cancelled in the store whatever the broker says
            log.warning("job %s: revoke not sent (%s)", job_id, exc)

    def _submit_thread(self, job_id: str) -> None:
        if self.stopping.is_set():
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="slidecast-job")
        self._pool.submit(self._run_in_app, job_id)

    def _run_in_app(self, job_id: str) -> None:
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
        """Health: which Celery workers consume which queue (a queue nobody consumes: degraded),
        or the thread pool. With REQUIRE_BROKER and the broker down nothing runs a new job
        (submit answers 503): down. The inspect waits its whole 0.5 s timeout for replies, so
        the answer is kept WORKERS_CHECK_TTL seconds."""
        if not self.broker_reachable():
            if self.broker_url and self.require_broker:
                return {"status": "down", "mode": "unavailable",
                        "detail": "the broker does not answer and REQUIRE_BROKER is set: new jobs are refused"}
            return {"status": "ok", "mode": "thread pool", "threads": self.pool_size}
        checked_at, answer = self._workers_checked
        if time.monotonic() - checked_at < WORKERS_CHECK_TTL:
            return answer
        try:
            answer = consumers_answer(self._celery.control.inspect(timeout=0.5).active_queues() or {})
        except Exception as exc:
            answer = {"status": "unknown", "mode": "celery", "detail": str(exc)}
        self._workers_checked = (time.monotonic(), answer)
        return answer

    def hand_back(self) -> None:
        """The server process is stopping (gunicorn's worker_exit, gunicorn.conf.py): each job
        running on the pool stops at its next progress report and goes back to `queued`
        (jobs/pipeline.py), jobs not started stay queued; the next start runs them all
        (recovery.recover_thread_jobs). Returns once the pool's threads ended. Without it the
        interpreter's shutdown cut the running job off mid-step and it failed."""
        self.stopping.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait, cancel_futures=not wait)
                self._pool = None


def consumers_answer(consumed: dict) -> dict:
    """The workers' health from Celery's active_queues replies ({worker: [{"name": queue}]}):
    the workers online, who consumes each routed queue, and the queues nobody does."""
    names = sorted(consumed)
    by_queue = {queue: [n for n in names if any(q.get("name") == queue for q in consumed[n])]
                for queue in ROUTED_QUEUES}
    missing = [queue for queue, consumers in by_queue.items() if not consumers]
    answer = {"status": "ok", "mode": "celery", "online": names, "queues": by_queue, "unconsumed": missing}
    if not names:
        answer.update(status="none", detail="no worker answers: every job waits in its queue")
    elif missing:
        waiting = "maintenance tasks" if missing == ["maintenance"] else "jobs"
        answer.update(status="degraded", detail=f"no worker consumes the queue(s) {', '.join(missing)}: "
                                                 f"{waiting} sent there wait until a worker for it starts")
    return answer


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
