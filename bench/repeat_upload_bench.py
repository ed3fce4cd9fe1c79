"""Uploading a processed video again: how fast the cached answer comes (target < 100 ms for a
20-minute file).

Starts the app under gunicorn.conf.py in embedded mode (SQLite, files in a temp folder, thread
pool), uploads VIDEO, waits for its job to succeed, then times ROUNDS re-uploads of the same
file, in rotating order:
- ask by hash: SHA-256 of the file computed by the client (as the web page does), then
  POST /api/jobs/repeat {"video_sha256"} -> 200 cached; timed with and without the hashing;
- re-upload: a full multipart POST of the file over loopback (send, parse, SHA-256, look-up)
  -> 200 cached; timed as requests sends it (it first builds the whole multipart body in memory,
  client work) and with that body built before the clock starts (transfer and server only: the
  server's answer, as a browser that streams the file would see it);
- raw re-upload: the file as the whole body (Content-Type video/mp4, what
  `curl --data-binary @talk.mp4` sends), read before the clock starts -> 200 cached;
- new job: the same bytes with other options (ocr=false) -> 202 (probe, store, create; the job
  is cancelled at once).

The multipart and raw re-uploads also report the server's CPU time per request (every thread of
the gunicorn worker, from /proc/PID/task/*/schedstat): unlike wall time, it hardly moves with the
machine's load.

With --against REV (repeatable), another server runs the code of commit REV (exported with git
archive) from the same virtualenv, gets the same first upload, and its multipart re-upload (body
built before timing) and raw-body re-upload are timed in the same rounds: old and new paths side
by side under one load.

    python bench/repeat_upload_bench.py bench/videos/long20u.mp4 [--rounds 15] [--against main ...]

(make the video with `python bench/make_videos.py --only long20u`)
"""

from __future__ import annotations

import argparse
import functools
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


def start(work: Path, root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work}/db.sqlite", "STORAGE_URL": str(work / "data"),
           "REDIS_URL": "", "CELERY_BROKER_URL": "", "WEB_CONCURRENCY": "1", "HOST": "127.0.0.1",
           "PORT": str(port), "RATE_LIMIT_SUBMIT": "off", "LOG_LEVEL": "WARNING", "MAX_UPLOAD_MB": "2000",
           "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"), "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=root, env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(f"{base}/api/health", timeout=2)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def worker_pid(master: subprocess.Popen) -> int:
    """The pid of gunicorn's one worker (WEB_CONCURRENCY=1)."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return int(children[0])


def cpu_ms(pid: int) -> float:
    """CPU time used so far by every thread of process `pid`, in ms."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
            pass
    return total / 1e6


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


def processed(base: str, video: Path) -> tuple[dict, list]:
    """Upload `video` once and wait for its job: (the job, its slides)."""
    first_ms, first = post(base, video)
    started = time.monotonic()
    job = wait_done(base, first.json()["id"])
    assert job["status"] == "succeeded", job
    print(f"{base}: first upload accepted in {first_ms:.0f} ms; processed in {time.monotonic() - started:.0f} s; "
          f"{job['slide_count']} slides, video {job['video']['duration']:.0f} s, "
          f"{video.stat().st_size / 1e6:.1f} MB", flush=True)
    return job, requests.get(f"{base}/api/jobs/{job['id']}/slides", timeout=30).json()["slides"]


