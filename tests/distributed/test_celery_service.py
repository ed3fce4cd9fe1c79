"""End to end with a real Celery worker process on Redis, PostgreSQL as the job store."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from celery_config import QUEUES
from support.http_servers import serve_folder
from support.services import ROOT, wait_until


@pytest.fixture
def celery_worker(app, tmp_path):
    """`celery -A worker worker` on the test's database, broker and storage; stopped after."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               CELERY_BROKER_URL=app.config["REDIS_URL"], STORAGE_URL=app.config["STORAGE_URL"],
               RECOVER_JOBS_ON_START="false", ALLOW_PRIVATE_VIDEO_URLS="true")  # URLs served by the test
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


def test_a_video_url_already_processed_reuses_that_jobs_slides_on_celery(make_app, app, celery_worker, service_clip,
                                                                         wait_job, tmp_path):
    web = make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
                   CELERY_BROKER_URL=app.config["REDIS_URL"], STORAGE_URL=app.config["STORAGE_URL"],
                   ALLOW_PRIVATE_VIDEO_URLS=True)
    client = web.test_client()
    first = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "ocr": "false"})
    assert wait_job(client, first.get_json()["id"])["status"] == "succeeded"
    (tmp_path / "talk.mp4").write_bytes(service_clip.read_bytes())
    with serve_folder(tmp_path) as (base, _seen):
        accepted = client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4", "ocr": False})
        assert accepted.status_code == 202 and accepted.get_json()["executor"] == "celery", accepted.get_json()
        job = wait_job(client, accepted.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["message"].startswith("cached") and first.get_json()["id"] in job["message"]
    slides = client.get(f"/api/jobs/{job['id']}/slides").get_json()
    assert slides["count"] == 5 and client.get(slides["slides"][0]["image_url"]).data[:4] == b"\x89PNG"
