"""What a client of the real server (gunicorn.conf.py) sees at the HTTP level: a large upload
read straight from gunicorn's socket (api/request_body.py) is stored and hashed exactly as sent,
on a connection that keeps serving; requests gunicorn refuses itself are problem+json."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import requests

from support.ops_helpers import start_gunicorn, stop

OPTIONS = {"ocr": "false", "pdf": "false", "notes": "false", "chapters": "false"}


@pytest.fixture(params=["64", "1"], ids=["held-in-memory", "written-as-it-arrives"])
def gunicorn_base(request, tmp_path, embedded_app):
    """gunicorn (one worker) on the embedded app's migrated SQLite database: its base URL. An
    upload up to UPLOAD_MEMORY_MB is held in memory until its hash is known: with 1, the test
    video goes to disk half way through."""
    proc, base = start_gunicorn(tmp_path, embedded_app.config["SQLALCHEMY_DATABASE_URI"], workers=1,
                                UPLOAD_MEMORY_MB=request.param)
    yield base
    stop(proc, signal.SIGINT)


@pytest.fixture(scope="module")
def noisy_video(tmp_path_factory) -> Path:
    """A valid H.264 video of several MiB (lossless noise), so its body spans many reads."""
    path = tmp_path_factory.mktemp("noise") / "noise.mp4"
    rng = np.random.default_rng(7)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for _ in range(20):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert path.stat().st_size > 4 * 1024 * 1024
    return path


def test_a_large_upload_is_hashed_as_sent_and_the_connection_goes_on(gunicorn_base, noisy_video):
    data = noisy_video.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with requests.Session() as session:  # one keep-alive connection for every request
        first = session.post(f"{gunicorn_base}/api/jobs", files={"file": ("noise.mp4", data, "video/mp4")}, data=OPTIONS)
        assert first.status_code == 202, first.text
        job = first.json()
        assert job["video"]["sha256"] == digest
        raw = session.post(f"{gunicorn_base}/api/jobs", params=OPTIONS, data=data, headers={"Content-Type": "video/mp4"})
        assert raw.status_code in (200, 202) and raw.json()["id"] == job["id"], raw.text
        asked = session.post(f"{gunicorn_base}/api/jobs/repeat",
                             json={"video_sha256": digest, **{k: False for k in OPTIONS}})
        assert asked.json()["id"] == job["id"], asked.text
        deadline = time.monotonic() + 120
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = session.get(f"{gunicorn_base}/api/jobs/{job['id']}").json()
        assert job["status"] == "succeeded", job
        # the library hashes the stored file itself: the bytes written are the bytes sent
        assert session.get(f"{gunicorn_base}/api/jobs/{job['id']}/manifest").json()["video"]["sha256"] == digest


def _raw_answer(base: str, request: bytes) -> tuple[str, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}, body


@pytest.mark.parametrize("gunicorn_base", ["64"], indirect=True)
def test_a_url_too_long_is_a_json_414_that_says_what_to_do(gunicorn_base):
    answer = requests.get(f"{gunicorn_base}/api/jobs", params={"status": "x" * 5000})
    assert answer.status_code == 414
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 414 and "query string" in problem["detail"] and "4094" in problem["detail"]


@pytest.mark.parametrize("gunicorn_base", ["64"], indirect=True)
def test_a_malformed_request_line_is_a_json_400(gunicorn_base):
    status, headers, body = _raw_answer(gunicorn_base, b"GET /api/health HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    assert status.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 400 and "HTTP/1.1" in problem["detail"]
