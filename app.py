"""The Slidecast web service: `create_app(config)`, and `app` for `gunicorn app:app`.

Nothing imports this module; workers build their app with extensions.create_worker_app().
"""

from __future__ import annotations

import sys

from flask import Flask

from settings import ROOT, ConfigError, load_settings


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment; `config` entries override it (tests, tools).

    Raises ConfigError (one line naming the variable) when a setting is invalid.
    """
    from api import register_api
    from celery_config import recover_thread_jobs
    from extensions import init_extensions
    from logging_config import configure_logging
    from metrics import init_metrics

    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.config.update(load_settings(overrides=config))
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    init_extensions(app)
    init_metrics(app)
    register_api(app)
    trust_proxies(app)
    if app.config["RECOVER_JOBS_ON_START"]:
        recover_thread_jobs(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_COUNT reverse proxies the client's address (the rate-limit key) is
    the one that many entries from the right of X-Forwarded-For; entries further left are the
    client's own words. With 0 the header is ignored and the address is the TCP peer's."""
    count = app.config["TRUSTED_PROXY_COUNT"]
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)


def _app_or_exit() -> Flask:
    """Start-up paths (gunicorn, flask CLI) show a bad setting as its one line, then exit 2.

    Under gunicorn the worker exits 3 instead: gunicorn's "worker failed to boot" code, which
    stops the master too (any other code leaves a master running with no workers)."""
    try:
        return create_app()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(3 if "gunicorn" in sys.modules else 2) from None


app = _app_or_exit()
