"""Job-status cache hit rate under a burst of status polls, on PostgreSQL + Redis.

    .venv/bin/python bench/cache_hit_bench.py [--polls 1000] [--jobs 10] [--clients 8]

The service in its production shape: gunicorn (2 workers x 4 threads), jobs in a throwaway
PostgreSQL database, a private redis-server as job cache and broker, one Celery worker (so the
jobs move from queued to running to succeeded during the burst and their documents change under
the polls). --jobs uploads of a short synthetic lecture are
submitted, then --polls GET /api/jobs/ID are sent at once by --clients threads, round robin over
the jobs, once one of them runs.

Measured from /metrics (slidecast_job_reads_total by source, summed over both workers): a hit is
a read answered by a process's near cache or by Redis, a miss one that read the database. Also
printed: Redis's own keyspace hits and misses over the burst from /api/cache/stats (the private
server serves only this run; its counts also include the broker's and the worker's own reads, so
they are not the poll hit rate). Exits 1 when the hit
rate is under 95 %, when the reads counted are not one per poll, or when a poll failed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench" / "faults"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
from common import RedisServer, Workers, exit_status, pg_database, wait_for  # noqa: E402
from ops_helpers import free_port, scrape, start, stop, value, wait_http  # noqa: E402

SOURCES = ("near", "cache", "database")
TARGET = 0.95


def lecture(path: Path) -> Path:
    from slidecast.synthetic import SlideSpec, clip_spec, render_lecture
    render_lecture(clip_spec("cuts", width=320, height=180, slides=[SlideSpec(i, 3.0) for i in (1, 2, 3, 4)]), path)
    return path


def reads(base: str) -> dict:
    samples = scrape(lambda path: requests.get(base + path, timeout=10))
    return {source: value(samples, "slidecast_job_reads_total", source=source) for source in SOURCES}


def redis_counts(base: str) -> tuple[int, int]:
    stats = requests.get(base + "/api/cache/stats", timeout=10).json()
    return stats["hits"], stats["misses"]


def burst(base: str, ids: list[str], polls: int, clients: int) -> tuple[dict, float]:
    urls = itertools.islice(itertools.cycle(f"{base}/api/jobs/{job_id}" for job_id in ids), polls)
    session = requests.Session()
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        codes = list(pool.map(lambda url: session.get(url, timeout=10).status_code, urls))
    return {str(code): codes.count(code) for code in set(codes)}, time.perf_counter() - began


def run(args, folder: Path, db_url: str, redis: RedisServer) -> dict:
    storage = str(folder / "data")
    env = {"DATABASE_URL": db_url, "REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url, "STORAGE_URL": storage,
           "RECOVER_JOBS_ON_START": "false", "RATE_LIMIT_SUBMIT": "off", "WEB_CONCURRENCY": "2", "WEB_THREADS": "4",
           "HOST": "127.0.0.1", "PORT": str(free_port()), "LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(folder / "prom")}
    (folder / "prom").mkdir()
    server = start([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"], env)
    worker = Workers(1, folder, db_url, redis.url, redis.url, storage)
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_http(base + "/api/health", server, "gunicorn")
        clip = lecture(folder / "lecture.mp4")
        ids = []
        for i in range(args.jobs):  # each its own sensitivity: a repeated upload is answered with the first job
            with clip.open("rb") as video:
                answer = requests.post(base + "/api/jobs", files={"file": ("lecture.mp4", video)},
                                       data={"ocr": "false", "transcribe": "false",
                                             "sensitivity": str(round(0.3 + 0.4 * i / args.jobs, 4))}, timeout=60)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
        assert len(set(ids)) == len(ids), "a repeated upload was answered with an earlier job"
        statuses = lambda: [requests.get(f"{base}/api/jobs/{job_id}", timeout=10).json()["status"]  # noqa: E731
                            for job_id in ids]
        wait_for(lambda: "running" in statuses(), "a job to start", limit=120, step=0.2)
        statuses_before = statuses()  # before the counts: these reads are not the burst's
        before, redis_before = reads(base), redis_counts(base)
        codes, seconds = burst(base, ids, args.polls, args.clients)
        after, redis_after = reads(base), redis_counts(base)
        statuses_after = statuses()
    finally:
        stop(server)
        worker.stop()
    counted = {source: int(after[source] - before[source]) for source in SOURCES}
    total = sum(counted.values())
    hits = counted["near"] + counted["cache"]
    return {"polls": args.polls, "jobs": args.jobs, "clients": args.clients, "poll_answers": codes,
            "polls_per_second": round(args.polls / seconds), "reads": counted,
            "hit_rate": round(hits / total, 4) if total else None,
            "redis_keyspace": {"hits": redis_after[0] - redis_before[0], "misses": redis_after[1] - redis_before[1]},
            "job_statuses_before": {s: statuses_before.count(s) for s in set(statuses_before)},
            "job_statuses_after": {s: statuses_after.count(s) for s in set(statuses_after)}}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slidecast-cache-hits-") as tmp:
        folder = Path(tmp)
        server = RedisServer(folder)
        try:
            with pg_database() as db_url:
                report = run(args, folder, db_url, server)
        finally:
            server.stop()
    print(json.dumps(report, indent=2))
    return exit_status({f"hit rate under {TARGET:.0%}": (report["hit_rate"] or 0) < TARGET,
                        "reads counted are not one per poll": sum(report["reads"].values()) != args.polls,
                        "a poll was not answered 200": set(report["poll_answers"]) != {"200"}})

if __name__ == "__main__":
    raise SystemExit(main())
