"""GET /metrics: Prometheus text that a real parser accepts, while jobs run, with counts that add
up across gunicorn workers; GET /api/cache/stats for both cache backends."""

from __future__ import annotations

import io
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from infra.extensions import job_store
from support.ops_helpers import children, free_port, scrape, stage_counts, start_gunicorn, stop, value

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def submit(client, clip: Path, sensitivity: float = 0.5) -> str:
    response = client.post("/api/jobs", data={"file": (io.BytesIO(clip.read_bytes()), "talk.mp4"), "ocr": "false",
                                              "transcribe": "false", "sensitivity": str(sensitivity)},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_metrics_scrape_cleanly_while_a_job_runs(embedded_client, service_clip):
    before = scrape(embedded_client.get)
    job_id = submit(embedded_client, service_clip)
    seen_active, scrapes = False, 0
    while True:
        samples = scrape(embedded_client.get)
        scrapes += 1
        assert sum(value(samples, "slidecast_jobs", state=s) for s in STATES) == 1
        seen_active |= value(samples, "slidecast_jobs", state="running") + value(samples, "slidecast_jobs",
                                                                                 state="queued") == 1
        if embedded_client.get(f"/api/jobs/{job_id}").get_json()["status"] in STATES[2:]:
            break
        assert scrapes < 600, "the job did not finish"
        time.sleep(0.2)
    after = scrape(embedded_client.get)
    assert seen_active
    assert value(after, "slidecast_jobs", state="succeeded") == 1
    posted = ("slidecast_http_requests_total", {"method": "POST", "endpoint": "/api/jobs", "status": "202"})
    assert value(after, posted[0], **posted[1]) - value(before, posted[0], **posted[1]) == 1
    polls = value(after, "slidecast_http_request_duration_seconds_count", method="GET", endpoint="/api/jobs/<job_id>")
    assert polls - value(before, "slidecast_http_request_duration_seconds_count", method="GET",
                         endpoint="/api/jobs/<job_id>") == scrapes
    grown = {stage for stage, count in stage_counts(after).items() if count > stage_counts(before).get(stage, 0)}
    assert {"decoding", "detecting"} <= grown, stage_counts(after)
    assert not any(k[0] == "slidecast_queue_depth" for k in after)  # no broker: no queues to report


def test_queue_depth_and_stage_durations_with_redis(make_app, migrated_pg, throwaway_redis, service_clip, wait_job):
    from support.services import clean_postgres
    # A private Redis: no Celery worker of another test run may take the message.
    redis_url = throwaway_redis.url
    # The broker is Redis but no worker runs: the job waits in the extraction queue.
    broker_app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url)
    clean_postgres(broker_app)
    client = broker_app.test_client()
    submit(client, service_clip)
    samples = scrape(client.get)
    assert value(samples, "slidecast_queue_depth", queue="extraction") == 1
    assert value(samples, "slidecast_queue_depth", queue="generation") == 0
    assert value(samples, "slidecast_jobs", state="queued") == 1
    # A thread-pool app on the same Redis times its stages there; the broker app's scrape sees them.
    pool_app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url)
    # Other options than the queued job's: the same upload would be answered with that job.
    job = wait_job(pool_app.test_client(), submit(pool_app.test_client(), service_clip, sensitivity=0.6), limit=120)
    assert job["status"] == "succeeded"
    stages = stage_counts(scrape(client.get))
    assert stages.get("decoding") == 1 and stages.get("detecting") == 1, stages


def test_cache_stats_in_process(embedded_client, service_clip):
    first = embedded_client.get("/api/cache/stats").get_json()
    assert first["backend"] == "in-process" and first["keys"] == 0
    job_id = submit(embedded_client, service_clip)
    embedded_client.get(f"/api/jobs/{job_id}")
    stats = embedded_client.get("/api/cache/stats").get_json()
    assert stats["keys"] >= 1 and stats["memory_bytes"] > 0
    assert stats["hits"] + stats["misses"] > first["hits"] + first["misses"]


def test_cache_stats_from_redis(client):
    stats = client.get("/api/cache/stats").get_json()
    assert stats["backend"] == "redis"
    assert {"hits", "misses", "keys", "memory_bytes", "maxmemory_policy"} <= set(stats)
    assert stats["memory_bytes"] > 0 and stats["keys"] >= 0
    client.get("/api/jobs/00000000-0000-0000-0000-000000000000")
    assert client.get("/api/cache/stats").get_json()["misses"] >= stats["misses"]


