"""The OpenAPI document is true to the server: schemathesis generates requests for every
operation from /api/openapi.json and every answer must be no 5xx and conform to the document
(status, media type, headers, body).

Runs against the embedded mode (SQLite, where huge numbers used to overflow) with AUTH_REQUIRED
and an admin key, so every route, operations included, is reached. video_url is pinned to a
refused address so that no case downloads anything. Bounded to a few examples per operation to
stay well under a minute; the issue's 3,000-case run is `schemathesis run` by hand.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from support.security import make_key
from support.services import migrate

EXAMPLES = 40
REFUSED_URL = "http://127.0.0.1:9/lecture.mp4"  # loopback: refused before any connection
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def secured_embedded_app(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'slidecast.db'}", REDIS_URL=None,
                   AUTH_REQUIRED=True, METRICS_TOKEN="ops-token")
    migrate(app)
    return app


@pytest.fixture
def admin_key(secured_embedded_app):
    return make_key(secured_embedded_app, "schemathesis", admin=True)


def _pin_video_url(body) -> None:
    if isinstance(body, dict) and "video_url" in body:
        body["video_url"] = REFUSED_URL
    if isinstance(body, dict) and isinstance(body.get("video_urls"), list):
        body["video_urls"] = [REFUSED_URL for _ in body["video_urls"]]


def _failures_of(operation, key: str) -> list[str]:
    """Run generated cases of one operation; the first failing case's message, if any."""
    failures = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def run(case):
        _pin_video_url(case.body)
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises failure groups
        failures.append(f"{operation.label}: {exc}")
    return failures


def test_every_answer_conforms_to_the_document(secured_embedded_app, admin_key):
    # schemathesis' pytest plugin (schema.parametrize) does not run on this pytest; its
    # strategies do, one operation at a time.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", secured_embedded_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures = [f for operation in operations for f in _failures_of(operation, admin_key)]
    assert not failures, "\n\n".join(failures)
