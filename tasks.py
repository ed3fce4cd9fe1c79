"""Job tasks: thin wrappers that run slidecast.extract for a job and record the outcome.

`process_job(job_id)` runs the whole pipeline in one go inside an app context, on the web
process's thread pool (on Celery the same job runs as the task graph of tasks_graph.py, which
reuses the helpers below). It is
idempotent: a job that is not `queued` any more (running elsewhere, finished, cancelled, deleted)
is left alone, and a finished job is never reopened.
"""

from __future__ import annotations

import logging
import mimetypes
import tempfile
import time
import zipfile
from pathlib import Path

import av
import requests

import slidecast
from extensions import create_worker_app, db, executor, job_store, storage
from logging_config import connect_celery_logging, job_context
from metrics import stage_reached, stage_timer
from models import Artifact, Job, JobMetrics, Slide, as_utc, utcnow
from url_guard import BlockedAddress, guarded_session, url_problem

log = logging.getLogger("slidecast.tasks")
connect_celery_logging()  # workers and beat log JSON lines like the web (logging_config.py)

INTERNAL_ERROR = "internal error while processing the job; the server log has the details"
_KINDS = {"markdown": "notes", "pdf": "pdf", "srt": "srt", "vtt": "vtt"}
_TYPES = {".md": "text/markdown; charset=utf-8", ".srt": "application/x-subrip; charset=utf-8",
          ".vtt": "text/vtt; charset=utf-8", ".json": "application/json"}


class BadVideo(Exception):
    """The file is not a usable video; the message says why, for the person who sent it."""


class DownloadFailed(Exception):
    """video_url could not be fetched; the message says why."""


class DownloadUnavailable(DownloadFailed):
    """video_url's server did not answer now (no connection, timeout, 429/502/503/504): worth
    trying again later. Celery steps retry it with backoff (job_steps.TRANSIENT); the thread pool,
    which has no retries, fails the job with this message."""


# HTTP statuses that say "not now" rather than "not this URL".
RETRY_STATUSES = (429, 502, 503, 504)


def video_limits(config) -> dict:
    """The resource limits every video is held to, from the app config: {"seconds", "pixels"}."""
    return {"seconds": config["MAX_VIDEO_SECONDS"], "pixels": config["MAX_VIDEO_PIXELS"]}


def probe_video(path: Path, limits: dict) -> dict:
    """Open `path` with PyAV and check it is a whole, decodable video within `limits`
    (video_limits): frame size from the stream header, checked before any frame is decoded.

    Returns {"duration", "width", "height"}; raises BadVideo with a one-line reason.
    """
    if Path(path).stat().st_size == 0:
        raise BadVideo("the file is empty")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadVideo("the file has no video stream")
            stream = container.streams.video[0]
            if stream.codec_context.width:  # else the first decoded frame is measured below
                _check_size(stream.codec_context.width, stream.codec_context.height, limits["pixels"])
            duration = _duration(container, stream)
            if duration is None or duration <= 0:
                raise BadVideo("the video has no duration; it may be truncated or a still image")
            if duration > limits["seconds"]:
                raise BadVideo(f"the video lasts {duration:.0f} s, more than the {limits['seconds']:.0f} s "
                               "allowed (MAX_VIDEO_SECONDS)")
            if (first := _first_frame(container, stream)) is None:
                raise BadVideo("no frame of the video could be decoded")
            _check_size(first.width, first.height, limits["pixels"])
            _check_tail(container, stream, duration)
            return {"duration": duration, "width": stream.codec_context.width,
                    "height": stream.codec_context.height}
    except (av.FFmpegError, OSError) as exc:
        raise BadVideo(f"the file is not a readable video, or it is truncated ({_reason(exc)})") from None


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise BadVideo(f"the video's frames are {width}x{height} ({width * height / 1e6:.1f} megapixels), "
                       f"more than the {max_pixels / 1e6:.1f} megapixels allowed (MAX_VIDEO_PIXELS)")


def _duration(container, stream) -> float | None:
    if container.duration:
        return container.duration / 1_000_000
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _first_frame(container, stream):
    for frame in container.decode(stream):
        return frame
    return None


def _check_tail(container, stream, duration: float) -> None:
    """A truncated file still opens when its index is at the front; its end does not decode."""
    target = max(0.0, duration - 1.0)
    container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    for frame in container.decode(stream):
        if frame.time is None or frame.time >= min(target, duration * 0.5):
            return
    raise BadVideo(f"the video stops before its stated end ({duration:.1f} s): it is truncated or damaged")


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).split(":")[0] or type(exc).__name__


