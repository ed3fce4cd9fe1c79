"""GET /api/queues: depth per queue (all priorities counted), workers online, broker down; a
more urgent job overtakes the jobs waiting in its queue."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from celery_config import QUEUES
from jobs import keys
from support.celery_workers import Worker, broker, submit, web_app, worker_env, workers
from support.held_files import opening_held
from support.http_servers import http_server
from support.services import wait_until


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


def test_a_queue_no_worker_consumes_is_named_by_health_and_by_the_job_waiting_there(make_app, app, tmp_path,
                                                                                   service_clip, throwaway_redis):
    # A worker answers, but none takes analysis: every job asking for OCR stops there.
    client = web_app(make_app, app, throwaway_redis.url).test_client()
    assert client.get("/api/health").get_json()["components"]["workers"]["status"] == "none"
    log = tmp_path / "worker.log"
    worker = Worker(worker_env(app, throwaway_redis.url), log, queues=[q for q in QUEUES if q != "analysis"])
    try:
        def health_seeing_the_worker():
            # a new app each time: an app keeps its answer 10 s; on a busy machine the worker's
            # first ping reply can come after the health check's wait
            answer = web_app(make_app, app, throwaway_redis.url).test_client().get("/api/health").get_json()
            return answer if answer["components"]["workers"]["status"] != "none" else None

        health = wait_until(health_seeing_the_worker, what="health to see the worker", limit=30, step=0.5)
        fresh = web_app(make_app, app, throwaway_redis.url).test_client()
        job = submit(fresh, service_clip, ocr=True)
        waiting = wait_until(lambda: (lambda j: j if "analysis" in (j["message"] or "") else None)(
            fresh.get(f"/api/jobs/{job['id']}").get_json()), what="the job to wait for OCR", limit=120)
    finally:
        worker.stop()
    workers_part = health["components"]["workers"]
    assert health["status"] == "degraded" and workers_part["status"] == "degraded", health
    assert workers_part["unconsumed"] == ["analysis"] and worker.name in workers_part["queues"]["extraction"]
    assert "analysis" in workers_part["detail"] and "wait" in workers_part["detail"]
    assert waiting["status"] == "running" and waiting["message"] == "waiting for a worker of the analysis queue"


def test_a_worker_taking_the_next_step_replaces_the_waiting_message(make_app, app, tmp_path, service_clip,
                                                                    throwaway_redis, wait_job):
    """The analysis step said nothing until OCR began, after fetching the slides from storage:
    meanwhile (4 s in the operator trial) the job still read "waiting for a worker of the
    analysis queue". Here the fetch waits until the test has read the job."""
    client = web_app(make_app, app, throwaway_redis.url, JOB_NEAR_CACHE_SECONDS=0).test_client()
    env, started = worker_env(app, throwaway_redis.url), []
    try:
        started.append(Worker(env, tmp_path / "others.log", queues=[q for q in QUEUES if q != "analysis"]))
        job_id = submit(client, service_clip, ocr=True)["id"]
        wait_until(lambda: client.get(f"/api/jobs/{job_id}").get_json()["message"]
                   == "waiting for a worker of the analysis queue", what="the job to wait for OCR", limit=120)
        manifest = Path(app.config["STORAGE_URL"]) / keys.extract_prefix(job_id) / "manifest.json"
        with opening_held(manifest) as fetching:
            started.append(Worker(env, tmp_path / "ocr.log", queues=["analysis"]))
            wait_until(fetching, what="the analysis step to fetch the slides", limit=60)
            taken = client.get(f"/api/jobs/{job_id}").get_json()
        done = wait_job(client, job_id)
    finally:
        for worker in started:
            worker.stop()
    assert taken["status"] == "running" and taken["stage"] == "ocr", taken
    assert "waiting for a worker" not in taken["message"]
    assert done["status"] == "succeeded", done["error"]


def test_queues_without_a_broker(client):
    assert client.get("/api/queues").get_json()["mode"] == "thread pool"


@contextmanager
def held_video(clip):
    """A URL serving `clip` only once the yielded event is set: a job downloading it keeps its
    worker busy for exactly as long as the test wants."""
    release = threading.Event()

    class Held(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            release.wait(60)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(clip.stat().st_size))
            self.end_headers()
            self.wfile.write(clip.read_bytes())

        def log_message(self, *args):
            pass

    with http_server(Held) as base:
        try:
            yield f"{base}/lecture.mp4", release
        finally:
            release.set()  # before the server waits for its open requests to end


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_priority_9_job_starts_before_priority_0_jobs_waiting_in_its_queue(make_app, app, tmp_path, service_clip,
                                                                              wait_job, kind, request):
    with broker(kind, request) as url, held_video(service_clip) as (video_url, release):
        client = web_app(make_app, app, url, ALLOW_PRIVATE_VIDEO_URLS=True).test_client()
        with workers(app, tmp_path, url, ALLOW_PRIVATE_VIDEO_URLS="true"):
            busy = client.post("/api/jobs", json={"video_url": video_url, "ocr": False}).get_json()["id"]
            wait_until(lambda: client.get(f"/api/jobs/{busy}").get_json()["stage"] == "downloading",
                       what="the only worker to be busy with the first job")
            # Options differ: an identical upload would be answered with the first, queued job.
            waiting = [submit(client, service_clip, ocr=False, priority=0, sensitivity=0.4 + n / 100)["id"]
                       for n in range(3)]
            urgent = submit(client, service_clip, ocr=False, priority=9, sensitivity=0.6)["id"]
            assert client.get("/api/queues").get_json()["queues"]["extraction"] == 4
            release.set()
            done = {job: wait_job(client, job, limit=240) for job in [busy, *waiting, urgent]}
    assert all(doc["status"] == "succeeded" for doc in done.values()), done
    assert done[urgent]["started_at"] < min(done[job]["started_at"] for job in waiting)
    assert done[busy]["started_at"] < done[urgent]["started_at"]  # the running job was not interrupted
