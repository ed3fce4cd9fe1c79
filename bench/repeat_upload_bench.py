"""Uploading a processed video again: how fast the cached answer comes (target < 100 ms for a
20-minute file).

Starts the app under gunicorn.conf.py in embedded mode (SQLite, files in a temp folder, thread
pool), uploads VIDEO, waits for its job to succeed, then times ROUNDS re-uploads of the same
file (each a full multipart POST over loopback: send, save, SHA-256, look-up) and, side by
side in alternating order, ROUNDS uploads of the same bytes with other options (ocr=false),
which are accepted as new jobs (probe, store, create; those jobs are cancelled at once).

    python bench/repeat_upload_bench.py bench/videos/long20u.mp4 [--rounds 15]

(make the video with `python bench/make_videos.py --only long20u`)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work}/db.sqlite", "STORAGE_URL": str(work / "data"),
           "REDIS_URL": "", "CELERY_BROKER_URL": "", "WEB_CONCURRENCY": "1", "HOST": "127.0.0.1",
           "PORT": str(port), "RATE_LIMIT_SUBMIT": "off", "LOG_LEVEL": "WARNING", "MAX_UPLOAD_MB": "2000",
           "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(f"{base}/api/health", timeout=2)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def post(base: str, video: Path, **fields) -> tuple[float, requests.Response]:
    with video.open("rb") as fh:
        started = time.perf_counter()
        response = requests.post(f"{base}/api/jobs", files={"file": (video.name, fh, "video/mp4")}, data=fields,
                                 timeout=600)
        return (time.perf_counter() - started) * 1000, response


def wait_done(base: str, job_id: str) -> dict:
    while True:
        job = requests.get(f"{base}/api/jobs/{job_id}", timeout=10).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="slidecast-repeat-bench-"))
    proc, base = start(work)
    try:
        first_ms, first = post(base, args.video)
        started = time.monotonic()
        job = wait_done(base, first.json()["id"])
        assert job["status"] == "succeeded", job
        print(f"first upload accepted in {first_ms:.0f} ms; processed in {time.monotonic() - started:.0f} s; "
              f"{job['slide_count']} slides, video {job['video']['duration']:.0f} s, "
              f"{args.video.stat().st_size / 1e6:.1f} MB", flush=True)
        slides = requests.get(f"{base}/api/jobs/{job['id']}/slides", timeout=30).json()["slides"]
        cached, fresh = [], []
        for round_ in range(args.rounds):
            order = (True, False) if round_ % 2 == 0 else (False, True)
            for repeat in order:
                ms, answer = post(base, args.video) if repeat else post(base, args.video, ocr="false")
                if repeat:
                    body = answer.json()
                    assert answer.status_code == 200 and body["cached"] and body["id"] == job["id"], body
                    cached.append(ms)
                else:
                    assert answer.status_code == 202, answer.text
                    fresh.append(ms)
                    requests.post(f"{base}/api/jobs/{answer.json()['id']}/cancel", timeout=30)
        again = requests.get(f"{base}/api/jobs/{job['id']}/slides", timeout=30).json()["slides"]
        assert again == slides
        c, f = statistics.median(cached), statistics.median(fresh)
        print(f"| re-upload, cached (200) | {c:.1f} ms | {min(cached):.1f} | {max(cached):.1f} |")
        print(f"| same bytes, other options: new job (202) | {f:.1f} ms | {min(fresh):.1f} | {max(fresh):.1f} |")
        print(f"ratio cached/new: {c / f:.2f}; the cached answer's slides equal the first job's: yes")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
