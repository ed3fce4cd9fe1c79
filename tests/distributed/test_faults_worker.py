"""Fault: kill -9 (or SIGTERM, as a deploy does) a worker in the middle of an extraction, start
another one.

The job completes exactly once: one success, no slide rows, artifact rows or files doubled.
RabbitMQ gives the unacknowledged message back as soon as the dead worker's connection drops;
Redis keeps it invisible for the visibility timeout, so the stale-job sweep
(jobs/recovery.recover_stale, which every worker runs at start and periodically: no beat needed)
re-queues the job once its worker is seen dead.
"""

from __future__ import annotations

import collections

import pytest
import sqlalchemy as sa

from support.celery_workers import Worker, broker, web_app, worker_env
from support.services import wait_until
from infra.extensions import db
from models import Artifact, Job, Slide
from support.celery_workers import files_under, steps_run, submit


def job_row(app, job_id):
    with app.app_context():
        job = db.session.get(Job, job_id, populate_existing=True)
        db.session.remove()
        return job


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_killed_worker_job_completes_exactly_once(make_app, app, tmp_path, long_clip, wait_job, kind, request):
    with broker(kind, request) as url:
        web = web_app(make_app, app, url)
        client = web.test_client()
        first = Worker(worker_env(app, url), tmp_path / "first.log")
        try:
            job = submit(client, long_clip, ocr=False)
            wait_until(lambda: (job_row(app, job["id"]).stage or "") in ("decoding", "detecting"),
                       what="the extraction to be under way", step=0.05)
            first.kill9()
        finally:
            first.stop()
        assert job_row(app, job["id"]).status == "running", "killed in the middle: the job is still running"
        # No beat runs: on Redis the message stays invisible, and the second worker's own sweep
        # (at its start, then every RECOVERY_SWEEP_SECONDS) re-queues the job.
        second = Worker(worker_env(app, url, RECOVERY_SWEEP_SECONDS=1), tmp_path / "second.log")
        try:
            done = wait_job(client, job["id"], limit=240)
            wait_until(lambda: "slidecast.generate" in steps_run([second.log]), what="the second worker's log")
        finally:
            second.stop()
    if kind == "redis":
        assert "stale jobs recovered" in second.log.read_text()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert steps_run([tmp_path / "first.log", second.log]).count("slidecast.generate") == 1
    with app.app_context():
        slides = db.session.scalars(sa.select(Slide.index).where(Slide.job_id == job["id"])).all()
        keys = db.session.scalars(sa.select(Artifact.key).where(Artifact.job_id == job["id"])).all()
    assert sorted(slides) == list(range(1, 21))
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
    assert len(files_under(app, f"jobs/{job['id']}/out/slides")) == 20
    assert files_under(app, f"jobs/{job['id']}/work") == []


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_deploy_sigterm_hands_the_running_step_back_at_once(make_app, app, tmp_path, long_clip, wait_job, kind,
                                                                request):
    """SIGTERM (a deploy, a scale-down) mid-extraction: after WORKER_SOFT_SHUTDOWN_SECONDS the
    worker cancels the step and exits; the message goes back to the queue unacknowledged, so the
    next worker runs it at once, with no stale-job sweep (on Redis the message would otherwise stay
    invisible for the visibility timeout, hours)."""
    # As deploy_scalable.sh worker, with a short soft window: the step here takes about 1.5 s.
    shutdown = {"REMAP_SIGTERM": "SIGQUIT", "WORKER_SOFT_SHUTDOWN_SECONDS": "0.2"}
    with broker(kind, request) as url:
        web = web_app(make_app, app, url)
        client = web.test_client()
        first = Worker(worker_env(app, url, **shutdown), tmp_path / "first.log", prefork=True)
        try:
            job = submit(client, long_clip, ocr=False)
            wait_until(lambda: (job_row(app, job["id"]).stage or "") in ("decoding", "detecting"),
                       what="the extraction to be under way", step=0.05)
            first.proc.terminate()
            first.proc.wait(60)
            assert job_row(app, job["id"]).stage in ("decoding", "detecting"), "the worker waited for the step"
        finally:
            first.stop()
        assert "Soft Shutdown" in first.log.read_text()
        second = Worker(worker_env(app, url, **shutdown), tmp_path / "second.log", prefork=True)
        try:
            done = wait_job(client, job["id"], limit=240)
        finally:
            second.stop()
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert steps_run([tmp_path / "first.log", second.log]).count("slidecast.generate") == 1
    with app.app_context():
        slides = db.session.scalars(sa.select(Slide.index).where(Slide.job_id == job["id"])).all()
    assert sorted(slides) == list(range(1, 21))

