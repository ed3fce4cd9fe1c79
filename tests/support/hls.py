"""An HLS stream of a test clip, made at test time with PyAV (served by support.http_servers)."""

from __future__ import annotations

from pathlib import Path

from slidecast.video import remux


def make_hls(clip: Path, folder: Path, segment_seconds: int = 10) -> Path:
    """Cut `clip` into MPEG-TS segments under `folder` (no re-encoding) and write their VOD
    playlist, folder/index.m3u8, whose segment URIs are relative (seg000.ts, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    options = {"hls_time": str(segment_seconds), "hls_list_size": "0", "hls_playlist_type": "vod",
               "hls_segment_filename": str(folder / "seg%03d.ts")}
    remux(clip, folder / "index.m3u8", "hls", options)
    return folder / "index.m3u8"
