"""Redis stopped while a job runs: polling keeps answering from PostgreSQL, nothing is lost."""

import signal

from support.services import clean_postgres


def test_polling_survives_redis_going_away(make_app, migrated_pg, throwaway_redis, service_clip, wait_job):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=throwaway_redis.url)
    clean_postgres(app)
    client = app.test_client()
    assert client.get("/api/health").get_json()["components"]["cache"]["status"] == "ok"
    job_id = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"),
                                            "ocr": "false"}).get_json()["id"]
    throwaway_redis.stop()

    response = client.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200 and response.get_json()["id"] == job_id
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["components"]["cache"]["status"] == "degraded"

    job = wait_job(client, job_id)
    assert job["status"] == "succeeded", job["error"]
    assert client.get(f"/api/jobs/{job_id}/slides").get_json()["count"] == 5
    assert client.get("/api/jobs").get_json()["total"] == 1


def test_a_job_finishes_while_redis_hangs(make_app, migrated_pg, throwaway_redis, service_clip, wait_job):
    """A Redis that accepts connections but answers nothing (frozen, a stalled network) must not
    stall the job: each progress event waited out the event log's 20 s read timeout, so a 20-s job
    took 94 s in the operator trial and a long one would run into JOB_TIME_LIMIT."""
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=throwaway_redis.url)
    clean_postgres(app)
    client = app.test_client()
    throwaway_redis.proc.send_signal(signal.SIGSTOP)
    try:
        job_id = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"),
                                                "ocr": "false"}).get_json()["id"]
        job = wait_job(client, job_id, limit=120)
        assert job["status"] == "succeeded", job["error"]
        assert client.get(f"/api/jobs/{job_id}/slides").get_json()["count"] == 5
    finally:
        throwaway_redis.proc.send_signal(signal.SIGCONT)
