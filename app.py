"""The Slidecast web service's composition root: `create_app(config)` wires settings, logging,
database, cache, storage, Celery, the executor and the HTTP API.

Started by `gunicorn 'app:create_app()'` and `flask --app app ...`; worker.py builds the Celery
workers' app with it too (without the HTTP API).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from api import register_api
from celery_config import celery_init_app
from infra.events import make_event_log
from infra.extensions import init_extensions
from infra.logging import configure_logging
from infra.metrics import init_metrics
from infra.settings import ROOT, load_settings, settings_or_exit
from infra.storage import open_storage
from job_storage import JobStorageService, make_cache
from jobs.executor import JobExecutor
from jobs.commands import jobs_cli
from jobs.recovery import recover_thread_jobs, start_expirer
from jobs.scratch import remove_stale_scratch


def create_app(config: dict | None = None, *, with_api: bool = True) -> Flask:
    """Build the app from the environment; `config` entries override it (tests, tools).

    Given `config`, a bad setting raises ConfigError (one line naming the variable); without it
    (gunicorn, the flask CLI) the process prints that line and exits 2. `with_api=False` builds
    the Celery workers' app: no blueprints, no request metrics, no recovery of thread-pool jobs.
    """
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.config.update(load_settings(overrides=config) if config is not None else settings_or_exit())
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    init_extensions(app)
    app.extensions["slidecast.storage"] = open_storage(app.config["STORAGE_URL"], app.config)
    app.extensions["slidecast.jobs"] = JobStorageService(
        make_cache(app.config["REDIS_URL"], app.config["JOB_CACHE_TTL"]),
        progress_interval=app.config["PROGRESS_DB_INTERVAL"], near_seconds=app.config["JOB_NEAR_CACHE_SECONDS"],
        events=make_event_log(app.config["REDIS_URL"], app.config["SSE_HEARTBEAT_SECONDS"],
                              app.config["SSE_MAX_STREAMS"]))
    celery_init_app(app)
    app.extensions["slidecast.executor"] = JobExecutor(app)
    if with_api:
        init_metrics(app)
        register_api(app)
        trust_proxies(app)
        if app.config["RECOVER_JOBS_ON_START"]:
            recover_thread_jobs(app)
            remove_stale_scratch(app.config["JOB_TIME_LIMIT"])
            if not app.config["CELERY_BROKER_URL"]:  # no beat: this process expires old jobs
                start_expirer(app)
    app.cli.add_command(jobs_cli)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_COUNT reverse proxies the client's address (the rate-limit key) is
    the one that many entries from the right of X-Forwarded-For; entries further left are the
    client's own words. With 0 the header is ignored and the address is the TCP peer's."""
    count = app.config["TRUSTED_PROXY_COUNT"]
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)
