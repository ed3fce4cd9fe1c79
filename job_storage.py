"""JobStorageService: the one way job state is read and written.

- The database is the truth. Every state change is one conditional UPDATE
  (`... WHERE id = :id AND status IN (...)`), so a finished job never reopens, whoever writes late.
  Progress is written as `max(progress, :p)` in SQL, so it never goes backwards within an
  attempt; a job re-queued (requeue) starts over from 0.
- The cache (Redis, or an in-process TTL cache without REDIS_URL) holds the job record (job_record) for
  fast reads. It is refreshed from the database after every transition, takes progress at once,
  and is never the only place anything is written: progress reaches the database at least every
  PROGRESS_DB_INTERVAL seconds and on every stage change.
- Redis failures are logged and swallowed: reads and writes go on from the database, and
  `cache.status()` says "degraded" for the health check.
- Every change is published on the Redis channel `slidecast:jobs` as JSON
  {"event", "id", "status", "stage", "progress"} for listeners (issues 5/6), and appended to the
  job's event log (infra/events.py) that GET /api/jobs/ID/events streams.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta

import redis
import sqlalchemy as sa

from infra.extensions import db
from infra.metrics import JOB_READS
from models import (ACTIVE_STATES, CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Artifact, Job,
                    JobMetrics, as_utc, utcnow)

log = logging.getLogger("slidecast.jobs")

# Without new progress, reports closer together than this are dropped (the engine may report
# per frame; the cache and the cancellation check need no more than a few a second).
MIN_REPORT_GAP = 0.2
_ANY = object()


CHANNEL = "slidecast:jobs"
# "record": the cached value is a job_record (documents of the earlier shape are not read back).
_KEY = "slidecast:job-record:{}"
_STOP_KEY = "slidecast:job-stop:{}"
TOMBSTONE_SECONDS = 600

# Write the document; progress never goes below what the cache already shows for the job, except
# that a queued job (re-queued after a restart: its attempt starts over) has made none.
_PUT = """
if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return 'deleted' end
local old = tonumber(redis.call('HGET', KEYS[1], 'progress') or '-1')
local new = tonumber(ARGV[3])
if old > new and ARGV[2] ~= 'queued' then new = old end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'status', ARGV[2], 'progress', tostring(new),
           'stage', ARGV[4], 'message', ARGV[5], 'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[7])
