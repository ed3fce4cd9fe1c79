"""Live progress: GET /api/jobs/ID/events streams the job's events as Server-Sent Events.

Each frame is one event of the job's log (infra/events.py) in order: `id:` the log's id,
`event:` what happened (created, running, progress, succeeded, ...), `data:` JSON
{"event", "id", "status", "stage", "progress"}. The last frame carries the final state (the
whole job document, as GET /api/jobs/ID) and the stream ends. A client that reconnects with
Last-Event-ID gets every event after that one. A `: heartbeat` comment comes every
SSE_HEARTBEAT_SECONDS while nothing happens.

Each open stream holds one web thread (docs/service.md); SSE_MAX_STREAMS per process are
allowed, beyond that the answer is 503 with Retry-After (poll GET /api/jobs/ID instead).
"""

from __future__ import annotations

import json
import logging
import threading
import time

import redis
from flask import Flask, Response, current_app, request
from flask_smorest import Blueprint, abort

from api.jobs import find_job, job_document
from api.schemas import ProblemSchema
from infra.extensions import db, job_store
from models import CANCELLED, FAILED, SUCCEEDED

blp = Blueprint("events", __name__, description="Live job progress (Server-Sent Events)")
log = logging.getLogger("slidecast.api.events")
FINAL = (SUCCEEDED, FAILED, CANCELLED)
RETRY_MS = 2000  # how soon a browser's EventSource reconnects after a dropped connection


class StreamSlots:
    """Counts the open streams of this process against SSE_MAX_STREAMS."""

    def __init__(self, limit: int):
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open -= 1


def init_streams(app: Flask) -> None:
    """Give `app` its stream counter (called by api.register_api)."""
    app.extensions["slidecast.streams"] = StreamSlots(app.config["SSE_MAX_STREAMS"])


@blp.route("/jobs/<job_id>/events", methods=["GET"])
@blp.doc(responses={200: {"description": "the job's events, ending with its final state",
                          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                    404: {"description": "no such job", "content": {"application/problem+json": {"schema": ProblemSchema}}},
                    503: {"description": "too many open streams (SSE_MAX_STREAMS) or the database is down; "
                                         "see Retry-After"}})
def job_events(job_id):
    """The job's stage and progress changes as Server-Sent Events, then its final state; send
    Last-Event-ID (or ?last_event_id=) to resume after an event already seen."""
    job_id = find_job(job_id)["id"]
    slots = current_app.extensions["slidecast.streams"]
    if not slots.take():
        abort(503, message=f"this server holds its limit of {slots.limit} open event streams (SSE_MAX_STREAMS); "
                           f"poll GET /api/jobs/{job_id} or retry after the seconds in Retry-After",
              headers={"Retry-After": "5"})
    after = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or None
    stream = _stream(current_app._get_current_object(), job_id, after, slots)
    return Response(stream, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _stream(app: Flask, job_id: str, after: str | None, slots: StreamSlots):
    try:
        with app.app_context():
            yield f"retry: {RETRY_MS}\n\n"
            # The first look does not wait: a job that ended before the log held its events (a
            # restart empties the in-process log) is answered from the store at once.
            wait = 0.0
            while True:
                events = _read(job_id, after, wait)
                for event_id, event in events:
                    after = event_id
                    if event.get("status") in FINAL or event.get("event") == "deleted":
                        yield _final_frame(job_id, event_id)
                        return
                    yield _frame(event.get("event") or "updated", event, event_id)
                if not events:
                    # Quiet: the log may have lost the end (Redis down, another process ran
                    # the job): the store is the truth.
                    doc = _stored(job_id)
                    if doc is None or doc["status"] in FINAL:
                        yield _final_frame(job_id, None)
                        return
                    if wait:
                        yield ": heartbeat\n\n"
                wait = app.config["SSE_HEARTBEAT_SECONDS"]
    finally:
        slots.release()


def _read(job_id: str, after: str | None, wait: float) -> list[tuple[str, dict]]:
    try:
        return job_store().events.read(job_id, after, wait)
    except redis.RedisError as exc:
        log.warning("job %s: event log unreadable (%s); answering from the job store", job_id, exc)
        time.sleep(min(wait, 1.0))
        return []


def _stored(job_id: str) -> dict | None:
    """The job's record, without keeping a database connection for the rest of the stream."""
    try:
        return job_store().get(job_id)
    finally:
        db.session.remove()


def _final_frame(job_id: str, event_id: str | None) -> str:
    doc = _stored(job_id)
    if doc is None:
        return _frame("deleted", {"event": "deleted", "id": job_id, "status": None}, event_id)
    return _frame(doc["status"], job_document(doc), event_id)


def _frame(name: str, data: dict, event_id: str | None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"
