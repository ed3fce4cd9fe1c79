"""Flask extensions created once (database, migrations, rate limiter), `init_extensions(app)`
that attaches them to an app, and accessors of the per-app services.

Per-app services (storage, job store, executor) are put in `app.extensions` by app.create_app,
so several apps (tests: PostgreSQL mode and embedded mode) can coexist in one process. Use the
accessors below instead of reaching in directly.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request
from flask_migrate import Migrate
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

from infra.settings import ROOT


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# Per client address (the TCP peer's, or behind TRUSTED_PROXY_COUNT proxies the client's from
# X-Forwarded-For: app.trust_proxies); Redis holds the counters when configured so every web
# process shares them.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, swallow_errors=True,
                  in_memory_fallback_enabled=True)


@limiter.request_filter
def _unlimited_read() -> bool:
    """With RATE_LIMIT_READ off, reads skip the limiter's per-request work (the poll endpoint is
    the hottest path of the service)."""
    return request.method != "POST" and current_app.config.get("RATE_LIMIT_READ") is None


def init_extensions(app: Flask) -> None:
    """Attach the database, migrations and the rate limiter to `app`."""
    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    if app.config["RATELIMIT_STORAGE_URI"] != "memory://":
        # redis-py waits 5 s by default; a Redis that accepts connections but answers nothing
        # would hold each limited request that long before the limiter falls back to counting
        # in this process (the same bounds as the job cache's client in job_storage.py).
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 1.0})
    app.after_request(_retry_after_only_when_refused)  # registered first: runs after the limiter's
    limiter.init_app(app)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, _record):
    """SQLite ignores ON DELETE CASCADE unless asked; PostgreSQL always honours it."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _ensure_sqlite_folder(uri: str) -> None:
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def _retry_after_only_when_refused(response):
    """flask-limiter sends Retry-After with every limited answer; on an accepted job or a
    refused file it would tell a well-behaved client to wait for nothing (a 503 keeps its own)."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def submit_rate_limit() -> str:
    """The limit on job submissions per client address (RATE_LIMIT_SUBMIT), read per request."""
    return current_app.config["RATE_LIMIT_SUBMIT"]


def submit_rate_limit_off() -> bool:
    return current_app.config["RATE_LIMIT_SUBMIT"] is None


def read_rate_limit() -> str:
    """The limit on reads (GET) per client (RATE_LIMIT_READ), read per request."""
    return current_app.config["RATE_LIMIT_READ"]


def read_rate_limit_off() -> bool:
    return current_app.config["RATE_LIMIT_READ"] is None


def job_store():
    """The app's JobStorageService (job_storage.py)."""
    return current_app.extensions["slidecast.jobs"]


def storage():
    """The app's artifact/upload Storage (infra/storage)."""
    return current_app.extensions["slidecast.storage"]


def executor():
    """The app's JobExecutor (jobs/executor.py): Celery when reachable, else the thread pool."""
    return current_app.extensions["slidecast.executor"]
