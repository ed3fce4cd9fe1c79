"""Fault: the broker (a Redis) goes away while a step runs and comes back a little later.

The extraction step finishes while the broker is down, so its send of the next step cannot be
published. The send keeps trying (jobs/dispatch.patiently) with the step's
heartbeat still beating, and the chain goes on as soon as the broker answers again: the job
succeeds on its first attempt, each step ran once, no slide row doubled. Before, the send failed
at once, the step's retry could not be published either, and only the stale-job sweep brought the
job back, as a second attempt.
"""

from __future__ import annotations

import re
import time

import sqlalchemy as sa

from support.celery_workers import Worker, files_under, steps_run, submit, web_app, worker_env
from support.services import wait_until
from infra.extensions import db
from models import Job, Slide


def job_row(app, job_id):
    with app.app_context():
        job = db.session.get(Job, job_id, populate_existing=True)
        db.session.remove()
        return job


def test_the_next_step_waits_out_a_broker_outage_and_the_job_runs_once(make_app, app, tmp_path, long_clip,
                                                                       wait_job, throwaway_redis):
    web = web_app(make_app, app, throwaway_redis.url)
    client = web.test_client()
    # A stale-job sweep would only come after 10 minutes: the job must go on without one.
    worker = Worker(worker_env(app, throwaway_redis.url, HEARTBEAT_STALE_SECONDS=600), tmp_path / "worker.log")
    try:
        job = submit(client, long_clip, ocr=False)
        wait_until(lambda: job_row(app, job["id"]).stage == "decoding", what="the extraction to start", step=0.05)
        throwaway_redis.stop()
        try:
            # The extraction's result is stored just before it sends the next step.
            wait_until(lambda: "manifest.json" in {p.name for p in files_under(app, f"jobs/{job['id']}/work/extract")},
                       what="the extraction to finish while the broker is down")
            wait_until(lambda: "broker unreachable" in worker.log.read_text(errors="replace"),
                       what="the worker to say it waits for the broker", limit=20)
            # Twice broker_connection_timeout more: the send used to give up after one.
            time.sleep(4)
            assert job_row(app, job["id"]).status == "running"
        finally:
            throwaway_redis.start()
        done = wait_job(client, job["id"], limit=60)
        wait_until(lambda: "slidecast.generate" in steps_run([worker.log]), what="the worker's log of generation")
    finally:
        worker.stop()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1
    # The extraction ran once: not failed, retried or redelivered when the broker came back.
    received = re.findall(r"Task (slidecast\.[a-z_.]+)\[[^\]]+\] received", worker.log.read_text(errors="replace"))
    assert received == ["slidecast.process_job", "slidecast.generate"], received
    assert steps_run([worker.log]) == ["slidecast.process_job", "slidecast.generate"]
    with app.app_context():
        slides = db.session.scalars(sa.select(Slide.index).where(Slide.job_id == job["id"])).all()
    assert sorted(slides) == list(range(1, 21))


def test_an_idle_worker_waits_out_a_broker_outage_and_takes_the_next_job(make_app, app, tmp_path, service_clip,
                                                                        wait_job, throwaway_redis):
    """Celery's default gives up reconnecting after 100 tries (about 45 minutes) and the worker
    exits; ours counts no limit, so after any outage the worker is there to take the next job."""
    client = web_app(make_app, app, throwaway_redis.url).test_client()
    worker = Worker(worker_env(app, throwaway_redis.url), tmp_path / "worker.log")
    try:
        throwaway_redis.stop()

        def retries():
            return re.findall(r"Trying again in [\d.]+ seconds?\.\.\. \((\d+)/(\w+)\)", worker.log.read_text(errors="replace"))
        wait_until(lambda: len(retries()) >= 3 or worker.proc.poll() is not None,
                   what="three attempts to reconnect", limit=60)
        assert worker.proc.poll() is None, worker.log.read_text(errors="replace")[-2000:]
        assert {limit for _, limit in retries()} == {"None"}, f"the worker counts down to giving up: {retries()}"
        throwaway_redis.start()
        job = submit(client, service_clip, ocr=False)
        done = wait_job(client, job["id"], limit=90)
    finally:
        worker.stop()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1
