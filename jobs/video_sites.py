"""A video_url that is a page or a stream rather than a video file (a video site's page, an HLS
playlist) is fetched with yt-dlp, under the same address rule as direct downloads.

Every connection yt-dlp opens goes through one request handler: yt-dlp's own requests-based
handler with its urllib3 pools swapped for infra/url_guard's, which check the address each TCP
connection actually reached (redirects, playlist segments, a name that resolves elsewhere by
now) before a byte is sent. No other way out is left open: yt-dlp is given only that handler,
downloads natively (no ffmpeg or other external downloader, which would open connections of
their own), takes single-file formats over http(s) or HLS, and refuses live streams.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from yt_dlp import YoutubeDL
from yt_dlp.networking._requests import RequestsRH  # the handler yt-dlp prefers; see docs/dependencies.md
from yt_dlp.networking.exceptions import RequestError, TransportError
from yt_dlp.utils import DownloadError

from infra.url_guard import BlockedAddress, guard_pool_manager
from slidecast.video import mpegts_as_mp4

log = logging.getLogger("slidecast.jobs")
# Content types (and path endings) of a video_url that yt-dlp reads instead of a direct download.
PAGE_TYPES = ("text/html", "application/xhtml+xml", "application/vnd.apple.mpegurl", "application/x-mpegurl",
              "audio/mpegurl", "audio/x-mpegurl")
PLAYLIST_ENDINGS = (".m3u8", ".m3u")
# Single files fetched natively: a direct http(s) format first, else an HLS one.
FORMATS = "b[protocol^=http]/b[protocol^=m3u8]"


class SiteDownloadFailed(Exception):
    """yt-dlp could not fetch the video; str() says why, for the person who sent the URL."""


def wants_ytdlp(url: str, content_type: str | None) -> bool:
    """True when `url`, answered with `content_type`, is a page or a playlist, not a video file."""
    media = (content_type or "").split(";")[0].strip().lower()
    path = url.split("?")[0].split("#")[0].lower()
    return media in PAGE_TYPES or path.endswith(PLAYLIST_ENDINGS)


class _GuardedRequestsRH(RequestsRH):
    """yt-dlp's requests handler whose direct connections keep to public addresses; a refusal is
    recorded in `refusals` (yt-dlp retries and rewords errors) and ends the request."""

    refusals: list[str] = []  # replaced per download by _handler_class

    def _create_instance(self, cookiejar, legacy_ssl_support=None):
        session = super()._create_instance(cookiejar, legacy_ssl_support)
        for adapter in session.adapters.values():
            guard_pool_manager(adapter.poolmanager)
        return session

    def _send(self, request):
        try:
            return super()._send(request)
        except BlockedAddress as exc:
            self.refusals.append(str(exc))
            raise TransportError(str(exc)) from None


class _OneHandlerYoutubeDL(YoutubeDL):
    """YoutubeDL whose every request goes through one handler class."""

    def __init__(self, params: dict, handler: type):
        self._only_handler = handler
        super().__init__(params)

    @functools.cached_property
    def _request_director(self):
        return self.build_request_director([self._only_handler])


def fetch_with_ytdlp(url: str, work: Path, report, *, allow_private: bool, max_bytes: int, max_seconds: float,
                     timeout: float) -> Path:
    """Download the video of the page or stream at `url` into `work`; its path. Raises
    SiteDownloadFailed with a sentence a person can act on."""
    refusals: list[str] = []
    handler = RequestsRH if allow_private else type("GuardedRequestsRH", (_GuardedRequestsRH,),
                                                     {"refusals": refusals})
    params = _params(work, timeout, _progress_hook(report, max_bytes))
    try:
        with _OneHandlerYoutubeDL(params, handler) as ydl:
            info = ydl.extract_info(url, download=False)
            _check(info, max_seconds)
            done = ydl.process_ie_result(info, download=True)
    except (DownloadError, RequestError) as exc:
        raise SiteDownloadFailed(refusals[0] if refusals else _reworded(exc)) from None
    except _TooLarge:
        raise SiteDownloadFailed(f"the video at video_url is larger than the {max_bytes // 2**20} MB "
                                 "allowed (MAX_UPLOAD_MB)") from None
    if refusals:  # a refused connection that yt-dlp worked around (another format) still fails
        raise SiteDownloadFailed(refusals[0])
    paths = [Path(d["filepath"]) for d in done.get("requested_downloads") or [] if d.get("filepath")]
    if not paths or not paths[0].is_file():
        raise SiteDownloadFailed("yt-dlp found no video it could download at video_url")
    return _as_mp4(paths[0], work / "site-video-remuxed.mp4")


def _as_mp4(path: Path, target: Path) -> Path:
    """An HLS download is MPEG-TS (yt-dlp would remux it with ffmpeg, which is kept out): copied
    into MP4 with PyAV, packets unchanged, as an uploaded MPEG-TS file is (api/jobs.py)."""
    if not mpegts_as_mp4(path, target):
        return path
    path.unlink()
    return target


def _params(work: Path, timeout: float, hook) -> dict:
    return {
        "outtmpl": str(work / "site-video.%(ext)s"),
        "format": FORMATS, "noplaylist": True, "playlist_items": "1",
        # Native downloads only: ffmpeg or another external program would open connections of
        # its own, outside the guard (an empty folder as ffmpeg's location keeps it out).
        "external_downloader": {"default": "native"}, "hls_prefer_native": True,
        "ffmpeg_location": str(work / "no-ffmpeg"), "fixup": "never",
        "skip_unavailable_fragments": False,  # a missing segment fails, not a silently shorter video
        "socket_timeout": timeout, "retries": 2, "fragment_retries": 2, "extractor_retries": 1,
        "cachedir": False, "overwrites": True, "quiet": True, "noprogress": True, "color": "no_color",
        "logger": _Log(), "progress_hooks": [hook],
    }


class _TooLarge(Exception):
    pass


class _Log:
    """yt-dlp's messages into the service log (its errors reach the job through exceptions)."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        log.info("yt-dlp: %s", message)

    error = warning


