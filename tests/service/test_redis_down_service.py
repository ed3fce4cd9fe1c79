"""Redis stopped while a job runs: polling keeps answering from PostgreSQL, nothing is lost."""

import signal

import redis

from infra.extensions import limiter
from support.services import clean_postgres, wait_until


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


def test_rate_limits_while_redis_hangs(make_app, migrated_pg, throwaway_redis):
    """A submission waited out redis-py's default 5 s read timeout in the rate limiter whenever
    it tried a frozen Redis (10 s for the first); it now gives up within a second, counts in
    the process meanwhile (the limit still holds) and goes back to Redis once it answers."""
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=throwaway_redis.url,
                   RATE_LIMIT_SUBMIT="2 per minute")
    client = app.test_client()
    no_video = {"data": {}, "content_type": "multipart/form-data"}  # refused (400) but counted
    settings = limiter.storage.storage.connection_pool.connection_kwargs  # unset: redis-py's 5 s
    assert settings.get("socket_timeout", 5) <= 1 and settings.get("socket_connect_timeout", 5) <= 1
    throwaway_redis.proc.send_signal(signal.SIGSTOP)
    try:
        answers = [client.post("/api/jobs", **no_video).status_code for _ in range(3)]
    finally:
        throwaway_redis.proc.send_signal(signal.SIGCONT)
    assert answers == [400, 400, 429]

    redis.Redis.from_url(throwaway_redis.url).flushdb()  # the process's count is spent; Redis's is 0
    wait_until(lambda: client.post("/api/jobs", **no_video).status_code == 400,
               what="the rate limiter to count in Redis again")
    assert redis.Redis.from_url(throwaway_redis.url).keys("LIMITS:*submit*")
