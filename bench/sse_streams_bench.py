"""How many open event streams (GET /api/jobs/ID/events) one web instance holds.

Starts the real app under gunicorn (gthread, 1 worker, THREADS threads, SSE_MAX_STREAMS =
THREADS - 4), Redis as cache and event log, SQLite as the database and a broker with no
worker, so the submitted job stays queued. Then, for each N in --streams: opens N streams on the
job, measures GET /api/jobs/ID latency while they are open (median of 50) against the same with
no stream open, the worker's RSS, cancels the job and measures how long until every stream has
received the final `cancelled` frame and ended.

    python bench/sse_streams_bench.py [--streams 50,200,500] [--redis redis://127.0.0.1:6379/9]
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(base: str, path: str, method: str = "GET", data: bytes | None = None, headers=None):
    req = urllib.request.Request(base + path, method=method, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as response:
        return response.status, response.read()


def start(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                            cwd=ROOT, env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(300):
        try:
            request(f"http://127.0.0.1:{port}", "/api/health")
            return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def open_streams(port: int, job_id: str, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"GET /api/jobs/{job_id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode())
        socks.append(sock)
    return socks


def wait_for(socks: list[socket.socket], marker: bytes, timeout: float) -> tuple[int, float]:
    """Read every socket until each has shown `marker`; (how many did, seconds it took)."""
    started = time.monotonic()
    seen: dict[socket.socket, bytes] = {s: b"" for s in socks}
    done = 0
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    while done < len(socks) and time.monotonic() - started < timeout:
        for key, _ in selector.select(timeout=1):
            chunk = key.fileobj.recv(65536)
            seen[key.fileobj] += chunk
            if marker in seen[key.fileobj] or not chunk:
                done += marker in seen[key.fileobj]
                selector.unregister(key.fileobj)
    selector.close()
    return done, time.monotonic() - started


def poll_latency(base: str, job_id: str, rounds: int = 50) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        request(base, f"/api/jobs/{job_id}")
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def rss_mb(master: int) -> float:
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    total = 0
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def run(count: int, redis_url: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix="slidecast-sse-bench-"))
    threads = count + 8
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work}/db.sqlite", "STORAGE_URL": str(work / "data"),
           "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "WEB_CONCURRENCY": "1",
           "WEB_THREADS": str(threads), "SSE_MAX_STREAMS": str(count + 4), "LOG_LEVEL": "WARNING",
           "RATE_LIMIT_SUBMIT": "", "ALLOW_PRIVATE_VIDEO_URLS": "true", "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    port = free_port()
    proc = start(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        body = json.dumps({"video_url": "http://127.0.0.1:9/lecture.mp4"}).encode()
        _, answer = request(base, "/api/jobs", "POST", body, {"Content-Type": "application/json"})
        job_id = json.loads(answer)["id"]  # queued on a broker no worker reads: it stays queued
        idle_ms, idle_rss = poll_latency(base, job_id), rss_mb(proc.pid)
        socks = open_streams(port, job_id, count)
        opened, open_seconds = wait_for(socks, b"event: created", 60)
        busy_ms, busy_rss = poll_latency(base, job_id), rss_mb(proc.pid)
        request(base, f"/api/jobs/{job_id}/cancel", "POST")
        ended, end_seconds = wait_for(socks, b"event: cancelled", 60)
        for sock in socks:
            sock.close()
        return {"streams": count, "threads": threads, "opened": opened, "open_s": round(open_seconds, 2),
                "poll_ms_idle": round(idle_ms, 2), "poll_ms_streams_open": round(busy_ms, 2),
                "rss_mb_idle": round(idle_rss), "rss_mb_streams_open": round(busy_rss),
                "got_final": ended, "final_to_all_s": round(end_seconds, 2)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:  # graceful stop of a thousand threads can outlast it
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", default="50,200,500")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()
    print("| streams | gunicorn threads | opened | got the final frame | all final after | "
          "poll median idle | poll median with streams | worker RSS idle | RSS with streams |")
    print("|---|---|---|---|---|---|---|---|---|")
    for count in args.streams.split(","):
        r = run(int(count), args.redis)
        print(f"| {r['streams']} | {r['threads']} | {r['opened']} | {r['got_final']} | {r['final_to_all_s']} s | "
              f"{r['poll_ms_idle']} ms | {r['poll_ms_streams_open']} ms | {r['rss_mb_idle']} MB | "
              f"{r['rss_mb_streams_open']} MB |", flush=True)


if __name__ == "__main__":
    main()
