"""Rate limits: one submission counter per API key (per address without keys) shared by every
submit route and, through Redis, by every web process; reads have their own limit; 429 says when
to try again."""

from __future__ import annotations

import pytest
import redis

from infra.extensions import limiter
from support.api_checks import assert_problem
from support.security import bearer, make_key
from support.services import clean_postgres

NO_VIDEO = {"data": {}, "content_type": "multipart/form-data"}  # refused (400) but counted


@pytest.fixture
def limited(make_app, migrated_pg, redis_url, app):
    """Two apps (as two web processes have) on one PostgreSQL and Redis, AUTH_REQUIRED, 3
    submissions and 5 reads a minute. bench/rate_limit_bench.py checks real gunicorn workers."""
    config = dict(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, AUTH_REQUIRED=True,
                  RATE_LIMIT_SUBMIT="3 per minute", RATE_LIMIT_READ="5 per minute")
    first, second = make_app(**config), make_app(**config)
    clean_postgres(first)
    limiter.reset()
    return first, second


def test_one_submit_counter_across_routes_and_processes(limited):
    first, second = limited
    key, other = make_key(first, "alice"), make_key(first, "bob")
    one, two = first.test_client(), second.test_client()
    assert one.post("/api/jobs", headers=bearer(key), **NO_VIDEO).status_code == 400
    assert two.post("/api/extract", headers=bearer(key), **NO_VIDEO).status_code == 400
    assert one.post("/api/extract", headers=bearer(key), **NO_VIDEO).status_code == 400
    for client, route in ((one, "/api/jobs"), (two, "/api/extract")):
        response = client.post(route, headers=bearer(key), **NO_VIDEO)
        assert_problem(response, 429, "RATE_LIMIT_SUBMIT")
        assert int(response.headers["Retry-After"]) > 0
    assert two.post("/api/jobs", headers=bearer(other), **NO_VIDEO).status_code == 400  # bob is unaffected
    counters = redis.Redis.from_url(first.config["REDIS_URL"]).keys("LIMITS:*submit*")
    assert len(counters) == 2  # in Redis, where every process counts: one per key, not per route


def test_reads_have_their_own_limit(limited):
    first, _ = limited
    key = make_key(first, "carol")
    client = first.test_client()
    for _ in range(5):
        assert client.get("/api/jobs", headers=bearer(key)).status_code == 200
    response = client.get("/api/jobs", headers=bearer(key))
    assert_problem(response, 429, "RATE_LIMIT_READ")
    assert int(response.headers["Retry-After"]) > 0
    assert client.post("/api/jobs", headers=bearer(key), **NO_VIDEO).status_code == 400  # submissions still open
    assert client.get("/api/health").status_code == 200  # health is never limited


def test_asking_by_hash_counts_with_the_reads(limited):
    first, _ = limited
    key = make_key(first, "dave")
    client = first.test_client()
    for _ in range(5):
        assert client.post("/api/jobs/repeat", json={"video_sha256": "0" * 64}, headers=bearer(key)).status_code == 404
    response = client.post("/api/jobs/repeat", json={"video_sha256": "0" * 64}, headers=bearer(key))
    assert_problem(response, 429, "RATE_LIMIT_READ")
    assert int(response.headers["Retry-After"]) > 0
    assert client.post("/api/jobs", headers=bearer(key), **NO_VIDEO).status_code == 400  # submissions still open


def test_without_keys_the_limit_counts_per_address(make_app, migrated_pg, redis_url, app):
    limited = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, RATE_LIMIT_SUBMIT="1 per minute")
    limiter.reset()
    client = limited.test_client()
    assert client.post("/api/jobs", **NO_VIDEO).status_code == 400
    assert_problem(client.post("/api/extract", **NO_VIDEO), 429)
    other = client.post("/api/jobs", environ_base={"REMOTE_ADDR": "10.1.2.3"}, **NO_VIDEO)
    assert other.status_code == 400
