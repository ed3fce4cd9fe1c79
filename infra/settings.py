"""Every setting of the service, read from the environment and validated in one place.

`load_settings(environ, overrides)` returns a plain dict of Flask config keys. A bad value raises
`ConfigError` whose message is the one line to show (it names the variable); the start-up paths
print it and exit with status 2 instead of a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]  # the code folder (instance/, data/, migrations/)


class ConfigError(Exception):
    """A setting has a value the service cannot start with. str(error) is the line to show."""

    def __init__(self, name: str, problem: str, value: object):
        super().__init__(f"SLIDECAST config error: {name} {problem}, got {value!r}")
        self.name = name


# How each kind of number is described in an error, without and with zero allowed.
_WANTED = {int: ("a positive integer", "a whole number"), float: ("a positive number", "a number >= 0")}


def _positive(env, name, default, kind=int, maximum=None, allow_zero=False):
    """A number of `kind` (int or float) above zero (or zero too), finite, at most `maximum`."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    wanted = _WANTED[kind][allow_zero]
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(name, f"must be {wanted}", raw) from None
    too_big = value == float("inf") or (maximum is not None and value > maximum)
    if not (value >= 0 if allow_zero else value > 0) or too_big:
        limit = f" no larger than {maximum}" if maximum is not None else ""
        raise ConfigError(name, f"must be {wanted}{limit}", raw)
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(env, name, default):
    raw = env.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ConfigError(name, "must be true or false", raw)


def _choice(env, name, choices, default):
    raw = env.get(name) or default
    if raw.upper() not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}", raw)
    return raw.upper()


def _url(env, name, schemes, default=None):
    raw = env.get(name) or default
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        raise ConfigError(name, f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}", raw)
    return raw


def _rate_limit(env, name, default):
    """A flask-limiter limit such as "30 per minute" or "100/hour"; "off" (or 0) disables it."""
    raw = (env.get(name) or default).strip()
    if raw.lower() in ("off", "0", "none"):
        return None
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(name, 'must be a rate such as "30 per minute" or "off"', raw) from None
    return raw


def _pixels(env, name, default):
    """A frame size limit given as WIDTHxHEIGHT ("3840x2160") or a number of pixels."""
    raw = (env.get(name) or default).strip().lower()
    width, _, height = raw.partition("x")
    try:
        value = int(width) * int(height) if height else int(raw)
    except ValueError:
        raise ConfigError(name, 'must be WIDTHxHEIGHT such as "3840x2160" or a number of pixels', raw) from None
    if value < 1:
        raise ConfigError(name, "must be positive", raw)
    return value


def security_settings(env) -> dict:
    """API keys, operations token, resource and request limits (docs/security.md)."""
    return {
        # API keys (`flask keys create NAME`) on every /api route but /api/health and the docs.
        "AUTH_REQUIRED": _flag(env, "AUTH_REQUIRED", False),
        # Bearer token that opens the operations endpoints (/metrics, ...) beside an admin key.
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "MAX_VIDEO_PIXELS": _pixels(env, "MAX_VIDEO_PIXELS", "3840x2160"),
        # Off by default: a counter costs every poll a Redis round trip (docs/benchmarks.md);
        # render.yaml and compose turn it on.
        "RATE_LIMIT_READ": _rate_limit(env, "RATE_LIMIT_READ", "off"),
    }


def database_url(env) -> str:
    """DATABASE_URL with Heroku/Render-style `postgres://` accepted (rewritten to
    `postgresql+psycopg2://`); default: SQLite under instance/."""
    raw = env.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'slidecast.db'}"
    for plain in ("postgres://", "postgresql://"):
        if raw.startswith(plain):
            # SQLAlchemy 2.1 would pick psycopg 3 for a bare scheme; the project ships psycopg2.
            raw = "postgresql+psycopg2://" + raw[len(plain):]
    scheme = urlparse(raw).scheme.split("+")[0]
    if scheme not in ("postgresql", "sqlite"):
        raise ConfigError("DATABASE_URL", "must be a postgresql:// or sqlite:/// URL", raw)
    return raw


