"""JobStorageService against real PostgreSQL and Redis: guarded transitions and the cache."""

import json

import pytest
import redis

from infra.extensions import job_store
from models import Job


@pytest.fixture
def store(app):
    with app.app_context():
        yield job_store()


def cached(app, job_id):
    return redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True).hgetall(f"slidecast:job-record:{job_id}")


def test_a_finished_job_never_reopens(app, store, add_job):
    job_id = add_job(app)
    assert store.start(job_id, owner=None)
    assert store.succeed(job_id, [])
    # Late or redelivered writers: all refused, nothing changes.
    assert not store.start(job_id, owner=None)
    assert not store.fail(job_id, "late failure")
    assert not store.cancel(job_id)
    assert not store.report_progress(job_id, "ocr", 10.0, "late progress")
    for doc in (store.load(job_id), store.get(job_id)):
        assert doc["status"] == "succeeded"
        assert doc["progress"] == 100.0
        assert doc["error"] is None


def test_a_job_starts_once(app, store, add_job):
    job_id = add_job(app)
    assert store.start(job_id, owner=None)
    assert not store.start(job_id, owner=None)  # a second delivery of the same task
    assert store.load(job_id)["attempts"] == 1


def test_progress_never_goes_backwards(app, store, add_job):
    job_id = add_job(app)
    store.start(job_id, owner=None)
    assert store.report_progress(job_id, "decoding", 60.0)
    # A stage change is always written to the database, even with a lower number.
    assert store.report_progress(job_id, "detecting", 20.0)
    assert store.load(job_id)["progress"] == 60.0
    assert store.load(job_id)["stage"] == "detecting"
    assert store.get(job_id)["progress"] == 60.0


@pytest.mark.parametrize("mode", ["postgres", "embedded"])
def test_a_requeued_job_starts_over_from_zero(request, add_job, mode):
    app = request.getfixturevalue("app" if mode == "postgres" else "embedded_app")
    job_id = add_job(app)
    with app.app_context():
        store = job_store()
        assert store.start(job_id, owner="worker-1")
        assert store.report_progress(job_id, "transcribing", 92.0, "transcribing")
        assert app.test_client().get(f"/api/jobs/{job_id}").get_json()["progress"] == 92.0
        assert store.requeue(job_id, "worker-1", "worker-2", "re-queued after the server restarted")
        for doc in (store.load(job_id), store.get(job_id), app.test_client().get(f"/api/jobs/{job_id}").get_json()):
            assert (doc["status"], doc["stage"], doc["progress"]) == ("queued", None, 0.0)
        assert store.start(job_id, owner="worker-2")
        assert store.report_progress(job_id, "decoding", 10.0, "decoding")
        assert app.test_client().get(f"/api/jobs/{job_id}").get_json()["progress"] == 10.0


def test_progress_reaches_redis_at_once_and_the_database_on_stage_changes(app, store, add_job):
    store.progress_interval = 3600  # only stage changes may reach the database in this test
    job_id = add_job(app)
    store.start(job_id, owner=None)
    store.report_progress(job_id, "decoding", 10.0, "decoding")
    store.report_progress(job_id, "decoding", 40.0, "decoding more")
    assert store.get(job_id)["progress"] == 40.0  # the cache has it at once
    assert float(cached(app, job_id)["progress"]) == 40.0
    assert store.load(job_id)["progress"] == 10.0  # the database lags within a stage
    store.report_progress(job_id, "ocr", 50.0, "reading text")
    assert store.load(job_id)["progress"] == 50.0
    assert store.load(job_id)["stage"] == "ocr"


def test_reads_fill_the_cache_and_refill_after_eviction(app, store, add_job):
    job_id = add_job(app)
    assert cached(app, job_id)["status"] == "queued"  # written on creation
    redis.Redis.from_url(app.config["REDIS_URL"]).delete(f"slidecast:job-record:{job_id}")  # evicted
    assert store.get(job_id)["status"] == "queued"  # miss: from PostgreSQL
    assert cached(app, job_id)["status"] == "queued"  # and refilled
    ttl = redis.Redis.from_url(app.config["REDIS_URL"]).ttl(f"slidecast:job-record:{job_id}")
    assert 0 < ttl <= app.config["JOB_CACHE_TTL"]


def test_a_cache_hit_is_served_without_the_database(app, store, add_job):
    job_id = add_job(app)
    client = redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True)
    doc = json.loads(client.hget(f"slidecast:job-record:{job_id}", "doc"))
    client.hset(f"slidecast:job-record:{job_id}", "doc", json.dumps(dict(doc, source_filename="from-cache")))
    assert store.get(job_id)["source_filename"] == "from-cache"
    assert store.load(job_id)["source_filename"] is None


