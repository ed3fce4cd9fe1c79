"""A job's input video: the stored upload, or a guarded download of video_url, checked to be a
whole, decodable video. The exceptions say what went wrong in words for the person who sent it."""

from __future__ import annotations

from pathlib import Path

import av
import requests
from flask import current_app

from infra.extensions import storage
from slidecast.errors import NotAVideo, NoVideoStream, SlidecastError
from slidecast.video import is_pdf, open_video, probe
from infra.url_guard import BlockedAddress, guarded_session, url_problem
from jobs.upload_readers import reading_upload
from jobs.video_sites import SiteDownloadFailed, fetch_with_ytdlp, wants_ytdlp


class BadVideo(Exception):
    """The file is not a usable video; the message says why, for the person who sent it."""


class DownloadFailed(Exception):
    """video_url could not be fetched; the message says why."""


class DownloadUnavailable(DownloadFailed):
    """video_url's server did not answer now (no connection, timeout, 429/502/503/504): worth
    trying again later. Celery steps retry it with backoff (jobs/steps.TRANSIENT); the thread pool,
    which has no retries, fails the job with this message."""


# HTTP statuses that say "not now" rather than "not this URL".
RETRY_STATUSES = (429, 502, 503, 504)


def video_limits(config) -> dict:
    """The resource limits every video is held to, from the app config: {"seconds", "pixels"}."""
    return {"seconds": config["MAX_VIDEO_SECONDS"], "pixels": config["MAX_VIDEO_PIXELS"]}


def probe_video(path: Path, limits: dict) -> dict:
    """Read `path`'s header with the library's probe (slidecast.video), check it is within
    `limits` (video_limits) before any frame is decoded, then that it is a whole, decodable
    video: its first frame and its end decode.

    Returns {"duration", "width", "height"}; raises BadVideo with a one-line reason.
    """
    if Path(path).stat().st_size == 0:
        raise BadVideo("the file is empty")
    _check_size(*_frame_size(path), limits["pixels"])
    try:
        meta = probe(path)
        _check_size(meta.width, meta.height, limits["pixels"])
        if meta.duration <= 0:
            raise BadVideo("the video has no duration; it may be truncated or a still image")
        if meta.duration > limits["seconds"]:
            raise BadVideo(f"the video lasts {meta.duration:.0f} s, more than the {limits['seconds']:.0f} s "
                           "allowed (MAX_VIDEO_SECONDS)")
        with open_video(path) as container:
            stream = container.streams.video[0]
            if _first_frame(container, stream) is None:
                raise BadVideo("no frame of the video could be decoded")
            _check_tail(container, stream, meta.duration)
        return {"duration": meta.duration, "width": meta.width, "height": meta.height}
    except NoVideoStream:
        raise BadVideo("the file has no video stream") from None
    except NotAVideo:
        raise BadVideo(_not_a_video(path)) from None
    except (SlidecastError, av.FFmpegError, OSError) as exc:
        raise BadVideo(f"the file is not a readable video, or it is truncated ({_reason(exc)})") from None


# Up to this many streams are told to skip decoding while FFmpeg reads their parameters.
_SKIP_DECODING = [{"skip_frame": "all"}] * 16


def _frame_size(path: Path) -> tuple[int, int]:
    """Width and height from the header, no frame decoded: FFmpeg's open decodes a frame to learn
    the stream's parameters unless told to skip (a 16000x16000 frame: 1.4 s and ~600 MB).
    (0, 0) when they cannot be read this way; the library's probe then decides."""
    try:
        with av.open(str(path), stream_options=_SKIP_DECODING) as container:
            if container.streams.video:
                context = container.streams.video[0].codec_context
                return context.width or 0, context.height or 0
    except (av.FFmpegError, OSError):
        pass
    return 0, 0


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise BadVideo(f"the video's frames are {width}x{height} ({width * height / 1e6:.1f} megapixels), "
                       f"more than the {max_pixels / 1e6:.1f} megapixels allowed (MAX_VIDEO_PIXELS)")


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


def _not_a_video(path: Path) -> str:
    if is_pdf(path):
        return "the file is not a readable video: it is a PDF; send the video as `file` and its slides as `deck`"
    return "the file is not a readable video: its format is not one FFmpeg knows"


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).split(":")[0] or type(exc).__name__


def check_video_url(url: str) -> str | None:
    """None if `url` may be downloaded, else why not: http(s) only, and unless
    ALLOW_PRIVATE_VIDEO_URLS a host on a public address (infra/url_guard.py). Needs an app context."""
    return url_problem(url, current_app.config["ALLOW_PRIVATE_VIDEO_URLS"])


def input_video(job, work: Path, report) -> Path:
    """The job's video as a local file: the stored upload, or a download of video_url."""
    if not job.upload_key:
        return _download(job.source_url, work, report)
    target = work / ("input" + Path(job.source_filename or "video.mp4").suffix.lower()[:10])
    with reading_upload(job.id):  # a cancel meanwhile leaves the file to this step to remove
        storage().fetch(job.upload_key, target)
    return target


def _download(url: str, work: Path, report) -> Path:
    """Stream `url` to a file, at most MAX_UPLOAD_MB, then check it is a video."""
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
            if wants_ytdlp(response.url, response.headers.get("Content-Type")):
                target = None  # a page or a playlist: yt-dlp reads it, below
            else:
                total = int(response.headers.get("Content-Length") or 0)
                if total > limit:
                    raise DownloadFailed(f"video_url is {total // 2**20} MB, more than MAX_UPLOAD_MB allows")
                _stream_to(response, target, limit, total, report)
        if target is None:
            target = _fetch_site(url, work, report)
    except BlockedAddress as exc:
        raise DownloadFailed(str(exc)) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise DownloadUnavailable(f"downloading video_url failed: {type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise DownloadFailed(f"downloading video_url failed: {type(exc).__name__}") from None
    probe_video(target, video_limits(current_app.config))
    return target


def _fetch_site(url: str, work: Path, report) -> Path:
    """The video of a page or stream at `url`, by yt-dlp under the same limits and address rule."""
    config = current_app.config
    try:
        return fetch_with_ytdlp(url, work, report, allow_private=config["ALLOW_PRIVATE_VIDEO_URLS"],
                                max_bytes=config["MAX_UPLOAD_MB"] * 1024 * 1024,
                                max_seconds=config["MAX_VIDEO_SECONDS"], timeout=config["DOWNLOAD_TIMEOUT"])
    except SiteDownloadFailed as exc:
        raise DownloadFailed(str(exc)) from None


def _stream_to(response, target: Path, limit: int, total: int, report) -> None:
    size = 0
    with open(target, "wb") as out:
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            if size > limit:
                raise DownloadFailed("video_url is larger than MAX_UPLOAD_MB allows")
            out.write(chunk)
            # Also without a length to measure against: each report is where a cancel is seen.
            report("downloading", size / total if total else 0.0,
                   "downloading" if total else f"downloading: {size / 2**20:.1f} MB so far")
