"""`flask jobs ...`: maintenance an operator runs by hand (or from cron) when no beat does."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from jobs.recovery import ORPHAN_GRACE, expire_all, remove_orphans

jobs_cli = AppGroup("jobs", help="Maintenance of jobs.")


@jobs_cli.command("expire")
def expire_command() -> None:
    """Delete finished jobs older than JOB_RETENTION_DAYS, rows and files, and the job folders in
    storage of no job, as beat's expire_jobs."""
    click.echo(f"deleted {expire_all()} finished job(s) older than the retention")
    hours = ORPHAN_GRACE.total_seconds() / 3600
    click.echo(f"removed {remove_orphans()} job folder(s) of no job, unchanged for {hours:.0f} h")
