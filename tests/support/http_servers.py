"""Small web servers for tests that give the service a video_url: run on a free port of a
loopback address, in a thread, for as long as a `with` block."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def http_server(handler, host: str = "127.0.0.1"):
    """`handler` (a BaseHTTPRequestHandler class) served on `host`; yields the base URL."""
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_folder(folder: Path, host: str = "127.0.0.1"):
    """The files of `folder` served on `host`; yields (base URL, paths requested)."""
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):
            seen.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    with http_server(Handler, host) as base:
        yield base, seen
