"""What metrics cost: GET /api/jobs/ID with and without the request hooks, and a /metrics scrape,
under real gunicorn (2 workers, multiprocess mode, embedded SQLite), side by side in one run.

    .venv/bin/python bench/ops_metrics_bench.py [REQUESTS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ops_helpers import free_port, start, stop, wait_http  # noqa: E402


def serve(folder: Path, metrics: bool):
    folder.mkdir(parents=True, exist_ok=True)
    env = {"DATABASE_URL": f"sqlite:///{folder / 'b.db'}", "STORAGE_URL": str(folder / "data"), "REDIS_URL": "",
           "CELERY_BROKER_URL": "", "RECOVER_JOBS_ON_START": "false", "WEB_CONCURRENCY": "2",
           "HOST": "127.0.0.1", "PORT": str(free_port()), "METRICS_ENABLED": str(metrics).lower(),
           "PROMETHEUS_MULTIPROC_DIR": str(folder / f"prom-{metrics}"), "LOG_LEVEL": "WARNING"}
    migrate = start([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], env)
    migrate.wait(60)
    proc = start([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"], env)
    base = f"http://127.0.0.1:{env['PORT']}"
    wait_http(base + "/api/docs", proc, "gunicorn")
    return proc, base


def timed(url: str, count: int) -> list[float]:
    session = requests.Session()

    def one(_):
        started = time.perf_counter()
        session.get(url, timeout=10)
        return time.perf_counter() - started

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


def report(name: str, samples: list[float], wall: float) -> None:
    samples = sorted(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"{name:<34} {len(samples) / wall:8.0f} req/s   p50 {statistics.median(samples) * 1000:6.2f} ms"
          f"   p99 {p99 * 1000:6.2f} ms")


def main(count: int = 2000, rounds: int = 3) -> None:
    """Both servers run side by side; batches alternate between them so that load from other work
    on the machine falls on both alike."""
    job = "00000000-0000-4000-8000-000000000000"  # unknown id: a 404 problem+json, one DB read
    with tempfile.TemporaryDirectory() as tmp:
        servers = {metrics: serve(Path(tmp) / str(metrics), metrics) for metrics in (False, True)}
        try:
            samples = {False: [], True: []}
            walls = {False: 0.0, True: 0.0}
            for metrics, (_, base) in servers.items():
                timed(f"{base}/api/jobs/{job}", 200)  # warm up
            for _ in range(rounds):
                for metrics, (_, base) in servers.items():
                    started = time.perf_counter()
                    samples[metrics] += timed(f"{base}/api/jobs/{job}", count // rounds)
                    walls[metrics] += time.perf_counter() - started
            for metrics in (False, True):
                report(f"GET /api/jobs/ID metrics={'on' if metrics else 'off'}", samples[metrics], walls[metrics])
            base = servers[True][1]
            started = time.perf_counter()
            scrapes = timed(f"{base}/metrics", 200)
            report("GET /metrics (scrape)", scrapes, time.perf_counter() - started)
        finally:
            for proc, _ in servers.values():
                stop(proc)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
