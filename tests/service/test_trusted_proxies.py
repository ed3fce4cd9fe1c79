"""The submit rate limit keys on the client's address: behind TRUSTED_PROXY_COUNT reverse proxies
the one they wrote into X-Forwarded-For, otherwise the TCP peer's (the header is ignored, since
without a proxy a client could write any address there and pick a fresh limit each time)."""

from __future__ import annotations

import pytest
import redis

from support.services import clean_postgres
from infra.settings import ConfigError, load_settings
from support.api_checks import assert_problem

PROXY = "10.0.0.7"  # the TCP peer of every request: the reverse proxy


@pytest.fixture
def limited(make_app, migrated_pg, redis_url):
    """make(TRUSTED_PROXY_COUNT) -> a submit(forwarded_for) -> status code, 2 submissions a
    minute per client, counters in the real Redis."""
    redis.Redis.from_url(redis_url).flushdb()

    def make(count: int):
        app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, RATE_LIMIT_SUBMIT="2 per minute",
                       TRUSTED_PROXY_COUNT=count)
        clean_postgres(app)
        client = app.test_client()

        def submit(forwarded_for: str) -> int:
            # no video: refused with 400, but counted like any submission
            response = client.post("/api/jobs", data={}, content_type="multipart/form-data",
                                   environ_base={"REMOTE_ADDR": PROXY}, headers={"X-Forwarded-For": forwarded_for})
            if response.status_code == 429:
                assert_problem(response, 429, "Retry-After")
            return response.status_code
        return submit
    return make


def test_behind_one_trusted_proxy_each_client_has_its_own_limit(limited):
    submit = limited(1)
    assert [submit("198.51.100.1") for _ in range(3)] == [400, 400, 429]
    assert [submit("198.51.100.2") for _ in range(3)] == [400, 400, 429]  # another client: its own count
    # A client writing its own X-Forwarded-For: the proxy appends the real address, which counts.
    assert submit("203.0.113.99, 198.51.100.1") == 429
    assert submit("203.0.113.98, 198.51.100.2") == 429


def test_behind_two_proxies_the_client_is_the_second_entry_from_the_right(limited):
    submit = limited(2)  # e.g. a CDN edge, then the platform's proxy (which appends the edge's address)
    assert [submit(f"198.51.100.1, 104.16.0.{i}") for i in range(3)] == [400, 400, 429]
    assert submit("203.0.113.99, 198.51.100.1, 104.16.0.9") == 429  # forged entry on the left: ignored
    assert submit("198.51.100.2, 104.16.0.1") == 400


def test_without_the_setting_x_forwarded_for_is_ignored(limited):
    submit = limited(0)
    assert [submit("198.51.100.1"), submit("198.51.100.2")] == [400, 400]
    assert submit("198.51.100.3") == 429  # every "client" is the proxy's address


def test_the_setting_is_validated():
    assert load_settings({})["TRUSTED_PROXY_COUNT"] == 0
    assert load_settings({"TRUSTED_PROXY_COUNT": "2"})["TRUSTED_PROXY_COUNT"] == 2
    for bad, wanted in (("-1", "a whole number no larger than 5"), ("6", "a whole number no larger than 5"),
                        ("one", "a whole number")):
        with pytest.raises(ConfigError) as error:
            load_settings({"TRUSTED_PROXY_COUNT": bad})
        assert str(error.value) == f"SLIDECAST config error: TRUSTED_PROXY_COUNT must be {wanted}, got {bad!r}"