def storage_url(env) -> str:
    """STORAGE_URL: a folder path or file:// URL (default data/ beside the code), or
    s3://bucket/prefix (S3-compatible storage, see storage_s3.py)."""
    raw = env.get("STORAGE_URL") or str(ROOT / "data")
    parsed = urlparse(raw)
    if parsed.scheme in ("", "file") or (parsed.scheme == "s3" and parsed.netloc):
        return raw
    raise ConfigError("STORAGE_URL", "must be a folder path, file:// URL or s3://bucket/prefix", raw)


def s3_settings(env) -> dict:
    """S3 endpoint (empty: AWS itself), region and keys (empty: boto3's own credential chain)."""
    return {
        "S3_ENDPOINT_URL": _url(env, "S3_ENDPOINT_URL", ("http", "https")),
        "AWS_REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID") or None,
        "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY") or None,
    }


_REDIS = ("redis", "rediss", "unix")
_BROKERS = ("redis", "rediss", "amqp", "amqps", "pyamqp")


def load_settings(environ=None, overrides: dict | None = None) -> dict:
    """Read and validate all settings; `overrides` (tests, tools) win over the environment."""
    env = dict(os.environ if environ is None else environ)
    redis_url = _url(env, "REDIS_URL", _REDIS)
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url(env),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": _url(env, "CELERY_BROKER_URL", _BROKERS, default=redis_url),
        "REQUIRE_BROKER": _flag(env, "REQUIRE_BROKER", False),
        "STORAGE_URL": storage_url(env),
        "THREAD_POOL_SIZE": _positive(env, "THREAD_POOL_SIZE", 2, maximum=64),
        "MAX_UPLOAD_MB": _positive(env, "MAX_UPLOAD_MB", 500),
        # An upload up to this size is held in memory until its hash is known (api/uploads.py).
        "UPLOAD_MEMORY_MB": _positive(env, "UPLOAD_MEMORY_MB", 64, maximum=4096, allow_zero=True),
        "MAX_VIDEO_SECONDS": _positive(env, "MAX_VIDEO_SECONDS", 4 * 3600),
        # The talk's deck sent with a video (field `deck`): every page is rendered and matched.
        "MAX_DECK_MB": _positive(env, "MAX_DECK_MB", 50),
        "MAX_DECK_PAGES": _positive(env, "MAX_DECK_PAGES", 500, maximum=2000),
        "JOB_CACHE_TTL": _positive(env, "JOB_CACHE_TTL", 3600),
        "JOB_MAX_ATTEMPTS": _positive(env, "JOB_MAX_ATTEMPTS", 2, maximum=20),
        "PROGRESS_DB_INTERVAL": _positive(env, "PROGRESS_DB_INTERVAL", 2.0, float),
        # How long a web process may answer a poll from its own copy of a job read from Redis.
        "JOB_NEAR_CACHE_SECONDS": _positive(env, "JOB_NEAR_CACHE_SECONDS", 0.5, float, allow_zero=True),
        "RATE_LIMIT_SUBMIT": _rate_limit(env, "RATE_LIMIT_SUBMIT", "30 per minute"),
        # Reverse proxies in front of the web process whose X-Forwarded-For entries are believed
        # (0: none, the header is ignored; a client could otherwise choose its rate-limit key).
        "TRUSTED_PROXY_COUNT": _positive(env, "TRUSTED_PROXY_COUNT", 0, maximum=5, allow_zero=True),
        "DOWNLOAD_TIMEOUT": _positive(env, "DOWNLOAD_TIMEOUT", 60),
        # video_url may name localhost or the private ranges (an intranet); off: only public hosts.
        "ALLOW_PRIVATE_VIDEO_URLS": _flag(env, "ALLOW_PRIVATE_VIDEO_URLS", False),
        "RECOVER_JOBS_ON_START": _flag(env, "RECOVER_JOBS_ON_START", _owns_a_pool()),
        **user_settings(env),
        **distributed_settings(env),
        **security_settings(env),
        "LOG_LEVEL": _choice(env, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", ("JSON", "TEXT"), "JSON"),
        "METRICS_ENABLED": _flag(env, "METRICS_ENABLED", True),
        **s3_settings(env),
    }
    settings["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_MB"] * 1024 * 1024
    if overrides:
        settings.update(overrides)
    return settings


