"""End to end with a real Celery worker process on Redis, PostgreSQL as the job store."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from celery_config import QUEUES
from support.services import ROOT, wait_until


@pytest.fixture
def celery_worker(app, tmp_path):
    """`celery -A worker worker` on the test's database, broker and storage; stopped after."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               CELERY_BROKER_URL=app.config["REDIS_URL"], STORAGE_URL=app.config["STORAGE_URL"],
               RECOVER_JOBS_ON_START="false")
    name = f"test-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
    log = Path(tmp_path) / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q",
                                 ",".join(QUEUES), "-c", "1", "--pool=solo", "-n", name, "--without-gossip",
                                 "--without-mingle", "-l", "INFO"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: b"ready." in log.read_bytes() or proc.poll() is not None, what="the Celery worker")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield name
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_celery_worker_runs_the_job(make_app, app, celery_worker, service_clip, wait_job):
    web = make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
                   CELERY_BROKER_URL=app.config["REDIS_URL"], STORAGE_URL=app.config["STORAGE_URL"])
    client = web.test_client()
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "ocr": "false"})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["executor"] == "celery"
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 1 and job["progress"] == 100.0
    slides = client.get(f"/api/jobs/{job['id']}/slides").get_json()
    assert slides["count"] == 5
    assert client.get(slides["slides"][0]["image_url"]).data[:4] == b"\x89PNG"
    assert client.get(f"/api/jobs/{job['id']}/manifest").get_json()["video"]["duration"] == 30.0
    health = client.get("/api/health").get_json()["components"]
    assert health["broker"]["mode"] == "celery" and celery_worker in health["workers"]["online"]
