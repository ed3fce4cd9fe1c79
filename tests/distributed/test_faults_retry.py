"""Fault: the job store's PostgreSQL refuses connections in the middle of a step.

A real worker on a real broker is extracting slides when its database goes away (every
connection to the job's database is ended and new ones are refused, as in a failover or a
restart). The step meets a transient database error, waits in its process for the database to
answer (jobs/steps.run_patiently, DB_FAULT_RETRY_SECONDS) and runs again; the job succeeds exactly
once, on its first attempt.
Bad input is the opposite case: a file that is not a video fails the job at once, never retried.

The test gets a database of its own (created, migrated, dropped), so refusing connections to it
touches nothing else on the machine.
"""

from __future__ import annotations

import collections
import http.server
import re
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.celery_workers import Worker, worker_env
from support.http_servers import http_server, serve_folder
from support.services import migrate, wait_until
from infra.extensions import db
from models import Artifact, Job, Slide
from support.celery_workers import steps_run, submit

DATA = Path(__file__).resolve().parents[1] / "data"  # tests/data


@pytest.fixture
def own_database(pg_url):
    """A migrated throwaway database on the test server; yields (url, admin engine)."""
    url = sa.engine.make_url(pg_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"slidecast_fault_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.SQLAlchemyError as exc:
        pytest.skip(f"cannot create a database of its own on the test server: {str(exc).splitlines()[0]}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False), admin
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_refusing_connections(admin, url: str):
    """End every session of the database and refuse new ones until the block exits."""
    name = sa.engine.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


@pytest.fixture
def service(own_database, make_app, redis_url, throwaway_redis):
    """A web app and one worker on the test's own database, sharing a private Redis broker."""
    url, admin = own_database
    web = make_app(SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url, CELERY_BROKER_URL=throwaway_redis.url,
                   ALLOW_PRIVATE_VIDEO_URLS=True)
    migrate(web)
    return web, admin


def job_row(app, job_id: str) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id, populate_existing=True)
        db.session.remove()
        return job


def retries_logged(log) -> list[str]:
    """Celery's line for each retried task run: "Task NAME[ID] retry: Retry in Ns: ERROR"."""
    return re.findall(r"Task (slidecast\.[a-z_.]+)\[[^\]]+\] retry: Retry in", log.read_text(errors="replace"))


def outage_during_extraction(web, admin, clip, log, wait_job, until: str, then: float = 0.0) -> tuple[dict, dict]:
    """Submit `clip`; once it is being decoded, refuse the database's connections until the
    pattern `until` is in the worker's log, and `then` seconds more. Returns (the job as
    submitted, as finished)."""
    client = web.test_client()
    job = submit(client, clip, ocr=False)
    wait_until(lambda: job_row(web, job["id"]).stage == "decoding", what="the extraction to start", step=0.05)
    with database_refusing_connections(admin, web.config["SQLALCHEMY_DATABASE_URI"]):
        wait_until(lambda: re.search(until, log.read_text(errors="replace")), what=f"{until!r} in the worker's log",
                   limit=40)
        time.sleep(then)
    return job, wait_job(client, job["id"], limit=120)


def test_a_step_waits_out_a_database_outage_longer_than_its_retries_and_the_job_succeeds_once(
        service, tmp_path, long_clip, wait_job, throwaway_redis):
    """The outage lasts well past what TASK_MAX_RETRIES=1 allows (one backoff wait, at most 2 s):
    counted retries used to run out, the step ended with nothing recorded and only the stale-job
    sweep (HEARTBEAT_STALE_SECONDS, 180 s here) brought the job back, as attempt 2."""
    web, admin = service
    log = tmp_path / "worker.log"
    worker = Worker(worker_env(web, throwaway_redis.url, TASK_MAX_RETRIES=1, DB_FAULT_RETRY_SECONDS=120), log)
    try:
        job, done = outage_during_extraction(web, admin, long_clip, log, wait_job,
                                             "heartbeat not written|database unreachable", then=12)
        wait_until(lambda: "slidecast.generate" in steps_run([log]), what="the worker's log of generation")
    finally:
        worker.stop()
    text = log.read_text(errors="replace")
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1  # the step ran again in its process, not a new attempt of the job
    assert re.search(r"job %s: database unreachable \(\(psycopg2\." % job["id"], text), text[-3000:]
    assert "the database answers again; the step runs again" in text
    assert retries_logged(log) == []  # no counted Celery retry spent on the database
    assert steps_run([log]).count("slidecast.process_job") == 1 and steps_run([log]).count("slidecast.generate") == 1
    with web.app_context():
        slides = db.session.scalars(sa.select(Slide.index).where(Slide.job_id == job["id"])).all()
        keys = db.session.scalars(sa.select(Artifact.key).where(Artifact.job_id == job["id"])).all()
    assert sorted(slides) == list(range(1, 21))
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []


def test_a_step_stops_waiting_for_the_database_after_its_budget_and_the_job_does_not_stay_running(
        service, tmp_path, long_clip, wait_job, throwaway_redis):
    """DB_FAULT_RETRY_SECONDS=2: the step gives up while the database still refuses, so it cannot
    record the failure itself; once the database is back the stale-job sweep fails the job
    (JOB_MAX_ATTEMPTS=1) with the reason the step left in Redis, and the step does not run again."""
    web, admin = service
    log = tmp_path / "worker.log"
    env = dict(DB_FAULT_RETRY_SECONDS=2, HEARTBEAT_STALE_SECONDS=4, RECOVERY_SWEEP_SECONDS=1, JOB_MAX_ATTEMPTS=1)
    worker = Worker(worker_env(web, throwaway_redis.url, **env), log)
    try:
        _, done = outage_during_extraction(web, admin, long_clip, log, wait_job, "could not record the failure")
    finally:
        worker.stop()
    text = log.read_text(errors="replace")
    assert done["status"] == "failed", done
    assert done["error"] == ("interrupted: the database stayed unreachable for DB_FAULT_RETRY_SECONDS (2 s) "
                             "(attempt 1 of 1); not retried")
    assert re.search(r"database unreachable \(.*?\); the step waits up to 2 s", text, re.S), text[-3000:]
    assert "the step runs again" not in text and retries_logged(log) == []


def test_a_file_that_is_not_a_video_fails_at_once_without_retry(service, tmp_path, wait_job, throwaway_redis):
    web, _ = service
    client = web.test_client()
    site = tmp_path / "site"
    site.mkdir()
    (site / "talk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400)  # a header, then noise
    log = tmp_path / "worker.log"
    worker = Worker(worker_env(web, throwaway_redis.url, ALLOW_PRIVATE_VIDEO_URLS="true"), log)
    try:
        with serve_folder(site) as (base, _):
            response = client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4"})
            assert response.status_code == 202, response.get_json()
            done = wait_job(client, response.get_json()["id"], limit=60)
            wait_until(lambda: "slidecast.process_job" in steps_run([log]), what="the worker's log of the step")
    finally:
        worker.stop()
    assert done["status"] == "failed" and done["error"].startswith("the file is not a readable video"), done["error"]
    assert done["attempts"] == 1
    assert retries_logged(log) == [] and "transient fault" not in log.read_text(errors="replace")
    row = job_row(web, done["id"])
    assert (row.finished_at - row.started_at).total_seconds() < 5  # no backoff wait in between


def flaky_handler(video, failures: int, answered: collections.Counter):
    """A handler serving one video file, answering 503 to the first `failures` requests."""
    body = video.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            answered["requests"] += 1
            if answered["requests"] <= failures:
                self.send_error(503, "busy")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def test_a_video_url_server_that_is_busy_at_first_is_tried_again(service, tmp_path, wait_job, throwaway_redis):
    """503 is "not now", not "not this URL": the step is retried and the job succeeds."""
    web, _ = service
    client = web.test_client()
    answered = collections.Counter()
    log = tmp_path / "worker.log"
    worker = Worker(worker_env(web, throwaway_redis.url, ALLOW_PRIVATE_VIDEO_URLS="true"), log)
    try:
        with http_server(flaky_handler(DATA / "narrated.mp4", 1, answered)) as base:
            response = client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4", "ocr": False})
            assert response.status_code == 202, response.get_json()
            done = wait_job(client, response.get_json()["id"], limit=90)
    finally:
        worker.stop()
    assert done["status"] == "succeeded", done["error"]
    assert answered["requests"] == 2
    assert retries_logged(log) == ["slidecast.process_job"]
    assert "HTTP 503" in log.read_text(errors="replace")