def check_video_url(url: str) -> str | None:
    """None if `url` may be downloaded, else why not: http(s) only, and unless
    ALLOW_PRIVATE_VIDEO_URLS a host on a public address (url_guard.py). Needs an app context."""
    from flask import current_app
    return url_problem(url, current_app.config["ALLOW_PRIVATE_VIDEO_URLS"])


# On Celery a job runs as a task graph (tasks_graph.py); `slidecast.process_job` is its first step.
_WORKER_APP = None


def _worker_app():
    global _WORKER_APP
    if _WORKER_APP is None:
        _WORKER_APP = create_worker_app()
    return _WORKER_APP


def process_job(job_id: str) -> str:
    """Run one job to a final state. Returns what happened: succeeded, failed, cancelled, skipped."""
    with job_context(job_id), stage_timer():  # job_id on every log line; stage durations measured
        return _process_job(job_id)


def _process_job(job_id: str) -> str:
    store = job_store()
    job = db.session.get(Job, job_id)
    if job is None or not store.start(job_id, executor().owner_for(job.executor)):
        log.info("job %s is not queued any more; nothing to do", job_id)
        return "skipped"
    started = time.monotonic()
    out_prefix = f"jobs/{job_id}/out"
    try:
        with tempfile.TemporaryDirectory(prefix="slidecast-job-") as work:
            return _run(job_id, Path(work), out_prefix, started)
    except slidecast.Cancelled:
        storage().delete_prefix(out_prefix)
        log.info("job %s stopped: cancelled", job_id)
        return "cancelled"
    except (slidecast.SlidecastError, BadVideo, DownloadFailed) as exc:
        storage().delete_prefix(out_prefix)
        store.fail(job_id, str(exc) or type(exc).__name__)
        return "failed"
    except Exception:
        log.exception("job %s failed with an unexpected error", job_id)
        _fail_quietly(job_id, out_prefix)
        return "failed"


def _fail_quietly(job_id: str, out_prefix: str) -> None:
    """Record the failure even if the database session is in a broken state."""
    db.session.rollback()
    try:
        storage().delete_prefix(out_prefix)
    finally:
        job_store().fail(job_id, INTERNAL_ERROR)


def _run(job_id: str, work: Path, out_prefix: str, started: float) -> str:
    store = job_store()
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:  # deleted right after it started
        raise slidecast.Cancelled("the job was deleted")
    report = _reporter(job_id)
    video = _input_video(job, work, report)
    options = slidecast.ExtractOptions.from_dict(job.options)
    manifest = slidecast.extract(video, work / "out", options, progress=report)
    report("publishing", 0.99, "publishing artifacts")
    storage().delete_prefix(out_prefix)  # leftovers of an interrupted earlier attempt
    rows = _publish(job_id, work / "out", out_prefix, manifest, work)
    rows += _slide_rows(job_id, manifest, out_prefix)
    elapsed = time.monotonic() - started
    rows.append(_metrics(job, manifest, elapsed))
    done = store.succeed(job_id, rows, slide_count=len(manifest.slides), duration=manifest.video.duration,
                         video_sha256=manifest.video.sha256)
    if not done:  # cancelled or deleted while publishing: leave nothing behind
        storage().delete_prefix(out_prefix)
        return "cancelled"
    log.info("job %s succeeded: %d slides in %.1f s", job_id, len(manifest.slides), elapsed)
    return "succeeded"


# The library reports a 0..1 fraction per stage; each stage owns a band of the job's 0-100 %, in
# pipeline order, so the job's progress only moves forward (skipped stages are simply jumped).
STAGE_BANDS = {"downloading": (0, 5), "decoding": (5, 25), "detecting": (25, 45), "ocr": (45, 75),
               "transcribing": (75, 92), "generating": (92, 99), "publishing": (99, 100)}


def stage_percent(stage: str, fraction: float) -> float | None:
    """The job-wide percent for `fraction` of `stage`; None for a stage this table does not know."""
    band = STAGE_BANDS.get(stage)
    if band is None:
        return None
    low, high = band
    return low + (high - low) * max(0.0, min(1.0, float(fraction)))


