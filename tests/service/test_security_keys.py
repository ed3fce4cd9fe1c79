"""API keys (AUTH_REQUIRED): made and revoked with `flask keys`, stored hashed; each job belongs
to its key and no other key can see or touch it; operations endpoints need an admin key or
METRICS_TOKEN; /api/health stays public without details."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from infra.extensions import db
from models import ApiKey
from support.api_checks import assert_problem, upload
from support.security import bearer, make_key

OPERATIONS = ("/metrics", "/api/queues", "/api/cache/stats", "/api/stats")


@pytest.fixture
def secured_app(make_app, migrated_pg, redis_url, app):
    """PostgreSQL + Redis (cleaned by `app`), AUTH_REQUIRED on, METRICS_TOKEN set."""
    return make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, AUTH_REQUIRED=True,
                    METRICS_TOKEN="scrape-token")


@pytest.fixture
def secured(secured_app):
    return secured_app.test_client()


@pytest.fixture
def keys(secured_app):
    return {"alice": make_key(secured_app, "alice"), "bob": make_key(secured_app, "bob"),
            "root": make_key(secured_app, "root", admin=True)}


def test_a_new_key_is_printed_once_and_stored_only_as_a_hash(secured_app, keys):
    with secured_app.app_context():
        rows = db.session.scalars(sa.select(ApiKey)).all()
        stored = [str(value) for row in rows for value in vars(row).values()]
    assert {row.name for row in rows} == {"alice", "bob", "root"}
    assert not any(key in value for key in keys.values() for value in stored)
    listing = secured_app.test_cli_runner().invoke(args=["keys", "list"]).output
    assert "alice" in listing and "admin" in listing and keys["alice"] not in listing


def test_a_second_key_with_the_same_name_is_refused(secured_app, keys):
    result = secured_app.test_cli_runner().invoke(args=["keys", "create", "alice"])
    assert result.exit_code != 0 and "exists already" in result.output


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk_wrong"}, {"X-API-Key": "sk_wrong"},
                                     {"Authorization": "Basic YWxpY2U6cHc="}])
def test_no_key_or_a_wrong_one_is_401_with_www_authenticate(secured, keys, headers):
    response = secured.get("/api/jobs", headers=headers)
    assert_problem(response, 401, "key")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_is_accepted_as_bearer_or_x_api_key(secured, keys):
    assert secured.get("/api/jobs", headers=bearer(keys["alice"])).status_code == 200
    assert secured.get("/api/jobs", headers={"X-API-Key": keys["alice"]}).status_code == 200


def test_a_revoked_key_stops_working(secured_app, secured, keys):
    result = secured_app.test_cli_runner().invoke(args=["keys", "revoke", "bob"])
    assert result.exit_code == 0, result.output
    secured_app.extensions["slidecast.keys"].__init__()  # other processes: within IDENTITY_CACHE_SECONDS
    assert_problem(secured.get("/api/jobs", headers=bearer(keys["bob"])), 401, "revoked")
    assert "revoked" in secured_app.test_cli_runner().invoke(args=["keys", "list"]).output


def _submit(client, key, clip_bytes):
    response = upload(client, clip_bytes, ocr="false", headers=bearer(key))
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_two_keys_never_see_or_touch_each_others_jobs(secured, keys, service_clip, wait_job):
    clip = service_clip.read_bytes()
    alices, bobs = _submit(secured, keys["alice"], clip), _submit(secured, keys["bob"], clip)
    alice, bob = bearer(keys["alice"]), bearer(keys["bob"])
    done = wait_job(_Authorized(secured, alice), alices)
    assert done["status"] == "succeeded" and "api_key_id" not in done
    listing = secured.get("/api/jobs", headers=bob).get_json()
    assert [job["id"] for job in listing["items"]] == [bobs] and listing["total"] == 1
    for path in (f"/api/jobs/{alices}", f"/api/jobs/{alices}/slides", f"/api/jobs/{alices}/pdf",
                 f"/api/jobs/{alices}/slides/1/image", f"/api/jobs/{alices}/metrics"):
        assert_problem(secured.get(path, headers=bob), 404, "no job")
    assert_problem(secured.post(f"/api/jobs/{alices}/cancel", headers=bob), 404)
    assert_problem(secured.delete(f"/api/jobs/{alices}", headers=bob), 404)
    assert secured.get(f"/api/jobs/{alices}/pdf", headers=alice).status_code == 200
    everything = secured.get("/api/jobs", headers=bearer(keys["root"])).get_json()
    assert {job["id"] for job in everything["items"]} == {alices, bobs}
    wait_job(_Authorized(secured, bob), bobs)
    assert secured.delete(f"/api/jobs/{bobs}", headers=bob).status_code == 204
    assert secured.get(f"/api/jobs/{alices}", headers=alice).get_json()["status"] == "succeeded"


def test_only_an_admin_key_puts_a_job_ahead_of_the_default_priority(secured, keys, service_clip):
    clip = service_clip.read_bytes()
    refused = upload(secured, clip, ocr="false", priority="9", headers=bearer(keys["alice"]))
    assert_problem(refused, 403, "admin key")
    assert secured.get("/api/jobs", headers=bearer(keys["alice"])).get_json()["total"] == 0  # nothing created
    lower = upload(secured, clip, ocr="false", priority="2", headers=bearer(keys["alice"]))
    assert lower.status_code == 202 and lower.get_json()["priority"] == 2
    ahead = upload(secured, clip, ocr="false", priority="9", headers=bearer(keys["root"]))
    assert ahead.status_code == 202 and ahead.get_json()["priority"] == 9


class _Authorized:
    """A test client that sends one key with every GET (for wait_job)."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def get(self, path):
        return self.client.get(path, headers=self.headers)


@pytest.mark.parametrize("path", OPERATIONS)
def test_operations_endpoints_need_an_admin_key_or_the_metrics_token(secured, keys, path):
    assert_problem(secured.get(path), 401)
    assert_problem(secured.get(path, headers=bearer(keys["alice"])), 403, "admin")
    assert secured.get(path, headers=bearer(keys["root"])).status_code == 200
    assert secured.get(path, headers=bearer("scrape-token")).status_code == 200


def test_health_is_public_and_says_only_up_degraded_or_down(secured, keys):
    public = secured.get("/api/health").get_json()
    assert public["status"] == "ok"
    assert public["components"]["database"] == {"status": "up"}
    assert {c["status"] for c in public["components"].values()} <= {"up", "degraded", "down"}
    assert "/" not in str(public) and "redis" not in str(public)
    detailed = secured.get("/api/health", headers=bearer(keys["root"])).get_json()
    assert detailed["components"]["database"]["backend"] == "postgresql"


def test_without_auth_required_no_key_is_asked_and_every_job_is_listed(client, app, add_job):
    add_job(app)
    assert client.get("/api/jobs").get_json()["total"] == 1
    assert client.get("/api/stats").status_code == 200

