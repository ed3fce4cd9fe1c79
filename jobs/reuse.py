"""A downloaded video (video_url) that a finished job of the same key already turned into slides,
with the same options: its results are copied to the new job instead of extracting again.

An upload is matched before any job exists (api/jobs.py answers 200 `cached`); a URL's bytes are
known only once the worker has downloaded them, so there the job exists already and succeeds at
once with the earlier job's slides and files, its message saying so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa

from infra.extensions import db, job_store, storage
from jobs.keys import out_prefix
from jobs.repeats import find_repeat
from jobs.scratch import scratch
from models import SUCCEEDED, Artifact, Job, JobMetrics, Slide
from slidecast.pipeline import FileHasher

log = logging.getLogger("slidecast.tasks")

# How a job's message starts when its slides are another job's (reuse_earlier): the job document's
# `cached` is read from it (api/schemas.JobSchema).
REUSED = "cached: "


def reused(record: dict) -> bool:
    """Whether a job (a job_storage record) succeeded with an earlier job's slides."""
    return record["status"] == SUCCEEDED and (record.get("message") or "").startswith(REUSED)


def downloaded_sha256(job: Job, video: Path) -> str | None:
    """The SHA-256 of a job's downloaded video (None for an upload, matched at submit). The
    extraction is handed it too, so the file is read for it once."""
    return None if job.upload_key else FileHasher(video).result()


def reuse_earlier(job: Job, digest: str | None) -> bool:
    """For a job whose video was downloaded (`digest`: its SHA-256): when a job of the same key
    succeeded with the same video and options, give this job a copy of its slides and files and
    succeed it. True when that happened (or the job was cancelled meanwhile): nothing more to do."""
    if digest is None:
        return False
    earlier_id = find_repeat(digest, job.options, job.api_key_id, statuses=(SUCCEEDED,), other_than=job.id)
    if earlier_id is None:
        return False
    earlier = db.session.get(Job, earlier_id)
    rows = _copied_results(earlier_id, job.id)
    done = job_store().succeed(job.id, rows, slide_count=earlier.slide_count,
                               appearance_count=earlier.appearance_count, duration=earlier.duration,
                               video_sha256=digest, warnings=earlier.warnings,
                               message=f"{REUSED}the same video and options as job {earlier_id}; its slides were reused")
    if not done:  # cancelled or deleted meanwhile
        storage().delete_prefix(out_prefix(job.id))
    log.info("job %s reused the results of job %s (same downloaded video and options)", job.id, earlier_id)
    return True


def _copied_results(source_id: str, target_id: str) -> list:
    """Copies of the source job's output files under the target's prefix, and rows for them:
    artifacts, slides and metrics (a deleted source job must not take them along)."""
    old, new = out_prefix(source_id), out_prefix(target_id)
    moved = {}
    artifacts = db.session.scalars(sa.select(Artifact).where(Artifact.job_id == source_id,
                                                             Artifact.key.startswith(old + "/"))).all()
    with scratch("reuse") as tmp:
        copy = Path(tmp) / "file"
        for row in artifacts:
            moved[row.key] = new + row.key[len(old):]
            storage().fetch(row.key, copy)
            storage().put_file(moved[row.key], copy)
    rows: list = [Artifact(job_id=target_id, kind=a.kind, key=moved[a.key], size=a.size, content_type=a.content_type)
                  for a in artifacts]
    for s in db.session.scalars(sa.select(Slide).where(Slide.job_id == source_id).order_by(Slide.index)):
        rows.append(Slide(job_id=target_id, index=s.index, start=s.start, end=s.end, same_as=s.same_as, title=s.title,
                          text=s.text, transcript=s.transcript, keywords=list(s.keywords or []),
                          deck_page=s.deck_page, image_key=moved.get(s.image_key, s.image_key),
                          thumbnail_key=moved.get(s.thumbnail_key, s.thumbnail_key)))
    metrics = db.session.get(JobMetrics, source_id)
    rows.append(JobMetrics(job_id=target_id, stage_seconds={}, total_seconds=None,
                           video_duration=metrics.video_duration if metrics else None))
    return rows
