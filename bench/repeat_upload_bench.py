"""Uploading a processed video again: how fast the cached answer comes (target < 100 ms for a
20-minute file).

Starts the app under gunicorn.conf.py in embedded mode (SQLite, files in a temp folder, thread
pool), uploads VIDEO, waits for its job to succeed, then times ROUNDS re-uploads of the same
file, in alternating order:
- ask by hash: SHA-256 of the file computed by the client (as the web page does), then
  POST /api/jobs/repeat {"video_sha256"} -> 200 cached; timed with and without the hashing;
- re-upload: a full multipart POST of the file over loopback (send, save, SHA-256, look-up)
  -> 200 cached; timed as requests sends it (it first builds the whole multipart body in memory,
  client work) and with that body built before the clock starts (transfer and server only: the
  server's answer, as a browser that streams the file would see it);
- new job: the same bytes with other options (ocr=false) -> 202 (probe, store, create; the job
  is cancelled at once).

    python bench/repeat_upload_bench.py bench/videos/long20u.mp4 [--rounds 15]

(make the video with `python bench/make_videos.py --only long20u`)
"""

from __future__ import annotations

import argparse
import hashlib
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


def post_prepared(session: requests.Session, base: str, body: bytes, content_type: str) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = session.post(f"{base}/api/jobs", data=body, headers={"Content-Type": content_type}, timeout=600)
    return (time.perf_counter() - started) * 1000, response


def ask_by_hash(base: str, video: Path) -> tuple[float, float, requests.Response]:
    """(ms with the client's hashing, ms of the request alone, answer)."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    with video.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    asked = time.perf_counter()
    response = requests.post(f"{base}/api/jobs/repeat", json={"video_sha256": digest.hexdigest()}, timeout=60)
    done = time.perf_counter()
    return (done - started) * 1000, (done - asked) * 1000, response


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
        prepared = requests.Request("POST", f"{base}/api/jobs", files={
            "file": (args.video.name, args.video.read_bytes(), "video/mp4")}).prepare()
        session = requests.Session()
        times: dict[str, list[float]] = {"hash": [], "ask": [], "reupload": [], "prepared": [], "new": []}
        for round_ in range(args.rounds):
            order = ["ask", "reupload", "prepared", "new"]
            for what in order[round_ % 4:] + order[:round_ % 4]:
                if what == "ask":
                    with_hash, request_only, answer = ask_by_hash(base, args.video)
                    times["hash"].append(with_hash)
                    times["ask"].append(request_only)
                elif what == "reupload":
                    ms, answer = post(base, args.video)
                    times["reupload"].append(ms)
                elif what == "prepared":
                    ms, answer = post_prepared(session, base, prepared.body, prepared.headers["Content-Type"])
                    times["prepared"].append(ms)
                else:
                    ms, answer = post(base, args.video, ocr="false")
                    assert answer.status_code == 202, answer.text
                    times["new"].append(ms)
                    requests.post(f"{base}/api/jobs/{answer.json()['id']}/cancel", timeout=30)
                    continue
                body = answer.json()
                assert answer.status_code == 200 and body["cached"] and body["id"] == job["id"], body
        again = requests.get(f"{base}/api/jobs/{job['id']}/slides", timeout=30).json()["slides"]
        assert again == slides
        labels = {"ask": "ask by hash: POST /api/jobs/repeat alone (200 cached)",
                  "hash": "ask by hash, with the client hashing the file first",
                  "reupload": "re-upload of the whole file, requests building the body (200 cached)",
                  "prepared": "re-upload of the whole file, body built before timing (200 cached)",
                  "new": "same bytes, other options: a new job (202)"}
        print("| what | median ms | min | max |\n|---|---|---|---|")
        for key, label in labels.items():
            got = times[key]
            print(f"| {label} | {statistics.median(got):.1f} | {min(got):.1f} | {max(got):.1f} |")
        print("the slides of the cached answers' job are the first job's: yes")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
