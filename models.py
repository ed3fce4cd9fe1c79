"""Database models. The schema changes only through migrations/ (Flask-Migrate).

Job state is written only through job_storage.JobStorageService; these classes describe rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from infra.extensions import db

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
ACTIVE_STATES = (QUEUED, RUNNING)
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED)
ALL_STATES = ACTIVE_STATES + FINAL_STATES


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def new_id() -> str:
    return str(uuid.uuid4())


# Timestamps are stored timezone-aware on PostgreSQL; SQLite hands them back naive (UTC).
_TS = sa.DateTime(timezone=True)


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(sa.String(16), default=QUEUED)
    stage: Mapped[str | None] = mapped_column(sa.String(32))
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    message: Mapped[str | None] = mapped_column(sa.String(300))
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    source_filename: Mapped[str | None] = mapped_column(sa.String(255))
    source_url: Mapped[str | None] = mapped_column(sa.String(2048))
    # Storage key of the uploaded video (None until a video_url download finished).
    upload_key: Mapped[str | None] = mapped_column(sa.String(512))
    error: Mapped[str | None] = mapped_column(sa.Text)
    # "thread" (in-process pool) or "celery"; `owner` is the pool's process for thread jobs.
    executor: Mapped[str] = mapped_column(sa.String(16), default="thread")
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    priority: Mapped[int] = mapped_column(sa.Integer, default=0)
    duration: Mapped[float | None] = mapped_column(sa.Float)
    # Distinct slides (the pages of the job's PDF and PPTX) and the timeline's appearances (a
    # return to an earlier slide is one more appearance); migration 0007 says why both.
    slide_count: Mapped[int | None] = mapped_column(sa.Integer)
    appearance_count: Mapped[int | None] = mapped_column(sa.Integer)
    # What the user should know about a finished job's result (the manifest's `warnings`).
    warnings: Mapped[list | None] = mapped_column(sa.JSON)
    video_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(_TS)
    finished_at: Mapped[datetime | None] = mapped_column(_TS)
    updated_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(_TS)
    # The API key that submitted the job (None: submitted without authentication); only that
    # key and admin keys see it. Not `owner`, which names the process running a thread job.
    # No foreign key (migration 0003 says why); keys are revoked, never deleted.
    api_key_id: Mapped[int | None] = mapped_column(sa.Integer)

    slides: Mapped[list["Slide"]] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Slide.index")
    artifacts: Mapped[list["Artifact"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    metrics: Mapped["JobMetrics | None"] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        # GET /api/jobs?status=... newest first, and the unfiltered newest-first listing.
        sa.Index("ix_jobs_status_created", "status", "created_at"),
        sa.Index("ix_jobs_created", "created_at"),
        # Maintenance sweeps: stale heartbeats of running jobs, finished jobs past retention.
        sa.Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
        sa.Index("ix_jobs_finished", "finished_at"),
        # A key's own listing, newest first.
        sa.Index("ix_jobs_api_key_created", "api_key_id", "created_at"),
        sa.CheckConstraint(f"status IN {ALL_STATES!r}", name="ck_jobs_status"),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="ck_jobs_progress"),
    )


class Slide(db.Model):
    __tablename__ = "slides"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(sa.Integer)
    start: Mapped[float] = mapped_column(sa.Float)
    end: Mapped[float] = mapped_column(sa.Float)
    same_as: Mapped[int | None] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.Text, default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    transcript: Mapped[str] = mapped_column(sa.Text, default="")
    keywords: Mapped[list] = mapped_column(sa.JSON, default=list)
    deck_page: Mapped[int | None] = mapped_column(sa.Integer)  # 1-based page of the talk's deck, when aligned
    image_key: Mapped[str] = mapped_column(sa.String(512))
    thumbnail_key: Mapped[str] = mapped_column(sa.String(512))

    job: Mapped[Job] = relationship(back_populates="slides")

    __table_args__ = (sa.UniqueConstraint("job_id", "index", name="uq_slides_job_index"),)


class JobMetrics(db.Model):
    __tablename__ = "job_metrics"

    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    # Seconds per pipeline stage as the library reported them ({"decode": 3.1, ...}).
    stage_seconds: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    queue_seconds: Mapped[float | None] = mapped_column(sa.Float)
    total_seconds: Mapped[float | None] = mapped_column(sa.Float)
    video_duration: Mapped[float | None] = mapped_column(sa.Float)
    # Video seconds processed per wall-clock second.
    speed: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class Artifact(db.Model):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # Looked up by job through the (job_id, key) unique index.
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    # upload, manifest, pdf, notes, srt, vtt, archive, image, thumbnail
    kind: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String(512))
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(sa.String(100), default="application/octet-stream")
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("job_id", "key", name="uq_artifacts_job_key"),)


class JobPart(db.Model):
    """A finished part of a job's task graph ("a1:analyse", "a1:chunk:003"): the last part to
    finish starts the next step (jobs/graph.py). The primary key makes a redelivered part a no-op.
    While a step copies the job's upload, a row "reading:<id>" names it (jobs/upload_readers.py)."""

    __tablename__ = "job_parts"

    job_id: Mapped[str] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class ApiKey(db.Model):
    """A client's API key (api/auth.py). Only the SHA-256 of the key is stored: the key is
    32 random bytes, so a fast hash is enough; a leaked table gives no usable key."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The key's first characters, so an operator can tell keys apart in `flask keys list`.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    admin: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(_TS)
