"""GET /api/queues: depth per queue (all priorities counted), workers online, broker down."""

from __future__ import annotations

from support.celery_workers import web_app, workers
from support.services import wait_until
from support.celery_workers import submit


def test_queues_report_depth_and_workers(make_app, app, tmp_path, service_clip, throwaway_redis):
    client = web_app(make_app, app, throwaway_redis.url).test_client()
    for priority in (0, 5, 9):  # three priorities: three Redis lists behind one queue
        # Options differ: an identical upload would be answered with the first, queued job.
        submit(client, service_clip, ocr=False, priority=priority, sensitivity=0.4 + priority / 100)
    body = client.get("/api/queues").get_json()
    assert body["mode"] == "celery" and body["queues"]["extraction"] == 3 and body["online"] == 0
    assert body["queues"]["analysis"] == 0 and body["waiting"] == 3
    with workers(app, tmp_path, throwaway_redis.url) as started:
        answer = wait_until(lambda: (lambda b: b if b["online"] == 1 and b["waiting"] == 0 else None)(
            client.get("/api/queues").get_json()), what="the worker to drain the queue", limit=120)
        assert answer["workers"][0]["name"] == started[0].name
        assert set(answer["workers"][0]["queues"]) >= {"extraction", "analysis", "generation", "maintenance"}
    throwaway_redis.stop()
    down = client.get("/api/queues")
    assert down.status_code == 503 and down.mimetype == "application/problem+json"


def test_queues_without_a_broker(client):
    assert client.get("/api/queues").get_json()["mode"] == "thread pool"
