"""Shared by every test. Tests are grouped by layer:

- library/      the slidecast library (and source checks): no service needed;
- service/      the web service against real PostgreSQL and Redis, jobs on the thread pool;
- distributed/  real Celery workers and brokers (Redis, RabbitMQ).

Tests of service/ and distributed/ are marked `services` (distributed/ also `distributed`), so
`pytest -m "not services"` runs the library tests alone. Fixtures come from tests/support/
through pytest_plugins; helpers are imported from there (`from support.services import ...`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["support.services", "support.engine_clips", "support.celery_workers"]

_MARKS = {"service": ("services",), "distributed": ("services", "distributed")}


def pytest_collection_modifyitems(items):
    for item in items:
        for mark in _MARKS.get(Path(str(item.fspath)).parent.name, ()):
            item.add_marker(getattr(pytest.mark, mark))