def settings_or_exit(overrides: dict | None = None) -> dict:
    """load_settings for a start-up path (gunicorn, flask CLI, celery): a bad setting prints its
    one line and ends the process with status 2, no traceback."""
    try:
        return load_settings(overrides=overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def distributed_settings(env) -> dict:
    """Celery worker limits, heartbeat, retention and chunking (docs/distributed.md)."""
    return {
        # The longest one task of a job may run (soft limit 30 s earlier); also sizes the
        # broker's visibility timeout.
        "JOB_TIME_LIMIT": _positive(env, "JOB_TIME_LIMIT", 3 * 3600),
        "HEARTBEAT_SECONDS": _positive(env, "HEARTBEAT_SECONDS", 15),
        "HEARTBEAT_STALE_SECONDS": _positive(env, "HEARTBEAT_STALE_SECONDS", 180),
        # How often each worker looks for jobs whose worker died (jobs/recovery.start_sweeper).
        "RECOVERY_SWEEP_SECONDS": _positive(env, "RECOVERY_SWEEP_SECONDS", 60.0, float),
        "JOB_RETENTION_DAYS": _positive(env, "JOB_RETENTION_DAYS", 30),
        "CHUNK_SECONDS": _positive(env, "CHUNK_SECONDS", 600),
        "WORKER_MAX_TASKS_PER_CHILD": _positive(env, "WORKER_MAX_TASKS_PER_CHILD", 50),
        "WORKER_MAX_MEMORY_MB": _positive(env, "WORKER_MAX_MEMORY_MB", 1500),
        "TASK_MAX_RETRIES": _positive(env, "TASK_MAX_RETRIES", 5, maximum=50),
        # How long a step keeps trying to send the next step while the broker does not answer
        # (a Redis restart or failover); beyond it the stale-job sweep brings the job back.
        "STEP_SEND_RETRY_SECONDS": _positive(env, "STEP_SEND_RETRY_SECONDS", 600),
        # How long a step waits for its database to answer again (a restart, a failover) and then
        # runs again, counted from the first fault; beyond it the job fails. Not TASK_MAX_RETRIES.
        "DB_FAULT_RETRY_SECONDS": _positive(env, "DB_FAULT_RETRY_SECONDS", 300),
        # Celery's --autoscale=max,min for `deploy_scalable.sh worker`; None: a fixed
        # WORKER_CONCURRENCY.
        "WORKER_AUTOSCALE": _autoscale(env, "WORKER_AUTOSCALE"),
        # On SIGTERM (a deploy, a scale-down) a worker lets running steps finish for this long,
        # then hands the rest back to the broker at once; below Render's maxShutdownDelaySeconds.
        "WORKER_SOFT_SHUTDOWN_SECONDS": _positive(env, "WORKER_SOFT_SHUTDOWN_SECONDS", 20.0, float, allow_zero=True),
    }


def user_settings(env) -> dict:
    """Live progress streams (GET /api/jobs/ID/events) and batches (docs/service.md)."""
    return {
        # Videos one POST /api/jobs/batch may hold; each is one submission (rate limit included).
        "BATCH_MAX": _positive(env, "BATCH_MAX", 20, maximum=200),
        # A comment line this often keeps proxies from closing a quiet stream.
        "SSE_HEARTBEAT_SECONDS": _positive(env, "SSE_HEARTBEAT_SECONDS", 15.0, float),
        # Open streams per web process; each holds one gunicorn thread, so the default leaves
        # at least one of WEB_THREADS for every other request. Beyond it: 503 + Retry-After.
        "SSE_MAX_STREAMS": _positive(env, "SSE_MAX_STREAMS",
                                         max(1, _positive(env, "WEB_THREADS", 4) - 1)),
    }


def _autoscale(env, name) -> tuple[int, int] | None:
    """"max,min" worker processes (Celery's --autoscale), max >= min >= 0 and max >= 1."""
    raw = env.get(name)
    if not raw:
        return None
    try:
        most, least = (int(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(name, 'must be "max,min" process counts such as "4,1"', raw) from None
    if not 0 <= least <= most or most < 1 or most > 64:
        raise ConfigError(name, "must be max,min with 1 <= max <= 64 and 0 <= min <= max", raw)
    return most, least


def _owns_a_pool() -> bool:
    """False in one-shot `flask` commands (`flask db upgrade`): they must not take over jobs."""
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true":  # set by the flask CLI before it loads the app
        return "run" in sys.argv[1:]
    return True