def test_status_polls_are_counted_by_where_they_were_answered(app, client, add_job):
    """slidecast_job_reads_total: the first poll of a job finds it in Redis (written when the job
    was created), the next ones within JOB_NEAR_CACHE_SECONDS in the process's near cache; after
    its Redis entry is gone, one poll reads the database and caches it again."""
    job_id = add_job(app)
    reads = lambda samples: {s: value(samples, "slidecast_job_reads_total", source=s)  # noqa: E731
                             for s in ("near", "cache", "database")}
    before = reads(scrape(client.get))
    for _ in range(3):
        assert client.get(f"/api/jobs/{job_id}").status_code == 200
    after = reads(scrape(client.get))
    assert {s: after[s] - before[s] for s in after} == {"near": 2, "cache": 1, "database": 0}
    with app.app_context():
        job_store().cache.client.delete(f"slidecast:job-record:{job_id}")  # as if its TTL ran out
        job_store().near.drop(job_id)
    for _ in range(2):
        assert client.get(f"/api/jobs/{job_id}").status_code == 200
    last = reads(scrape(client.get))
    assert {s: last[s] - after[s] for s in last} == {"near": 1, "cache": 0, "database": 1}


def test_cache_stats_when_redis_is_down(make_app, throwaway_redis, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.db'}", REDIS_URL=throwaway_redis.url)
    throwaway_redis.stop()
    response = app.test_client().get("/api/cache/stats")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert "Redis" in response.get_json()["detail"]


# ---- several gunicorn workers ----------------------------------------------------------------
@pytest.fixture
def gunicorn_server(tmp_path, embedded_app):
    """gunicorn with 2 workers on the embedded app's (migrated) SQLite database."""
    proc, base = start_gunicorn(tmp_path, embedded_app.config["SQLALCHEMY_DATABASE_URI"], workers=2)
    yield proc, base, tmp_path / "prom"
    output = stop(proc, signal.SIGINT)  # quick shutdown: nothing is in flight any more
    assert '"level": "ERROR"' not in output, output[-3000:]


def _pids_with_counts(prom: Path) -> set[int]:
    return {int(f.stem.rsplit("_", 1)[1]) for f in prom.glob("counter_*.db")}


def _wait_for_workers(master: int, not_among: set[int], deadline: float) -> None:
    while len(set(children(master)) - not_among) < 2:
        assert time.monotonic() < deadline, "gunicorn did not start two workers"
        time.sleep(0.1)


def test_counts_add_up_across_two_gunicorn_workers(gunicorn_server):
    proc, base, prom = gunicorn_server
    deadline = time.monotonic() + 30
    _wait_for_workers(proc.pid, set(), deadline)

    # Counts, not speed, are checked here: at load 12 one request waited more than 10 s.
    def hit(path):
        return requests.get(base + path, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(hit, ["/api/health"] * 30)) == {200}
        assert set(pool.map(hit, ["/api/jobs/nope"] * 7)) == {404}
    served = _pids_with_counts(prom)
    for pid in served:  # recycle every worker that counted something: its counts must survive
        os.kill(pid, 15)
    _wait_for_workers(proc.pid, served, deadline)
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(hit, ["/api/health"] * 10)) == {200}
    assert len(_pids_with_counts(prom) - served) >= 1  # the later requests were counted by new workers
    for _ in range(4):  # whichever worker answers the scrape, it reports every worker's requests
        samples = scrape(lambda path: requests.get(base + path, timeout=30))
        assert value(samples, "slidecast_http_requests_total", method="GET", endpoint="/api/health",
                     status="200") == 40
        assert value(samples, "slidecast_http_requests_total", method="GET", endpoint="/api/jobs/<job_id>",
                     status="404") == 7
        assert value(samples, "slidecast_http_request_duration_seconds_count", method="GET",
                     endpoint="/api/health") == 40


def test_a_scrape_answers_when_database_and_broker_do_not(make_app, tmp_path):
    # An unmigrated database (no jobs table) and a broker port nothing listens on.
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}", REDIS_URL=None,
                   CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    client.get("/api/jobs/nope")
    before = scrape(client.get)
    for n in range(3):  # made-up paths and methods do not make new series
        client.get(f"/no/such/path/{n}")
        client.open("/api/health", method=f"BREW{n}")
    samples = scrape(client.get)
    for method, status in (("GET", "404"), ("other", "405")):
        labels = {"method": method, "endpoint": "<unmatched>", "status": status}
        assert value(samples, "slidecast_http_requests_total", **labels) - \
            value(before, "slidecast_http_requests_total", **labels) == 3
    assert not [labels for name, labels in samples if "BREW" in str(labels) or "/no/such" in str(labels)]
    assert not any(name in ("slidecast_jobs", "slidecast_queue_depth") for name, _ in samples)
    assert any(name == "slidecast_http_requests_total" for name, _ in samples)