return 'ok'
"""
# Progress of a running job: 'missing' (not cached), the status if not running, else
# {'ok', the job's progress now} (the most reported, which events must carry).
_PROGRESS = """
if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return 'deleted' end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'running' then return status end
local old = tonumber(redis.call('HGET', KEYS[1], 'progress') or '0')
if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], 'progress', ARGV[2]) end
redis.call('HSET', KEYS[1], 'stage', ARGV[1], 'message', ARGV[3], 'updated_at', ARGV[4])
return {'ok', redis.call('HGET', KEYS[1], 'progress')}
"""


class RedisJobCache:
    """Job documents in Redis hashes with a TTL. Every method swallows Redis errors (logged):
    the caller then works from the database. After an error Redis is left alone for
    RETRY_AFTER seconds so a dead server does not cost a timeout per request."""

    RETRY_AFTER = 2.0

    def __init__(self, url: str, ttl: int):
        self.url, self.ttl = url, ttl
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0,
                                           decode_responses=True)
        self._put = self.client.register_script(_PUT)
        self._progress = self.client.register_script(_PROGRESS)
        self._down_until = 0.0
        self.last_error: str | None = None

    def _call(self, action, default=None):
        if time.monotonic() < self._down_until:
            return default
        try:
            return action()
        except redis.RedisError as exc:
            self._down_until = time.monotonic() + self.RETRY_AFTER
            if self.last_error != str(exc):
                log.warning("redis cache unavailable, using the database: %s", exc)
            self.last_error = str(exc)
            return default

    def get(self, job_id: str) -> dict | None:
        fields = self._call(lambda: self.client.hgetall(_KEY.format(job_id)))
        if not fields or "doc" not in fields:
            return None
        doc = json.loads(fields["doc"])
        doc.update({k: fields.get(k) or None for k in ("status", "stage", "message", "updated_at")})
        doc["progress"] = round(float(fields.get("progress") or 0), 1)
        return doc

    def put(self, doc: dict) -> None:
        args = [json.dumps(doc), doc["status"], doc["progress"], doc["stage"] or "", doc["message"] or "",
                doc["updated_at"] or "", self.ttl]
        self._call(lambda: self._put(keys=[_KEY.format(doc["id"])], args=args))

    def update_progress(self, job_id, stage, percent, message, updated_at) -> tuple[str | None, float | None]:
        """("ok", the job's cached progress now) for a running job, else ('missing' or the job's
        cached status when not running, None); (None, None) if Redis failed."""
        reply = self._call(lambda: self._progress(keys=[_KEY.format(job_id)],
                                                  args=[stage, percent, message, updated_at]))
        if isinstance(reply, list):
            return reply[0], round(float(reply[1]), 1)
        return reply, None

    def delete(self, job_id: str) -> None:
        """Forget the job and keep a tombstone for a while, so that a writer still holding its
        old document (a task that read it just before the delete) cannot cache it again."""
        key = _KEY.format(job_id)
        self._call(lambda: self.client.pipeline().delete(key).hset(key, "deleted", 1)
                   .expire(key, TOMBSTONE_SECONDS).execute())

    def publish(self, event: dict) -> None:
        self._call(lambda: self.client.publish(CHANNEL, json.dumps(event)))

    def note_stop(self, job_id: str, reason: str, ttl: int) -> None:
        self._call(lambda: self.client.set(_STOP_KEY.format(job_id), reason, ex=ttl))

    def take_stop_note(self, job_id: str) -> str | None:
        return self._call(lambda: self.client.getdel(_STOP_KEY.format(job_id)))

    def status(self) -> dict:
        """Health: ping Redis now (ignoring the back-off)."""
        try:
            self.client.ping()
            self._down_until = 0.0
            return {"status": "ok", "backend": "redis"}
        except redis.RedisError as exc:
            return {"status": "degraded", "backend": "redis",
                    "detail": f"redis unreachable, serving from the database: {exc}"}


class LocalJobCache:
    """Embedded mode (no REDIS_URL): documents in this process, for at most LOCAL_TTL seconds.
    Short-lived on purpose: another process may change the job in the database meanwhile, and
    this cache must never act as a second truth."""

    LOCAL_TTL = 2.0

    def __init__(self, ttl: int):
        self.ttl = min(float(ttl), self.LOCAL_TTL)
        self._docs: dict[str, tuple[float, dict]] = {}
        self._buried: dict[str, float] = {}  # deleted job id -> until when it stays uncacheable
        self._stops: dict[str, tuple[float, str]] = {}  # job id -> (until, why its step gave up)
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # for GET /api/cache/stats

    def get(self, job_id: str) -> dict | None:
        with self._lock:
            entry = self._docs.get(job_id)
            if entry is None or entry[0] < time.monotonic():
                self._docs.pop(job_id, None)
                self.misses += 1
                return None
            self.hits += 1
            return dict(entry[1])

    def stats(self) -> dict:
        """This process's hits and misses, documents held and their approximate size in bytes."""
        with self._lock:
            size = sum(len(json.dumps(doc)) for _, doc in self._docs.values())
            return {"hits": self.hits, "misses": self.misses, "keys": len(self._docs), "memory_bytes": size}

    def put(self, doc: dict) -> None:
        with self._lock:
            if self._buried.get(doc["id"], 0) > time.monotonic():
                return
            old = self._docs.get(doc["id"])
            doc = dict(doc)
            if old and doc["status"] != QUEUED:  # a re-queued job starts over (see _PUT)
                doc["progress"] = max(doc["progress"], old[1]["progress"])
            self._docs[doc["id"]] = (time.monotonic() + self.ttl, doc)
            if len(self._docs) > 10000:  # bound memory: drop expired entries
                now = time.monotonic()
                self._docs = {k: v for k, v in self._docs.items() if v[0] >= now}

    def update_progress(self, job_id, stage, percent, message, updated_at) -> tuple[str, float | None]:
        with self._lock:
            entry = self._docs.get(job_id)
            if entry is None or entry[0] < time.monotonic():
                return "missing", None
            doc = entry[1]
            if doc["status"] != RUNNING:
                return doc["status"], None
            doc.update(stage=stage, message=message, updated_at=updated_at,
                       progress=max(doc["progress"], round(percent, 1)))
            return "ok", doc["progress"]

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._docs.pop(job_id, None)
            self._buried[job_id] = time.monotonic() + TOMBSTONE_SECONDS
            if len(self._buried) > 10000:
                now = time.monotonic()
                self._buried = {k: v for k, v in self._buried.items() if v >= now}

    def publish(self, event: dict) -> None:
        """No broker in embedded mode: nothing listens across processes."""

    def note_stop(self, job_id: str, reason: str, ttl: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._stops = {k: v for k, v in self._stops.items() if v[0] >= now}
            self._stops[job_id] = (now + ttl, reason)

    def take_stop_note(self, job_id: str) -> str | None:
        with self._lock:
            until, reason = self._stops.pop(job_id, (0.0, None))
            return reason if until >= time.monotonic() else None

    def status(self) -> dict:
        return {"status": "ok", "backend": "in-process"}


class NearCache:
    """Job documents this process read from Redis in the last `seconds` (0: off).

    It spares the poll endpoint a Redis round trip when the same job is polled often (several
    clients, a dashboard). What another process changed shows up here at most `seconds` late;
    this process's own writes drop its copy at once. Never written except from a read. Each
    entry also keeps what the API rendered from its document (`rendered`), so a repeated poll
    skips serialization too; it goes when the entry goes."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._docs: dict[str, _NearEntry] = {}
        self._lock = threading.Lock()

    def _entry(self, job_id: str):
        entry = self._docs.get(job_id)
        return None if entry is None or entry.expires < time.monotonic() else entry

    def get(self, job_id: str) -> dict | None:
        entry = self._entry(job_id)
        return None if entry is None else dict(entry.doc)

    def rendered(self, job_id: str, render) -> tuple[dict, str] | None:
        """(a copy of the document, render(document)) while the entry lives, render called once
        per entry (two threads may both call it; either result is the same); None if none."""
        entry = self._entry(job_id)
        if entry is None:
            return None
        if entry.body is None:
            entry.body = render(entry.doc)
        return dict(entry.doc), entry.body

    def put(self, doc: dict) -> None:
        if self.seconds > 0:
            with self._lock:
                if len(self._docs) > 10000:
                    self._docs.clear()
                self._docs[doc["id"]] = _NearEntry(time.monotonic() + self.seconds, dict(doc))

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._docs.pop(job_id, None)


class _NearEntry:
    __slots__ = ("expires", "doc", "body")

    def __init__(self, expires: float, doc: dict):
        self.expires, self.doc, self.body = expires, doc, None


def make_cache(redis_url: str | None, ttl: int):
    """RedisJobCache when REDIS_URL is set, else the in-process cache (embedded mode)."""
    return RedisJobCache(redis_url, ttl) if redis_url else LocalJobCache(ttl)


# Two or more /-separated parts: /tmp/slidecast-job-x/video.mp4, not "50/50" or "a/b" words.
_PATH = re.compile(r"(?<![\w.:/])(?:/[\w.@+-]+){2,}/?")


def without_paths(text: str) -> str:
    """`text` with each absolute path replaced by its last part."""
    return _PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def job_record(job: Job, artifact_kinds) -> dict:
    """The job's state as plain JSON values, what the cache holds and reads return; the API's
    document is made from it by api/schemas.JobSchema."""
    return {
        "id": job.id,
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress or 0.0, 1),
        "message": job.message,
        "error": job.error,
        "options": job.options or {},
        "source_filename": job.source_filename,
        "source_url": job.source_url,
        "attempts": job.attempts,
        "priority": job.priority,
        "executor": job.executor,
        "duration": job.duration,
        "video_sha256": job.video_sha256,
        "slide_count": job.slide_count,
        "appearance_count": job.appearance_count,
        "warnings": job.warnings or [],
        "artifact_kinds": sorted(set(artifact_kinds)),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "updated_at": iso(job.updated_at),
        # Who may see the job (api/auth.py); JobSchema does not send it.
        "api_key_id": job.api_key_id,
    }


class JobStorageService:
    """Reads and writes of job state. Call inside an app context (it uses db.session)."""

    def __init__(self, cache, progress_interval: float = 2.0, near_seconds: float = 0.0, events=None):
        self.cache = cache
        self.events = events  # infra/events.py: each job's ordered event log (SSE), or None
        # The in-process cache expires within seconds and other processes cannot see it, so a
        # throttled database would let a poll that falls back to it see progress go backwards.
        # Embedded mode's database is local: write every reported step through.
        self.progress_interval = progress_interval if isinstance(cache, RedisJobCache) else 0.0
        # Only in front of Redis: the in-process cache of embedded mode is near already.
        self.near = NearCache(near_seconds if isinstance(cache, RedisJobCache) else 0.0)
        self._lock = threading.Lock()
        # job id -> (monotonic time, stage) of the last progress written to the database / cache.
        self._last_db_write: dict[str, tuple[float, str]] = {}
        self._last_report: dict[str, tuple[float, str, float]] = {}

    # ---- reads -------------------------------------------------------------------------------
    def get(self, job_id: str) -> dict | None:
        """The job record: from the cache, else from the database (then cached). None if unknown.
        With Redis it may come from this process's NearCache, at most JOB_NEAR_CACHE_SECONDS old."""
        doc = self.near.get(job_id)
        if doc is not None:
            JOB_READS.labels("near").inc()
            return doc
        doc, source = self.cache.get(job_id), "cache"
        if doc is None:
            doc, source = self.load(job_id), "database"
            if doc is not None:
                self.cache.put(doc)
        if doc is not None:
            self.near.put(doc)
        JOB_READS.labels(source).inc()
        return doc

    def get_rendered(self, job_id: str, render) -> tuple[dict | None, str | None]:
        """(get(job_id), render(that document)); while the document is in the near cache, its
        rendering is kept with it, so repeated polls of a job serialize it once. (None, None)
        if the job is unknown."""
        hit = self.near.rendered(job_id, render)
        if hit is not None:
            JOB_READS.labels("near").inc()
            return hit
        doc = self.get(job_id)
        if doc is None:
            return None, None
        return self.near.rendered(job_id, render) or (doc, render(doc))

    def load(self, job_id: str) -> dict | None:
        """The job record straight from the database (no cache)."""
        job = db.session.get(Job, job_id, populate_existing=True)
        if job is None:
            return None
        kinds = db.session.scalars(sa.select(Artifact.kind).where(Artifact.job_id == job_id).distinct())
        return job_record(job, kinds)

    def list(self, status: str | None, page: int, per_page: int, owner=True) -> tuple[list[dict], int]:
        """One page of jobs, newest first, and the total count matching `status`; `owner` is an
        API key id (only its jobs) or True (every job)."""
        query = sa.select(Job)
        count = sa.select(sa.func.count()).select_from(Job)
        if status:
            query, count = query.where(Job.status == status), count.where(Job.status == status)
        if owner is not True:
            query, count = query.where(Job.api_key_id == owner), count.where(Job.api_key_id == owner)
        total = db.session.scalar(count)
        jobs = db.session.scalars(query.order_by(Job.created_at.desc(), Job.id)
                                  .offset((page - 1) * per_page).limit(per_page)).all()
        kinds: dict[str, set] = {}
        if jobs:
            rows = db.session.execute(sa.select(Artifact.job_id, Artifact.kind).distinct()
                                      .where(Artifact.job_id.in_([j.id for j in jobs])))
            for job_id, kind in rows:
                kinds.setdefault(job_id, set()).add(kind)
        return [job_record(j, kinds.get(j.id, ())) for j in jobs], total

    def stats(self) -> dict:
        """Counts by status (all time and last 24 h), mean processing time, slides extracted."""
        since = utcnow() - timedelta(hours=24)
        by_status = dict(db.session.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all())
        recent = dict(db.session.execute(sa.select(Job.status, sa.func.count())
                                         .where(Job.created_at >= since).group_by(Job.status)).all())
        mean = db.session.scalar(sa.select(sa.func.avg(JobMetrics.total_seconds))
                                 .join(Job, Job.id == JobMetrics.job_id).where(Job.status == SUCCEEDED))
        slides = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Job.slide_count), 0))
                                   .where(Job.status == SUCCEEDED))
        return {
            "jobs": {"total": sum(by_status.values()), "by_status": by_status},
            "last_24h": {"total": sum(recent.values()), "by_status": recent},
            "mean_processing_seconds": round(mean, 3) if mean is not None else None,
            "slides_extracted": int(slides or 0),
        }

    # ---- writes ------------------------------------------------------------------------------
    def create(self, job: Job) -> dict:
        """Insert a new queued job and commit; enqueue it only after this returns."""
        db.session.add(job)
        db.session.commit()
        return self.refresh(job.id, event="created")

    def transition(self, job_id: str, to: str, allowed_from, *, owner_is=_ANY, **values) -> bool:
        """Move the job to `to` only if its status is in `allowed_from` (and, when `owner_is` is
        given, its owner is that value): one conditional UPDATE.

        Returns False, changing nothing, when the job is gone or in another state.
        """
        now = utcnow()
        values.update(status=to, updated_at=now)
        if to in (SUCCEEDED, FAILED, CANCELLED):
            values.setdefault("finished_at", now)
        changed = self._guarded_update(job_id, allowed_from, values, owner_is)
        db.session.commit()
        if changed:
            self._forget(job_id)
            self.refresh(job_id, event=to)
        return changed

    def start(self, job_id: str, owner: str | None) -> bool:
        """queued -> running; counts the attempt. False if the job is not queued (idempotent)."""
        now = utcnow()
        return self.transition(job_id, RUNNING, (QUEUED,), started_at=now, heartbeat_at=now,
                               owner=owner, attempts=Job.attempts + 1, stage=None, error=None)

    def succeed(self, job_id: str, rows: list, **values) -> bool:
        """running -> succeeded, committing `rows` (slides, artifacts, metrics) in the same
        transaction; `message` "done" unless given. False, with nothing written, if the job was cancelled or deleted meanwhile."""
        now = utcnow()
        values = {"message": "done", **values, "status": SUCCEEDED, "updated_at": now, "finished_at": now,
                  "progress": 100.0, "stage": None}
        db.session.add_all(rows)
        db.session.flush()
        if not self._guarded_update(job_id, (RUNNING,), values):
            db.session.rollback()
            return False
        db.session.commit()
        self._forget(job_id)
        self.refresh(job_id, event=SUCCEEDED)
        return True

    def fail(self, job_id: str, error: str, owner_is=_ANY) -> bool:
        """queued/running -> failed with a one-line `error` for the user; any server path in it
        is cut to its file name (a client must not learn the server's folders)."""
        error = without_paths(error)[:2000]
        # The message said what was under way ("downloading ..."); it now says the job stopped.
        return self.transition(job_id, FAILED, ACTIVE_STATES, owner_is=owner_is, error=error, stage=None,
                               message=f"failed: {error}"[:300])

    def note_stop(self, job_id: str, reason: str, ttl: int) -> None:
        """Why a running job's step gave up without being able to record it (the database did not
        answer): kept in the cache for the stale-job sweep, which fails or re-queues the job later
        and would otherwise blame its worker."""
        self.cache.note_stop(job_id, reason, ttl)

    def take_stop_note(self, job_id: str) -> str | None:
        """The reason note_stop left for the job, once (None when there is none)."""
        return self.cache.take_stop_note(job_id)

    def requeue(self, job_id: str, old_owner: str | None, new_owner: str, message: str) -> bool:
        """queued/running -> queued under `new_owner`, only if `old_owner` still holds it: of
        several processes recovering the same job, exactly one wins."""
        return self.transition(job_id, QUEUED, ACTIVE_STATES, owner_is=old_owner, owner=new_owner,
                               stage=None, progress=0.0, message=message)

    def set_executor(self, job_id: str, executor: str, owner: str | None) -> bool:
        """Record who runs a still-queued job (thread pool fallback after a failed broker send)."""
        changed = self._guarded_update(job_id, (QUEUED,), {"executor": executor, "owner": owner})
        db.session.commit()
        if changed:
            self.refresh(job_id)
        return changed

    def claim_step(self, job_id: str, attempt: int, owner: str) -> bool:
        """A step of a running job's attempt `attempt` starts in `owner`: it becomes the owner
        and the heartbeat starts now. False if the job is not running with that attempt."""
        stmt = (sa.update(Job).where(Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt)
                .values(owner=owner, heartbeat_at=utcnow()).execution_options(synchronize_session=False))
        claimed = db.session.execute(stmt).rowcount == 1
        db.session.commit()
        return claimed

    def release_step(self, job_id: str, attempt: int, owner: str) -> None:
        """The step is over and the next one (if any) waits in the broker: no heartbeat is
        expected until a worker picks it up, so the stale-job sweep must not count the wait."""
        db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt,
                                                Job.owner == owner).values(heartbeat_at=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()

    @staticmethod
    def beat(engine, job_id: str) -> None:
        """Heartbeat of a running job on `engine`'s own connection (a thread beside the step's
        session). SQLAlchemyError when the database does not answer."""
        with engine.begin() as conn:
            conn.execute(sa.update(Job).where(Job.id == job_id, Job.status == RUNNING).values(heartbeat_at=utcnow()))

    def cancel(self, job_id: str) -> bool:
        """queued/running -> cancelled. A running task notices at its next progress report."""
        return self.transition(job_id, CANCELLED, ACTIVE_STATES, message="cancelled by request")

    def report_progress(self, job_id: str, stage: str, percent: float, message: str = "", force: bool = False) -> bool:
        """Record progress of a running job (`force`: even right after a report of the same stage).
        Returns False when the job is no longer running (cancelled, deleted, finished): the
        caller should stop working on it."""
        percent = max(0.0, min(100.0, float(percent)))
        self.near.drop(job_id)
        now = time.monotonic()
        with self._lock:
            last = self._last_report.get(job_id)
            if not force and last and last[1] == stage and now - last[0] < MIN_REPORT_GAP and percent - last[2] < 5:
                return True
            self._last_report[job_id] = (now, stage, percent)
            last_write = self._last_db_write.get(job_id)
        moment = utcnow()
        cached, progress = self.cache.update_progress(job_id, stage, percent, message[:300], iso(moment))
        if cached not in ("ok", "missing", None):
            return False  # the cache only holds states the database had: the job is not running
        due = (last_write is None or last_write[1] != stage or now - last_write[0] >= self.progress_interval
               or cached != "ok")
        if due:
            values = {"stage": stage, "message": message[:300], "updated_at": moment, "heartbeat_at": moment,
                      "progress": sa.case((Job.progress > percent, Job.progress), else_=percent)}
            changed = self._guarded_update(job_id, (RUNNING,), values)
            db.session.commit()
            if not changed:
                return False
            with self._lock:
                self._last_db_write[job_id] = (now, stage)
            if cached != "ok":
                self.refresh(job_id, event="progress")  # publishes the database's progress
                return True
        # The cache's progress, what a poll reads: a later stage or a step run again may report
        # less than the job has made, and a client following the events must not see it go back.
        self._publish({"event": "progress", "id": job_id, "status": RUNNING, "stage": stage,
                       "progress": progress})
        return True

    def delete(self, job_id: str) -> bool:
        """Delete the job's rows (slides, artifacts, metrics cascade). Files: see api, storage."""
        job = db.session.get(Job, job_id)
        if job is None:
            return False
        db.session.delete(job)
        db.session.commit()
        self._forget(job_id)
        self.near.drop(job_id)
        self.cache.delete(job_id)
        self._publish({"event": "deleted", "id": job_id, "status": None, "stage": None, "progress": None})
        return True

    def refresh(self, job_id: str, event: str = "updated") -> dict | None:
        """Reload the job from the database into the cache and publish it."""
        self.near.drop(job_id)
        doc = self.load(job_id)
        if doc is None:
            self.cache.delete(job_id)
            return None
        self.cache.put(doc)
        self._publish({"event": event, "id": job_id, "status": doc["status"], "stage": doc["stage"],
                       "progress": doc["progress"]})
        return doc

    # ---- helpers -----------------------------------------------------------------------------
    def _publish(self, event: dict) -> None:
        self.cache.publish(event)
        if self.events is not None:
            self.events.append(event["id"], event)

    def _guarded_update(self, job_id: str, allowed_from, values: dict, owner_is=_ANY) -> bool:
        stmt = sa.update(Job).where(Job.id == job_id, Job.status.in_(tuple(allowed_from)))
        if owner_is is not _ANY:
            stmt = stmt.where(Job.owner.is_(None) if owner_is is None else Job.owner == owner_is)
        stmt = stmt.values(**values).execution_options(synchronize_session=False)
        return db.session.execute(stmt).rowcount == 1

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._last_db_write.pop(job_id, None)
            self._last_report.pop(job_id, None)
