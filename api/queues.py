"""GET /api/queues: what the Celery side is doing (depth per queue, workers, active tasks)."""

from __future__ import annotations

import logging

from flask import jsonify
from flask_smorest import Blueprint

from api.errors import problem
from celery_config import QUEUES
from infra.extensions import executor
from infra.metrics import queue_depths

log = logging.getLogger("slidecast.queues")
blp = Blueprint("queues", __name__, description="Celery queues and workers")
INSPECT_TIMEOUT = 1.0


@blp.route("/queues", methods=["GET"])
@blp.doc(responses={200: {"description": "queue depths, workers online, active tasks"},
                    503: {"description": "the broker does not answer"}})
def queues():
    """Messages waiting per queue (all priorities), the workers answering within a second with
    the queues they consume and the tasks they run now (job id, step, since when).

    Without a broker: mode "thread pool" and no queues. 503 problem+json if the broker is down."""
    runner = executor()
    if not runner.broker_url:
        return jsonify({"mode": "thread pool", "threads": runner.pool_size, "queues": {}, "workers": []})
    app = runner.celery_app
    depths = queue_depths(runner.broker_url, QUEUES, app.conf.broker_transport_options)
    if depths is None:
        problem(503, "the task broker does not answer; jobs submitted now run on the web process's thread pool")
    workers = inspect_workers(app)
    return jsonify({"mode": "celery", "queues": depths, "waiting": sum(depths.values()),
                    "workers": workers, "online": len(workers),
                    "active": sum(len(w["active"]) for w in workers)})


def inspect_workers(app) -> list[dict]:
    """[{name, queues, active: [{job_id, task, id, started}]}] of workers answering in time."""
    inspector = app.control.inspect(timeout=INSPECT_TIMEOUT)
    try:
        active = inspector.active() or {}
        consumed = inspector.active_queues() or {}
    except Exception as exc:  # a broker hiccup between the depth check and here
        log.warning("celery inspect failed: %s", exc)
        return []
    return [{"name": name, "queues": sorted(q["name"] for q in consumed.get(name, [])),
             "active": [_task(t) for t in active.get(name, [])]}
            for name in sorted(set(active) | set(consumed))]


def _task(task: dict) -> dict:
    args = task.get("args") or []
    return {"id": task.get("id"), "task": task.get("name"), "job_id": args[0] if args else None,
            "started": task.get("time_start")}
