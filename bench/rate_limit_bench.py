"""Rate limits under a burst: 1000 requests from one API key at both submit routes and at
polling, against real gunicorn workers (AUTH_REQUIRED, PostgreSQL; Redis or not).

Key A sends SUBMITS submissions, alternating POST /api/jobs and POST /api/extract (JSON with a
video_url on a refused address: each passes the limiter and is refused 422, so no job runs), and
READS polls of GET /api/jobs, from CONCURRENCY threads at once. Then key B sends a few of each.
Counted: answers per status. The limit holds when key A gets exactly RATE_LIMIT_SUBMIT
submissions and RATE_LIMIT_READ reads through in total, whatever route and worker answered, and
key B gets no 429. Latency: p50/p99 of the allowed requests (not 429).

    python bench/rate_limit_bench.py [--workers 4] [--submits 500] [--reads 500] [--concurrency 16]

Runs twice, side by side: with REDIS_URL (one counter for every worker) and without (embedded
mode: each worker counts alone). Needs PostgreSQL and Redis on 127.0.0.1 (Redis db 13 is
flushed). Prints a Markdown table and writes bench/out/rate_limit_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "bench" / "faults")]
os.environ.setdefault("RECOVER_JOBS_ON_START", "false")

from api_bench import free_port, start_server, stop_server  # noqa: E402
from common import pg_database  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/13"
SUBMIT_LIMIT, READ_LIMIT = 30, 300
REFUSED = {"video_url": "http://127.0.0.1:9/lecture.mp4"}
GUNICORN_CONF = "workers = {workers}\nthreads = 4\nworker_class = 'gthread'\naccesslog = None\nloglevel = 'warning'\n"


def make_key(env: dict, name: str) -> str:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "keys", "create", name], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    return out.split()[-1]


def one(session: requests.Session, base: str, key: str, kind: str, n: int) -> tuple[str, int, float]:
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    if kind == "submit":
        route = "/api/jobs" if n % 2 == 0 else "/api/extract"
        status = session.post(base + route, json=REFUSED, headers=headers, timeout=30).status_code
    else:
        status = session.get(base + "/api/jobs?per_page=5", headers=headers, timeout=30).status_code
    return kind, status, (time.perf_counter() - started) * 1000


def burst(base: str, key: str, submits: int, reads: int, concurrency: int) -> list[tuple[str, int, float]]:
    kinds = [("submit", n) for n in range(submits)] + [("read", n) for n in range(reads)]
    kinds.sort(key=lambda item: item[1])  # interleave submissions and reads
    sessions = [requests.Session() for _ in range(concurrency)]
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(one, sessions[i % concurrency], base, key, kind, n)
                   for i, (kind, n) in enumerate(kinds)]
        return [f.result() for f in futures]


def summary(results) -> dict:
    out = {}
    for kind in ("submit", "read"):
        rows = [r for r in results if r[0] == kind]
        allowed = sorted(ms for _, status, ms in rows if status != 429)
        out[kind] = {"sent": len(rows), "statuses": dict(Counter(status for _, status, _ in rows)),
                     "allowed": len(allowed), "refused_429": sum(1 for _, s, _ in rows if s == 429),
                     "p50_ms": round(statistics.median(allowed), 1) if allowed else None,
                     "p99_ms": round(allowed[min(len(allowed) - 1, int(len(allowed) * 0.99))], 1) if allowed else None}
    return out


def run(mode: str, db_url: str, args) -> dict:
    env = dict(os.environ, DATABASE_URL=db_url, AUTH_REQUIRED="true", RECOVER_JOBS_ON_START="false",
               RATE_LIMIT_SUBMIT=f"{SUBMIT_LIMIT} per minute", RATE_LIMIT_READ=f"{READ_LIMIT} per minute",
               LOG_LEVEL="WARNING", STORAGE_URL=tempfile.mkdtemp(prefix="slidecast-bench-rl-"),
               PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="slidecast-bench-rl-prom-"))
    env.pop("CELERY_BROKER_URL", None)
    if mode == "redis":
        env["REDIS_URL"] = REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    redis.Redis.from_url(REDIS_URL).flushdb()
    keys = {"A": make_key(env, f"burst-{mode}"), "B": make_key(env, f"quiet-{mode}")}
    conf = Path(tempfile.mkstemp(suffix=".py")[1])
    conf.write_text(GUNICORN_CONF.format(workers=args.workers))
    port = free_port()
    server = start_server("app:create_app()", ROOT, port, conf, env)
    try:
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        a = burst(base, keys["A"], args.submits, args.reads, args.concurrency)
        seconds = time.perf_counter() - started
        b = burst(base, keys["B"], 10, 20, 4)
    finally:
        stop_server(server)
    return {"mode": mode, "workers": args.workers, "seconds": round(seconds, 2),
            "key_a": summary(a), "key_b": summary(b)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--submits", type=int, default=500)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    runs = []
    for mode in ("redis", "embedded"):
        with pg_database() as db_url:
            runs.append(run(mode, db_url, args))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "rate_limit_bench.json").write_text(json.dumps(runs, indent=2))
    report(runs)
    return 0


def report(runs: list[dict]) -> None:
    print(f"limits: RATE_LIMIT_SUBMIT={SUBMIT_LIMIT}/min, RATE_LIMIT_READ={READ_LIMIT}/min\n")
    print("| counters | key | kind | sent | allowed | 429 | p50 ms (allowed) | p99 ms (allowed) |")
    print("|---|---|---|---|---|---|---|---|")
    for run_ in runs:
        for key in ("key_a", "key_b"):
            for kind in ("submit", "read"):
                s = run_[key][kind]
                print(f"| {run_['mode']} ({run_['workers']} workers) | {key[-1].upper()} | {kind} | {s['sent']} | "
                      f"{s['allowed']} | {s['refused_429']} | {s['p50_ms']} | {s['p99_ms']} |")


if __name__ == "__main__":
    raise SystemExit(main())
