"""`./deploy_scalable.sh worker QUEUES` as Docker and Render start it: a real Celery worker that
runs a job end to end, logs JSON lines carrying the job id, and whose stage durations reach the
API's /metrics through Redis."""

from __future__ import annotations

import io
import json

from celery_config import QUEUES
from support.ops_helpers import scrape, stage_counts, start, stop


def test_a_worker_started_by_the_script_runs_a_job(make_app, tmp_path, throwaway_redis, service_clip, wait_job):
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    config = {"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": throwaway_redis.url,
              "CELERY_BROKER_URL": throwaway_redis.url, "STORAGE_URL": str(tmp_path / "data")}
    app = make_app(**config)
    from support.services import migrate
    migrate(app)
    env = {"DATABASE_URL": db_url, "REDIS_URL": throwaway_redis.url, "CELERY_BROKER_URL": "",
           "STORAGE_URL": str(tmp_path / "data"), "WORKER_CONCURRENCY": "1", "LOG_FORMAT": "json"}
    worker = start(["./deploy_scalable.sh", "worker", ",".join(QUEUES)], env)
    try:
        client = app.test_client()
        response = client.post("/api/jobs", data={"file": (io.BytesIO(service_clip.read_bytes()), "talk.mp4"),
                                                  "ocr": "false", "transcribe": "false"},
                               content_type="multipart/form-data")
        assert response.get_json()["executor"] == "celery"
        job = wait_job(client, response.get_json()["id"], limit=120)
        assert job["status"] == "succeeded", job
        stages = stage_counts(scrape(client.get))
        assert stages.get("decoding", 0) >= 1 and stages.get("detecting", 0) >= 1, stages
    finally:
        output = stop(worker)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(entry.get("job_id") == job["id"] for entry in lines), output[-2000:]
    assert not [e for e in lines if e["level"] == "ERROR"], output[-3000:]