def _progress_hook(report, max_bytes: int):
    def hook(status: dict) -> None:
        if status.get("status") != "downloading":
            return
        done = status.get("downloaded_bytes") or 0
        if done > max_bytes:
            raise _TooLarge()
        if status.get("fragment_count"):
            fraction = (status.get("fragment_index") or 0) / status["fragment_count"]
        else:
            total = status.get("total_bytes") or status.get("total_bytes_estimate") or 0
            fraction = done / total if total else 0.0
        report("downloading", min(fraction, 1.0), "downloading")
    return hook


def _check(info: dict, max_seconds: float) -> None:
    if info.get("_type") in ("playlist", "multi_video"):
        raise SiteDownloadFailed("video_url is a playlist of several videos: give the URL of one video")
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise SiteDownloadFailed("video_url is a live stream: give it again once the recording is published")
    duration = info.get("duration")
    if duration and duration > max_seconds:
        raise SiteDownloadFailed(f"the video at video_url lasts {duration:.0f} s, more than the "
                                 f"{max_seconds:.0f} s allowed (MAX_VIDEO_SECONDS)")


# "ERROR: [generic] VIDEO_ID: Unable to ... (caused by ...); please report this issue ..."
_NOISE = re.compile(r"^(ERROR: )?(\[[\w:]+\] [^\s:]+: )?(\[[\w:]+\] )?| \(caused by .*$|;? ?please report this issue.*$",
                    re.IGNORECASE | re.DOTALL)


def _reworded(exc: Exception) -> str:
    """yt-dlp's one-line error without its prefixes, as the reason video_url failed."""
    text = _NOISE.sub("", str(exc).strip().splitlines()[0]).strip()
    if "Unsupported URL" in text:
        return "video_url is neither a video file nor a page or stream yt-dlp knows how to read"
    return f"fetching video_url with yt-dlp failed: {text[:500]}"
