"""Operations endpoints: GET /metrics (Prometheus text format) and GET /api/cache/stats."""

from __future__ import annotations

import logging

import redis
import sqlalchemy as sa
from flask import Response, current_app, jsonify
from flask_smorest import Blueprint
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from api.errors import problem
from celery_config import QUEUES
from infra.extensions import db, executor, job_store
from infra.metrics import JobStateCollector, QueueDepthCollector, StageCollector, render_metrics
from models import ALL_STATES, Job

log = logging.getLogger("slidecast.ops")

blp = Blueprint("ops", __name__, description="Metrics and cache statistics for operators")


def jobs_by_state() -> dict[str, int] | None:
    """{state: count} from the database; None when it does not answer (the scrape still succeeds,
    without the series: zeros would claim that nothing is running)."""
    try:
        rows = db.session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all()
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("jobs by state unavailable for /metrics: %s", str(exc).splitlines()[0])
        return None
    return {status: count for status, count in rows}


@blp.route("/metrics", methods=["GET"])
@blp.doc(responses={200: {"description": "Prometheus text exposition format 0.0.4",
                          "content": {"text/plain": {}}}})
def metrics():
    """Requests, latencies, jobs by state, queue depth and stage durations, for Prometheus."""
    broker = QueueDepthCollector(current_app.config.get("CELERY_BROKER_URL"), QUEUES,
                                 executor().celery_app.conf.broker_transport_options)
    collectors = [JobStateCollector(jobs_by_state, ALL_STATES), StageCollector(current_app.config.get("REDIS_URL")), broker]
    return Response(render_metrics(collectors), content_type=CONTENT_TYPE_PLAIN_0_0_4)


@blp.route("/api/cache/stats", methods=["GET"])
@blp.doc(responses={200: {"description": "hits, misses, keys and memory of the job cache"},
                    503: {"description": "Redis is configured but does not answer"}})
def cache_stats():
    """The job cache: Redis INFO (server-wide hits and misses, keys in this database, memory,
    eviction policy) when REDIS_URL is set, else this process's in-process cache."""
    cache = job_store().cache
    if not hasattr(cache, "client"):
        return jsonify({"backend": "in-process", "scope": "this process", **cache.stats()})
    try:
        return jsonify(_redis_stats(cache.client))
    except redis.RedisError as exc:
        problem(503, f"Redis does not answer ({exc}); jobs are served from the database meanwhile",
                backend="redis")


def _redis_stats(client) -> dict:
    info = client.info()
    hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
    return {
        "backend": "redis",
        "scope": "redis server (hits and misses of all clients)",
        "hits": hits,
        "misses": misses,
        "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None,
        "keys": client.dbsize(),
        "memory_bytes": int(info.get("used_memory", 0)),
        "memory_human": info.get("used_memory_human"),
        "maxmemory_bytes": int(info.get("maxmemory", 0)),
        "maxmemory_policy": info.get("maxmemory_policy"),
        "evicted_keys": int(info.get("evicted_keys", 0)),
    }
