"""The Celery entry point: `celery -A worker worker -Q QUEUES`, `celery -A worker beat`,
`celery -A worker flower`. Builds the Flask app without the HTTP API (app.create_app) and serves
its Celery app with every task of tasks.py. A bad setting stops the command with its one line."""

from __future__ import annotations

from celery.signals import worker_process_init, worker_ready

import tasks  # noqa: F401  (registers every task on the Celery app below)
from app import create_app
from infra.extensions import db
from infra.logging import connect_celery_logging
from infra.settings import settings_or_exit
from jobs.recovery import start_sweeper
from jobs.scratch import remove_stale_scratch

connect_celery_logging()  # workers and beat log JSON lines like the web (infra/logging.py)
flask_app = create_app(settings_or_exit({"RECOVER_JOBS_ON_START": False}), with_api=False)
celery = flask_app.extensions["celery"]


@worker_process_init.connect(weak=False)
def _fresh_connections(**_kwargs):
    """A prefork child must not use database connections its parent opened before the fork."""
    with flask_app.app_context():
        db.engine.dispose(close=False)


@worker_ready.connect(weak=False)
def _sweep_for_stale_jobs(**_kwargs):
    """Each worker looks for jobs whose worker died, at start and every RECOVERY_SWEEP_SECONDS:
    recovery needs no beat (a deploy or a crash may leave none, or two). Also the scratch
    folders steps of a stopped worker left on this machine."""
    remove_stale_scratch(flask_app.config["JOB_TIME_LIMIT"])
    start_sweeper(flask_app, flask_app.config["RECOVERY_SWEEP_SECONDS"])
