"""Structured logs: one JSON object per line on stderr, with the job id on every line about a job.

    {"ts": "2026-11-22T19:40:01.123Z", "level": "INFO", "logger": "slidecast.tasks",
     "message": "job 3f.. succeeded: 5 slides in 9.1 s", "job_id": "3f..", "pid": 4242}

`configure_logging(level, fmt)` installs the handler on the root logger (idempotent). Code that
works on a job wraps it in `job_context(job_id)`; every line logged inside it, by any logger,
carries that `job_id`. Lines logged elsewhere that name a job ("job <uuid> ...") get it too.
Extra fields passed with `log.info(..., extra={...})` appear as keys of the object.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

_JOB_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("slidecast_job_id", default=None)
_JOB_IN_TEXT = re.compile(r"\bjob (?:id )?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
# Attributes every LogRecord has; anything else on a record came from `extra=` and is emitted.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "job_id"}
_HANDLER_NAME = "slidecast-stderr"
# Libraries that are chatty at INFO about every connection (fontTools: every PDF font subset;
# alembic: seven "setup plugin" lines each time a process imports it, a gunicorn worker too).
_CHATTY = ("botocore", "boto3", "s3transfer", "urllib3", "alembic.runtime.plugins", "fontTools")


@contextmanager
def job_context(job_id: str):
    """Every log line emitted inside this block (in this thread or task) carries `job_id`."""
    token = _JOB_ID.set(job_id)
    try:
        yield
    finally:
        _JOB_ID.reset(token)


class JobIdFilter(logging.Filter):
    """Sets record.job_id: an explicit extra, else the job_context, else a job id in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = _JOB_ID.get() or _job_in_message(record)
        return True


def _job_in_message(record: logging.LogRecord) -> str | None:
    try:
        match = _JOB_IN_TEXT.search(record.getMessage())
    except Exception:  # a broken format string must not stop the log line
        return None
    return match.group(1) if match else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC, ms), level, logger, message, job_id, pid, extras,
    and `exception` (the formatted traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
                  .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "job_id", None):
            entry["job_id"] = record.job_id
        entry["pid"] = record.process
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """LOG_FORMAT=text, for people reading a terminal: time level logger [job] message."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(job)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.job = f" [job {record.job_id}]" if getattr(record, "job_id", None) else ""
        return super().format(record)


def make_handler(fmt: str = "JSON") -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(JobIdFilter())
    handler.setFormatter(JsonFormatter() if fmt.upper() == "JSON" else TextFormatter())
    return handler


def configure_logging(level: str = "INFO", fmt: str = "JSON") -> None:
    """Route all logging to stderr in `fmt` (JSON or TEXT) at `level`. Calling it again replaces
    the handler it installed earlier (several apps in one process, tests) instead of adding one."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME or isinstance(handler, logging.StreamHandler) \
                and getattr(handler, "stream", None) in (sys.stderr, sys.__stderr__):
            root.removeHandler(handler)
    root.addHandler(make_handler(fmt))
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # python-multipart warns about every malformed body it is sent; the client gets a 400 that
    # names the fault, and a log line per hostile request would let anyone flood the log.
    logging.getLogger("python_multipart").setLevel(max(logging.ERROR, root.level))


def gunicorn_logconfig(level: str | None = None, fmt: str | None = None) -> dict:
    """A logging.config dict for gunicorn.conf.py: gunicorn's own lines in the same format."""
    level = (level or os.environ.get("LOG_LEVEL") or "INFO").upper()
    fmt = (fmt or os.environ.get("LOG_FORMAT") or "JSON").upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"job_id": {"()": JobIdFilter}},
        "formatters": {"main": {"()": JsonFormatter if fmt == "JSON" else TextFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "main", "filters": ["job_id"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": level, "handlers": [], "propagate": True},
                    # Requests are counted and timed in /metrics; an access line per request
                    # would double the log volume. LOG_LEVEL=DEBUG does not bring them back.
                    "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
                    # A worker imports the app (and alembic) under this configuration, before
                    # create_app's configure_logging quiets them.
                    **{name: {"level": "WARNING"} for name in _CHATTY}},
    }


def connect_celery_logging() -> None:
    """Make Celery workers and beat log through configure_logging instead of their own setup
    (Celery skips its logging setup when a receiver is connected to `setup_logging`)."""
    from celery.signals import setup_logging

    @setup_logging.connect(weak=False)
    def _setup(loglevel=None, **_kwargs):
        level = os.environ.get("LOG_LEVEL") or (logging.getLevelName(loglevel) if isinstance(loglevel, int)
                                                else loglevel) or "INFO"
        configure_logging(level, os.environ.get("LOG_FORMAT") or "JSON")
        logging.getLogger("celery.worker.control").addFilter(_revoke_without_backend)


def _revoke_without_backend(record: logging.LogRecord) -> bool:
    """False for Celery's warning that a revoked task could not be marked in the result backend
    when there is none (celery 5.6+ tries for every id it is sent): the job store is the truth
    and no backend is configured on purpose, yet each cancel logged a WARNING per step id and
    worker, 16 per cancel in the operator trial."""
    args = record.args if isinstance(record.args, tuple) else ()
    return not (record.msg.startswith("Failed to mark task %s as revoked in backend")
                and len(args) == 2 and isinstance(args[1], NotImplementedError))
