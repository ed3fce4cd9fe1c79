"""Repeated uploads: the job that already made (or is making) the slides of the same video
with the same options, found by the video's SHA-256."""

from __future__ import annotations

import hashlib
import json
import threading

import sqlalchemy as sa

from infra.extensions import db
from models import QUEUED, RUNNING, SUCCEEDED, Job

_REUSABLE = (SUCCEEDED, RUNNING, QUEUED)
# Embedded mode (SQLite) is one process: in-process locks, striped by key. Reentrant, like
# PostgreSQL's advisory locks within one session: a batch checks several uploads in one request.
_LOCKS = [threading.RLock() for _ in range(64)]
# An upload's check and creation take seconds; waiting longer than this is a bug, not a queue.
LOCK_WAIT_SECONDS = 600


def hold_repeat_check(video_sha256: str, options: dict, api_key_id: int | None) -> None:
    """Make the repeat check of this video, options and key, and the creation of the job that
    follows it, one step: a lock held until the request's database transaction ends (the new
    job's commit, or the rollback of a refused upload). Of identical uploads sent at once, the
    first creates the job and the others wait, then find it. PostgreSQL: an advisory transaction
    lock, across every web process; SQLite: a lock of this process."""
    digest = hashlib.sha256(json.dumps([video_sha256, options, api_key_id], sort_keys=True).encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        return
    lock = _LOCKS[key % len(_LOCKS)]
    if not lock.acquire(timeout=LOCK_WAIT_SECONDS):
        raise RuntimeError(f"the repeat check of video {video_sha256} waited {LOCK_WAIT_SECONDS} s for another upload")
    sa.event.listen(db.session(), "after_transaction_end", _release_at_root_end(lock))


def _release_at_root_end(lock):
    """A listener that lets go of `lock` once, when the session's outermost transaction ends.
    A flush runs in a subtransaction that ends first, before the job's row is committed: released
    there, a second upload found no job yet and made its own."""
    released = False

    def release(_session, transaction) -> None:
        nonlocal released
        if transaction.parent is None and not released:
            released = True
            lock.release()
    return release


def end_repeat_check() -> None:
    """Let go of the repeat check without creating a job (a repeat was found, or the upload was
    refused): the transaction ends, and with it the lock. A batch checks its next upload in the
    same request, and other requests waiting for this video go on."""
    db.session.rollback()


def find_repeat(video_sha256: str, options: dict, api_key_id: int | None, statuses=_REUSABLE,
                other_than: str | None = None) -> str | None:
    """The id of a job of API key `api_key_id` (None: jobs submitted without a key) with this
    video (content hash) and these options (as normalized by ExtractOptions) that succeeded,
    else of one still queued or running (of `statuses`, other than job `other_than`); None when
    there is none. A failed or cancelled job is never reused: the new upload is a new try."""
    rows = db.session.execute(sa.select(Job.id, Job.status, Job.options)
                              .where(Job.video_sha256 == video_sha256, Job.status.in_(statuses), Job.id != (other_than or ""),
                                     Job.api_key_id.is_(None) if api_key_id is None else Job.api_key_id == api_key_id)
                              .order_by(Job.created_at.desc())).all()
    same = [row for row in rows if row.options == options]
    same.sort(key=lambda row: row.status != SUCCEEDED)  # stable: newest first within each group
    return same[0].id if same else None
