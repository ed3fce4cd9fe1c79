"""Maintenance (beat, maintenance queue): stale jobs re-queued or failed, expired jobs removed;
and a broker that does not answer at submit time (thread pool, or 503 when one is required)."""

from __future__ import annotations

from datetime import timedelta

import redis

from support.services import free_port
from infra.extensions import db, job_store, storage
from jobs.recovery import SWEEP_LOCK, expire_jobs, recover_stale, sweep_once
from models import Job, utcnow

DEAD_OWNER = "another-host:1234:99"  # on another host: only the heartbeat's age tells


def running_job(app, add_job, beat_age: float | None, attempts: int = 1, owner: str = DEAD_OWNER) -> str:
    job_id = add_job(app)
    with app.app_context():
        beat = None if beat_age is None else utcnow() - timedelta(seconds=beat_age)
        job_store().transition(job_id, "running", ("queued",), owner=owner, attempts=attempts, heartbeat_at=beat)
    return job_id


def status(app, job_id):
    with app.app_context():
        job = db.session.get(Job, job_id, populate_existing=True)
        return None if job is None else (job.status, job.error)


def test_a_stale_job_is_requeued_then_failed_when_out_of_attempts(app, add_job):
    limit = app.config["JOB_MAX_ATTEMPTS"]
    stale = app.config["HEARTBEAT_STALE_SECONDS"] + 60
    requeue = running_job(app, add_job, stale, attempts=1)
    give_up = running_job(app, add_job, stale, attempts=limit)
    between_steps = running_job(app, add_job, None)  # the broker holds its next step
    beating = running_job(app, add_job, 1.0)
    with app.app_context():
        result = recover_stale()
    assert result == {"requeued": [requeue], "failed": [give_up]}
    assert status(app, requeue) == ("queued", None)
    assert status(app, give_up)[0] == "failed" and "worker running this job stopped" in status(app, give_up)[1]
    assert status(app, between_steps)[0] == status(app, beating)[0] == "running"


def test_the_sweep_names_the_database_when_a_step_gave_up_waiting_for_it(app, add_job):
    """A step that gave up on an unreachable database could not record why; the sweep that takes
    its job later says so instead of blaming the worker, once (the note is used up)."""
    limit = app.config["JOB_MAX_ATTEMPTS"]
    stale = app.config["HEARTBEAT_STALE_SECONDS"] + 60
    requeue = running_job(app, add_job, stale, attempts=1)
    give_up = running_job(app, add_job, stale, attempts=limit)
    reason = "the database stayed unreachable for DB_FAULT_RETRY_SECONDS (300 s)"
    with app.app_context():
        for job_id in (requeue, give_up):
            job_store().note_stop(job_id, reason, ttl=60)
        assert recover_stale() == {"requeued": [requeue], "failed": [give_up]}
        assert job_store().take_stop_note(requeue) is None
        message = db.session.get(Job, requeue, populate_existing=True).message
    assert message == f"re-queued: {reason}"
    assert status(app, give_up) == ("failed", f"interrupted: {reason} (attempt {limit} of {limit}); not retried")


def test_one_sweep_at_a_time_whoever_asks(app, add_job):
    """Every worker and beat (two of them during a deploy) sweep; while one holds the lock the
    others skip, and the job is re-queued once."""
    stale = running_job(app, add_job, app.config["HEARTBEAT_STALE_SECONDS"] + 60)
    lock = redis.Redis.from_url(app.config["REDIS_URL"]).lock(SWEEP_LOCK, timeout=30)
    assert lock.acquire(blocking=False)
    try:
        with app.app_context():
            assert sweep_once() is None  # another process is sweeping
        assert status(app, stale)[0] == "running"
    finally:
        lock.release()
    with app.app_context():
        assert sweep_once() == {"requeued": [stale], "failed": []}
        assert sweep_once() == {"requeued": [], "failed": []}
    assert status(app, stale) == ("queued", None)


def test_expired_jobs_go_with_their_files(app, add_job, tmp_path):
    old, recent, active = add_job(app), add_job(app), add_job(app)
    retention = app.config["JOB_RETENTION_DAYS"]
    with app.app_context():
        for job_id, days in ((old, retention + 1), (recent, retention - 1)):
            job_store().transition(job_id, "succeeded", ("queued",), finished_at=utcnow() - timedelta(days=days))
        marker = tmp_path / "marker"
        marker.write_bytes(b"x")
        for job_id in (old, recent):
            storage().put_file(f"jobs/{job_id}/out/slides.pdf", marker)
        assert expire_jobs() == {"deleted": [old]}
        assert not storage().exists(f"jobs/{old}/out/slides.pdf")
        assert storage().exists(f"jobs/{recent}/out/slides.pdf")
    assert status(app, old) is None
    assert status(app, recent)[0] == "succeeded" and status(app, active)[0] == "queued"


def test_the_beat_expiry_removes_files_of_no_job_once_nothing_wrote_them_for_a_day(app, add_job, tmp_path):
    """What a worker killed after its job was deleted left (files written after the delete, the
    row gone): the hourly beat task removes them once a day old; a live job's files stay however
    old, and a folder of no job that was written to just now stays too."""
    from pathlib import Path

    from jobs.recovery import ORPHAN_GRACE
    from support.ops_helpers import age_folder
    from tasks import expire_jobs as beat_expire_jobs
    live, gone, busy = add_job(app), add_job(app), add_job(app)
    root = Path(app.config["STORAGE_URL"])
    marker = tmp_path / "marker"
    marker.write_bytes(b"x")
    with app.app_context():
        job_store().delete(gone)
        job_store().delete(busy)
        for job_id in (live, gone, busy):
            storage().put_file(f"jobs/{job_id}/work/chunks/000/manifest.json", marker)
            storage().put_file(f"jobs/{job_id}/out/slides/001.png", marker)
        assert beat_expire_jobs() == {"deleted": [], "orphans_removed": 0}  # maybe a submission under way
        old = ORPHAN_GRACE.total_seconds() + 600
        for job_id in (live, gone, busy):
            age_folder(root / "jobs" / job_id, old)
        storage().put_file(f"jobs/{busy}/out/slides/002.png", marker)  # written just now
        assert beat_expire_jobs() == {"deleted": [], "orphans_removed": 1}
    assert not (root / "jobs" / gone).exists()
    assert (root / "jobs" / busy / "out" / "slides" / "001.png").is_file()
    assert (root / "jobs" / live / "work" / "chunks" / "000" / "manifest.json").is_file()
    assert (root / "jobs" / live / "out" / "slides" / "001.png").is_file()


def test_unreachable_broker_at_submit_falls_back_to_the_thread_pool(make_app, app, service_clip, wait_job):
    web = make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
                   CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", STORAGE_URL=app.config["STORAGE_URL"])
    client = web.test_client()
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "ocr": "false"})
    assert response.status_code == 202 and response.get_json()["executor"] == "thread"
    assert wait_job(client, response.get_json()["id"])["status"] == "succeeded"
    assert client.get("/api/health").get_json()["components"]["broker"]["status"] == "degraded"
