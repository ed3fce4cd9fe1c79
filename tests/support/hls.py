"""An HLS stream of a test clip, made at test time with PyAV, and a local web server for it."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
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


@contextmanager
def serve_folder(folder: Path, host: str = "127.0.0.1"):
    """An HTTP server on `host` serving `folder`; yields (base URL, paths requested)."""
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):
            seen.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
