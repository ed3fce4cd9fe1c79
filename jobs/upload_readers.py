"""A cancelled or failed job's uploaded video, and the deck (PDF) sent with it, are removed as
soon as no step copies them any more: such a job never runs again and is never reused (a repeat of a
failed job is a new upload and a new job; there is no retry of a finished job; a repeat or a reuse
takes a succeeded or running job's outputs, never its inputs), so keeping the files until
JOB_RETENTION_DAYS only costs storage and keeps someone's video and slides longer than anything
needs them.

A step that needs the video or the deck copies it into its scratch folder (jobs/inputs.input_video,
jobs/deck.with_local_deck) and reads only that copy afterwards, so "a step reads the upload" means
"a step is copying it". Meanwhile a row `reading:<id>` in job_parts names that step. The job's row
is locked while a reader is added or removed and while the cancel (or failure) looks for readers,
so whoever comes last (the cancel or failure, or the last reader to finish its copy) removes the
upload and the deck. A reader that dies mid-copy leaves its row: they then wait for retention with
the job.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import sqlalchemy as sa

import slidecast
from infra.extensions import db, storage
from jobs.keys import deck_prefix, upload_prefix
from models import CANCELLED, FAILED, RUNNING, Artifact, Job, JobPart

READING = "reading:"


@contextmanager
def reading_upload(job_id: str):
    """Around a step's copy of the job's upload or deck. Raises slidecast.Cancelled, copying nothing,
    when the job is not running (cancelled or deleted since the step began)."""
    if _locked_status(job_id) != RUNNING:
        db.session.commit()
        raise slidecast.Cancelled("the job was cancelled")
    name = READING + uuid.uuid4().hex
    db.session.add(JobPart(job_id=job_id, name=name))
    db.session.commit()
    try:
        yield
    finally:
        db.session.execute(sa.delete(JobPart).where(JobPart.job_id == job_id, JobPart.name == name))
        remove_unused_upload(job_id)


def remove_unused_upload(job_id: str) -> bool:
    """Remove the job's upload and deck (files and artifact rows) when the job is cancelled or
    failed and no step is copying either; commits. True when they were removed."""
    readers = sa.select(sa.func.count()).select_from(JobPart).where(JobPart.job_id == job_id,
                                                                    JobPart.name.startswith(READING))
    if _locked_status(job_id) not in (CANCELLED, FAILED) or db.session.scalar(readers):
        db.session.commit()
        return False
    db.session.execute(sa.delete(Artifact).where(Artifact.job_id == job_id, Artifact.kind.in_(("upload", "deck"))))
    db.session.commit()
    storage().delete_prefix(upload_prefix(job_id))
    storage().delete_prefix(deck_prefix(job_id))
    return True


def _locked_status(job_id: str) -> str | None:
    """The job's status, its row locked until the session commits (None: no such job)."""
    return db.session.scalar(sa.select(Job.status).where(Job.id == job_id).with_for_update())
