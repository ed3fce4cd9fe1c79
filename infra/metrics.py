"""Prometheus metrics, correct under several gunicorn workers.

What /metrics (api/ops.py) exposes:
- slidecast_http_requests_total{method,endpoint,status} and
  slidecast_http_request_duration_seconds{method,endpoint}: every request, labelled by the URL
  rule (`/api/jobs/<job_id>`), never the raw path, so the number of series stays bounded.
- slidecast_job_stage_duration_seconds{stage}: observed by tasks when a stage ends; kept in Redis
  when REDIS_URL is set (workers on other machines add to it), else in the process.
- slidecast_jobs{state}: jobs per state, one GROUP BY at scrape time (the database is the truth).
- slidecast_queue_depth{queue}: messages waiting per Celery queue, asked of the broker at scrape
  time; absent in thread-pool mode (no broker).

Several processes: with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py sets it before any worker
starts) every process writes its counters and histograms to files there and a scrape, answered
by any one worker, sums them all. Without it (tests, `flask run`) this process's values are served.
"""

from __future__ import annotations

import contextvars
import logging
import os
import time
from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from redis import Redis, RedisError

# The *_created series double the output and no dashboard of ours reads them.
disable_created_metrics()

log = logging.getLogger("slidecast.metrics")

# Request latencies from a fast cached GET (ms) to a large upload (tens of seconds).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Stage durations from a short clip (under a second) to a long lecture (an hour).
_STAGE_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_REQUESTS = Counter("slidecast_http_requests_total", "HTTP requests answered",
                        ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("slidecast_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "endpoint"], buckets=_LATENCY_BUCKETS)
# Where each job read of the API (a status poll) was answered: this process's near cache, the
# job cache (Redis, or the in-process cache of embedded mode), or the database (a miss).
JOB_READS = Counter("slidecast_job_reads_total", "Job documents read, by where the answer came from",
                    ["source"])
# Not in the default registry: StageCollector decides where stage durations are read from.
STAGE_SECONDS = Histogram("slidecast_job_stage_duration_seconds", "Time a job spent in one stage",
                          ["stage"], buckets=_STAGE_BUCKETS, registry=None)
STAGE_KEY = "slidecast:metrics:stage_seconds"

_STAGE: contextvars.ContextVar[list | None] = contextvars.ContextVar("slidecast_stage", default=None)


def multiprocess_dir() -> str | None:
    """The folder shared by all processes of this deployment, or None (single process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# ---- requests -------------------------------------------------------------------------------
def init_metrics(app: Flask) -> None:
    """Count and time every request of `app` (when METRICS_ENABLED)."""
    if not app.config.get("METRICS_ENABLED", True):
        return
    app.before_request(_start_timer)
    app.after_request(_record_request)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _record_request(response):
    started = g.pop("metrics_started", None)
    # Labels come from the URL rule and a fixed set of methods: a client sending made-up paths or
    # methods must not create new series.
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, rule, str(response.status_code)).inc()
    if started is not None:
        HTTP_LATENCY.labels(method, rule).observe(time.perf_counter() - started)
    return response


# ---- job stages -----------------------------------------------------------------------------
@contextmanager
def stage_timer():
    """Times the stages a job reports inside this block (see stage_reached); the stage still
    open when the block ends is observed then, whatever the outcome."""
    token = _STAGE.set([None, 0.0])
    try:
        yield
    finally:
        stage_reached(None)
        _STAGE.reset(token)


def stage_reached(stage: str | None) -> None:
    """The job is now in `stage` (None: it stopped). Observes the previous stage's duration when
    the stage changes. Outside stage_timer() it does nothing."""
    current = _STAGE.get()
    if current is None or current[0] == stage:
        return
    now = time.monotonic()
    if current[0] is not None:
        observe_stage(current[0], now - current[1])
    current[0], current[1] = stage, now


def observe_stage(stage: str, seconds: float) -> None:
    """Record one stage duration. With REDIS_URL the histogram lives in Redis, so stages timed by
    Celery workers on other machines reach the web's /metrics; else in this process (and, under
    gunicorn, the multiprocess files)."""
    redis_url = current_app.config.get("REDIS_URL") if has_app_context() else None
    if not redis_url:
        STAGE_SECONDS.labels(stage).observe(seconds)
        return
    fields = [f"{stage}|{bound}" for bound in _STAGE_BUCKETS if seconds <= bound]
    try:
        pipe = _redis(redis_url).pipeline(transaction=False)
        for field in fields + [f"{stage}|count"]:
            pipe.hincrby(STAGE_KEY, field, 1)
        pipe.hincrbyfloat(STAGE_KEY, f"{stage}|sum", seconds)
        pipe.execute()
    except RedisError as exc:  # a lost observation is better than a failed job
        log.warning("stage duration not recorded (Redis unavailable): %s", exc)


_CLIENTS: dict[str, Redis] = {}


def _redis(url: str) -> Redis:
    if url not in _CLIENTS:
        _CLIENTS[url] = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0, decode_responses=True)
    return _CLIENTS[url]


class StageCollector:
    """slidecast_job_stage_duration_seconds from Redis (REDIS_URL set) or from this process
    (single-process mode; the multiprocess collector covers gunicorn workers)."""

    def __init__(self, redis_url: str | None):
        self.redis_url = redis_url

    def collect(self):
        if not self.redis_url:
            if not multiprocess_dir():
                yield from STAGE_SECONDS.collect()
            return
        try:
            fields = _redis(self.redis_url).hgetall(STAGE_KEY)
        except RedisError as exc:
            log.warning("stage durations unavailable for /metrics: %s", exc)
            return
        yield _stage_family(fields)


def _stage_family(fields: dict) -> HistogramMetricFamily:
    family = HistogramMetricFamily(STAGE_SECONDS._name, STAGE_SECONDS._documentation, labels=["stage"])
    stages = sorted({field.split("|", 1)[0] for field in fields})
    for stage in stages:
        count = int(fields.get(f"{stage}|count", 0))
        buckets = [(_bound(b), int(fields.get(f"{stage}|{b}", 0))) for b in _STAGE_BUCKETS] + [("+Inf", count)]
        family.add_metric([stage], buckets, float(fields.get(f"{stage}|sum", 0.0)))
    return family


def _bound(value: float) -> str:
    return repr(float(value))


# ---- scrape ---------------------------------------------------------------------------------
class JobStateCollector:
    """slidecast_jobs{state}: one cheap GROUP BY on the jobs table per scrape."""

    def __init__(self, count_by_state, states):
        self.count_by_state, self.states = count_by_state, tuple(states)

    def collect(self):
        counts = self.count_by_state()
        if counts is None:
            return
        family = GaugeMetricFamily("slidecast_jobs", "Jobs in each state (from the database)", labels=["state"])
        for state in self.states:
            family.add_metric([state], counts.get(state, 0))
        yield family


class QueueDepthCollector:
    """slidecast_queue_depth{queue}: messages waiting in each Celery queue on the broker."""

    def __init__(self, broker_url: str | None, queues, transport_options: dict | None = None):
        self.broker_url, self.queues = broker_url, tuple(queues)
        self.transport_options = dict(transport_options or {})

    def collect(self):
        if not self.broker_url:
            return
        depths = queue_depths(self.broker_url, self.queues, self.transport_options)
        if depths is None:
            return
        family = GaugeMetricFamily("slidecast_queue_depth", "Messages waiting in each Celery queue",
                                   labels=["queue"])
        for name, depth in depths.items():
            family.add_metric([name], depth)
        yield family


def queue_depths(broker_url: str, queues, transport_options: dict | None = None) -> dict[str, int] | None:
    """{queue: waiting messages} from the broker (Redis lists or AMQP queues, via kombu), or None
    when the broker does not answer within about a second. `transport_options` must be Celery's
    broker_transport_options: on Redis they name the per-priority lists that are counted too."""
    from kombu import Connection
    depths = {}
    try:
        with Connection(broker_url, connect_timeout=1, transport_options=transport_options or {}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=1)
            channel = conn.default_channel
            for name in queues:
                depths[name] = _declared_size(channel, name)
    except Exception as exc:  # kombu raises many kinds; a scrape must still answer
        log.warning("queue depth unavailable: %s", exc)
        return None
    return depths


def _declared_size(channel, name: str) -> int:
    try:
        return int(channel.queue_declare(queue=name, passive=True).message_count)
    except Exception:  # AMQP: a queue no worker has declared yet holds nothing
        return 0


def render_metrics(collectors=()) -> bytes:
    """The Prometheus text exposition: all processes' counters (multiprocess mode) or this
    process's, followed by the scrape-time collectors."""
    from prometheus_client import REGISTRY
    from prometheus_client import multiprocess

    scraped = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        scraped.register(collector)
    if multiprocess_dir():
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)
        return generate_latest(shared) + generate_latest(scraped)
    return generate_latest(REGISTRY) + generate_latest(scraped)


def mark_process_dead(pid: int) -> None:
    """gunicorn child_exit hook: drop the live-gauge files of a dead worker."""
    if multiprocess_dir():
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