def test_transitions_refresh_the_cache_and_are_published(app, store, add_job):
    listener = redis.Redis.from_url(app.config["REDIS_URL"]).pubsub(ignore_subscribe_messages=True)
    listener.subscribe("slidecast:jobs")
    job_id = add_job(app)
    store.start(job_id, owner=None)
    store.cancel(job_id)
    assert cached(app, job_id)["status"] == "cancelled"
    events = []
    for _ in range(50):  # None also stands for the skipped subscribe confirmation
        message = listener.get_message(timeout=0.2)
        # a channel is shared by every Redis database: other test runs publish on it too
        if message is not None and json.loads(message["data"])["id"] == job_id:
            events.append(json.loads(message["data"]))
        if len(events) == 3:
            break
    listener.close()
    assert [(e["event"], e["status"]) for e in events] == [
        ("created", "queued"), ("running", "running"), ("cancelled", "cancelled")]


def test_a_cancelled_job_tells_its_worker_to_stop(app, store, add_job):
    job_id = add_job(app)
    store.start(job_id, owner=None)
    assert store.report_progress(job_id, "decoding", 5.0)
    store.cancel(job_id)
    assert not store.report_progress(job_id, "decoding", 6.0)
    assert not store.succeed(job_id, [])
    assert store.load(job_id)["status"] == "cancelled"


def test_a_deleted_job_is_gone_from_cache_and_database(app, store, add_job):
    job_id = add_job(app)
    stale = store.load(job_id)  # what a concurrent task read just before the delete
    assert store.delete(job_id)
    store.cache.put(stale)  # ... and writes back after it: the tombstone refuses it
    assert store.get(job_id) is None
    assert "doc" not in cached(app, job_id)
    assert not store.report_progress(job_id, "decoding", 50.0)
    with app.app_context():
        from infra.extensions import db
        assert db.session.get(Job, job_id) is None


def test_the_embedded_cache_behaves_the_same(embedded_app, add_job):
    job_id = add_job(embedded_app)
    with embedded_app.app_context():
        store = job_store()
        store.start(job_id, owner=None)
        store.report_progress(job_id, "decoding", 70.0)
        store.report_progress(job_id, "ocr", 30.0)
        assert store.get(job_id)["progress"] == 70.0
        assert store.succeed(job_id, [])
        assert not store.start(job_id, owner=None)
        assert store.get(job_id)["status"] == "succeeded"


def test_embedded_polls_never_see_progress_go_backwards_when_the_cache_lapses(embedded_app, add_job):
    job_id = add_job(embedded_app)
    with embedded_app.app_context():
        store = job_store()
        store.start(job_id, owner=None)
        seen = 0.0
        for percent in (5.0, 12.5, 25.0, 41.9, 57.9, 80.0):
            store.report_progress(job_id, "detecting", percent)
            store.cache._docs.clear()  # the in-process entry expired between two polls
            polled = store.get(job_id)["progress"]
            assert polled >= seen
            seen = polled
        assert seen == 80.0


def test_the_near_cache_serves_repeated_reads_and_own_writes_drop_it(app, store, add_job):
    assert store.near.seconds == app.config["JOB_NEAR_CACHE_SECONDS"] > 0
    job_id = add_job(app)
    assert store.get(job_id)["status"] == "queued"  # read from Redis, kept near
    client = redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True)
    client.hset(f"slidecast:job-record:{job_id}", "message", "changed by another process")
    assert store.get(job_id)["message"] is None  # served from the near copy (bounded staleness)
    store.cancel(job_id)  # this process's own write
    assert store.get(job_id)["status"] == "cancelled"


def test_a_poll_is_rendered_once_per_near_copy_and_again_after_a_change(app, store, add_job):
    job_id = add_job(app)
    renders = []

    def render(doc):
        renders.append(doc["status"])
        return f'{{"status": "{doc["status"]}"}}'
    assert store.get_rendered(job_id, render)[1] == '{"status": "queued"}'
    assert store.get_rendered(job_id, render)[1] == '{"status": "queued"}'
    assert renders == ["queued"]  # the second poll reused the body kept with the near copy
    store.cancel(job_id)  # this process's own write drops the near copy, body included
    doc, body = store.get_rendered(job_id, render)
    assert doc["status"] == "cancelled" and body == '{"status": "cancelled"}'
    assert renders == ["queued", "cancelled"]
    assert store.get_rendered("00000000-0000-4000-8000-000000000000", render) == (None, None)