def _reporter(job_id: str):
    store = job_store()
    state = {"percent": 0.0}

    def report(stage: str, fraction: float, message: str = "") -> None:
        stage_reached(stage)
        percent = stage_percent(stage, fraction)
        state["percent"] = max(state["percent"], percent if percent is not None else 0.0)
        if not store.report_progress(job_id, stage, state["percent"], message or ""):
            raise slidecast.Cancelled("the job was cancelled")
    return report


def _input_video(job: Job, work: Path, report) -> Path:
    """The job's video as a local file: the stored upload, or a download of video_url."""
    if not job.upload_key:
        return _download(job.source_url, work, report)
    target = work / ("input" + Path(job.source_filename or "video.mp4").suffix.lower()[:10])
    storage().fetch(job.upload_key, target)
    return target


def _download(url: str, work: Path, report) -> Path:
    """Stream `url` to a file, at most MAX_UPLOAD_MB, then check it is a video."""
    from flask import current_app
    problem = check_video_url(url)
    if problem:
        raise DownloadFailed(problem)
    limit = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    target = work / "download.video"
    report("downloading", 0.0, f"downloading {url[:200]}")
    # The name was checked above; the session checks each connection it makes (DNS rebinding,
    # redirects to a private address).
    session = guarded_session(current_app.config["ALLOW_PRIVATE_VIDEO_URLS"])
    timeout = (10, current_app.config["DOWNLOAD_TIMEOUT"])
    try:
        with session, session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code in RETRY_STATUSES:
                raise DownloadUnavailable(f"downloading video_url failed: HTTP {response.status_code}")
            if response.status_code != 200:
                raise DownloadFailed(f"downloading video_url failed: HTTP {response.status_code}")
            total = int(response.headers.get("Content-Length") or 0)
            if total > limit:
                raise DownloadFailed(f"video_url is {total // 2**20} MB, more than MAX_UPLOAD_MB allows")
            _stream_to(response, target, limit, total, report)
    except BlockedAddress as exc:
        raise DownloadFailed(str(exc)) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise DownloadUnavailable(f"downloading video_url failed: {type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise DownloadFailed(f"downloading video_url failed: {type(exc).__name__}") from None
    probe_video(target, video_limits(current_app.config))
    return target


def _stream_to(response, target: Path, limit: int, total: int, report) -> None:
    size = 0
    with open(target, "wb") as out:
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > limit:
                raise DownloadFailed("video_url is larger than MAX_UPLOAD_MB allows")
            out.write(chunk)
            if total:
                report("downloading", size / total, "downloading")


def _publish(job_id: str, out_dir: Path, out_prefix: str, manifest, work: Path) -> list[Artifact]:
    """Copy every output file to storage (each published whole) and describe it as a row."""
    kinds = {"manifest.json": "manifest", "archive.zip": "archive"}
    kinds.update({rel: _KINDS.get(name, name) for name, rel in manifest.artifacts.items()})
    archive = work / "archive.zip"
    files = sorted(p for p in out_dir.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(out_dir).as_posix())
    rows = []
    for path, rel in [(p, p.relative_to(out_dir).as_posix()) for p in files] + [(archive, "archive.zip")]:
        key = f"{out_prefix}/{rel}"
        size = storage().put_file(key, path)
        kind = kinds.get(rel) or _file_kind(rel)
        rows.append(Artifact(job_id=job_id, kind=kind, key=key, size=size, content_type=_content_type(path)))
    return rows


def _file_kind(rel: str) -> str:
    if rel.startswith("slides/"):
        return "image"
    if rel.startswith("thumbs/"):
        return "thumbnail"
    return "file"


def _content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _slide_rows(job_id: str, manifest, out_prefix: str) -> list[Slide]:
    return [Slide(job_id=job_id, index=s.index, start=s.start, end=s.end, same_as=s.same_as, title=s.title,
                  text=s.text, transcript=s.transcript, keywords=list(s.keywords),
                  image_key=f"{out_prefix}/{s.image}", thumbnail_key=f"{out_prefix}/{s.thumbnail}")
            for s in manifest.slides]


def _metrics(job: Job, manifest, elapsed: float) -> JobMetrics:
    started = as_utc(job.started_at) or utcnow()
    duration = manifest.video.duration
    return JobMetrics(job_id=job.id, stage_seconds=dict(manifest.timings), total_seconds=round(elapsed, 3),
                      queue_seconds=round((started - as_utc(job.created_at)).total_seconds(), 3),
                      video_duration=duration, speed=round(duration / elapsed, 3) if elapsed > 0 else None)