def exported(rev: str, into: Path) -> Path:
    """The tree of commit `rev` of this repository, written under `into`."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--against", metavar="REV", action="append", default=[],
                        help="also time the multipart re-upload on commit REV")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="slidecast-repeat-bench-"))
    print(f"load average at the start: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs", flush=True)
    procs = []
    try:
        proc, base = start(work)
        procs.append(proc)
        olds = {}
        for number, rev in enumerate(args.against):
            folder = work / f"old{number}"
            folder.mkdir()
            old_proc, old_base = start(folder, exported(rev, folder))
            procs.append(old_proc)
            olds[rev] = old_base
        pids = {base: worker_pid(proc), **{old_base: worker_pid(p) for old_base, p in zip(olds.values(), procs[1:])}}
        job, slides = processed(base, args.video)
        old_jobs = {rev: processed(old_base, args.video)[0]["id"] for rev, old_base in olds.items()}
        prepared = requests.Request("POST", f"{base}/api/jobs", files={
            "file": (args.video.name, args.video.read_bytes(), "video/mp4")}).prepare()
        raw = args.video.read_bytes()
        session = requests.Session()
        times: dict[str, list[float]] = {}

        def cached(key: str, ms: float, answer: requests.Response, job_id: str) -> None:
            body = answer.json()
            assert answer.status_code == 200 and body["cached"] and body["id"] == job_id, body
            times.setdefault(key, []).append(ms)

        cpu: dict[str, list[float]] = {}

        def sent(key: str, server: str, body: bytes, content_type: str, job_id: str) -> None:
            before = cpu_ms(pids[server])
            ms, answer = post_prepared(session, server, body, content_type)
            cpu.setdefault(key, []).append(cpu_ms(pids[server]) - before)
            cached(key, ms, answer, job_id)

        def ask() -> None:
            with_hash, request_only, answer = ask_by_hash(base, args.video)
            cached("ask", request_only, answer, job["id"])
            times.setdefault("hash", []).append(with_hash)

        def new_job() -> None:
            ms, answer = post(base, args.video, ocr="false")
            assert answer.status_code == 202, answer.text
            times.setdefault("new", []).append(ms)
            requests.post(f"{base}/api/jobs/{answer.json()['id']}/cancel", timeout=30)

        steps = {"ask": ask,
                 "reupload": lambda: cached("reupload", *post(base, args.video), job["id"]),
                 "prepared": lambda: sent("prepared", base, prepared.body, prepared.headers["Content-Type"], job["id"]),
                 "raw": lambda: sent("raw", base, raw, "video/mp4", job["id"]),
                 "new": new_job}
        for rev, old_base in olds.items():
            steps[f"old {rev}"] = functools.partial(sent, f"old {rev}", old_base, prepared.body,
                                                    prepared.headers["Content-Type"], old_jobs[rev])
            steps[f"old raw {rev}"] = functools.partial(sent, f"old raw {rev}", old_base, raw, "video/mp4", old_jobs[rev])
        order = list(steps)
        for round_ in range(args.rounds):
            shift = round_ % len(order)
            for what in order[shift:] + order[:shift]:
                steps[what]()
        again = requests.get(f"{base}/api/jobs/{job['id']}/slides", timeout=30).json()["slides"]
        assert again == slides
        labels = {"ask": "ask by hash: POST /api/jobs/repeat alone (200 cached)",
                  "hash": "ask by hash, with the client hashing the file first",
                  "reupload": "re-upload of the whole file, requests building the body (200 cached)",
                  "prepared": "re-upload of the whole file, body built before timing (200 cached)",
                  **{f"old {rev}": f"the same on {rev} (same rounds)" for rev in olds},
                  "raw": "re-upload as the raw body (Content-Type video/mp4, 200 cached)",
                  **{f"old raw {rev}": f"the same on {rev} (same rounds)" for rev in olds},
                  "new": "same bytes, other options: a new job (202)"}
        print("| what | median ms | min | max | server CPU ms, median (min) |\n|---|---|---|---|---|")
        for key, label in labels.items():
            if got := times.get(key):
                used = f"{statistics.median(cpu[key]):.1f} ({min(cpu[key]):.1f})" if key in cpu else ""
                print(f"| {label} | {statistics.median(got):.1f} | {min(got):.1f} | {max(got):.1f} | {used} |")
        for rev in olds:
            print(f"{rev} / this multipart re-upload, median: "
                  f"{statistics.median(times[f'old {rev}']) / statistics.median(times['prepared']):.2f}x; "
                  f"{rev} / this raw-body re-upload: "
                  f"{statistics.median(times[f'old raw {rev}']) / statistics.median(times['raw']):.2f}x")
            print(f"server CPU, {rev} / this: multipart "
                  f"{statistics.median(cpu[f'old {rev}']) / statistics.median(cpu['prepared']):.2f}x, raw body "
                  f"{statistics.median(cpu[f'old raw {rev}']) / statistics.median(cpu['raw']):.2f}x")
        print("the slides of the cached answers' job are the first job's: yes")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
