"""API latency: GET /api/jobs/ID of the real app vs a bare Flask route returning constant JSON.

Both run under the same gunicorn settings (gthread, WORKERS x THREADS), one after the other in
alternating rounds, loaded by wrk from this machine over loopback. The real app runs in its
production shape: PostgreSQL for jobs, Redis as the job cache (so a poll is one Redis read).

    python bench/api_bench.py [--rounds 4] [--seconds 8] [--connections 16]

Needs wrk (`apt-get install -y wrk`), PostgreSQL and Redis on 127.0.0.1. Prints a Markdown table
and writes bench/out/api_bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_APP = '''
from flask import Flask, jsonify
app = Flask(__name__)
DOC = {"id": "00000000-0000-4000-8000-000000000000", "status": "running", "stage": "ocr", "progress": 50.0}

@app.get("/api/jobs/<job_id>")
def job(job_id):
    return jsonify(DOC)
'''
GUNICORN_CONF = '''
workers = {workers}
threads = {threads}
worker_class = "gthread"
accesslog = None
errorlog = "-"
loglevel = "warning"
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(module: str, cwd: Path, port: int, conf: Path, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(conf), "-b", f"127.0.0.1:{port}", module],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{module} did not start:\n{proc.stderr.read()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs/x", timeout=1)
            return proc
        except urllib.error.HTTPError:
            return proc  # it answers (404 for a malformed id on the real app)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{module} did not answer within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        proc.wait(30)


def server_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds used so far by a gunicorn master and its workers (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == proc.pid or int(fields[1]) == proc.pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk(url: str, seconds: int, connections: int) -> dict:
    """One wrk run: requests/s and the p50/p99 latency in milliseconds."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url} answered {errors.group(1)} errors:\n{out}")
    return {"rps": rps, "p50_ms": _latency(out, "50%"), "p99_ms": _latency(out, "99%")}


def _latency(out: str, label: str) -> float:
    value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def make_job(database_url: str, redis_url: str, storage: str) -> str:
    """A migrated database with one running job, whose document is in the Redis cache."""
    from flask_migrate import upgrade

    from app import create_app
    from infra.extensions import job_store
    from models import Job
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "STORAGE_URL": storage,
                      "CELERY_BROKER_URL": None, "RECOVER_JOBS_ON_START": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        store = job_store()
        job_id = store.create(Job(executor="celery", source_filename="lecture.mp4", options={"ocr": True}))["id"]
        store.start(job_id, owner=None)
        store.report_progress(job_id, "ocr", 50.0, "reading slide 3 of 6")
    return job_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-admin", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--near-cache-seconds", default=None,
                        help="JOB_NEAR_CACHE_SECONDS for the real app (0: every poll reads Redis)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    import sqlalchemy as sa
    db_name = f"slidecast_bench_{os.getpid()}"
    admin = sa.create_engine(args.database_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
    database_url = admin.url.set(database=db_name).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="slidecast-api-bench-"))
    servers = []
    try:
        job_id = make_job(database_url, args.redis, str(work / "data"))
        (work / "bare_app.py").write_text(BARE_APP)
        conf = work / "gunicorn_bench.py"
        conf.write_text(GUNICORN_CONF.format(workers=args.workers, threads=args.threads))
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=args.redis, STORAGE_URL=str(work / "data"),
                   CELERY_BROKER_URL="", RECOVER_JOBS_ON_START="false", LOG_LEVEL="WARNING")
        env.pop("CELERY_BROKER_URL")
        if args.near_cache_seconds is not None:
            env["JOB_NEAR_CACHE_SECONDS"] = args.near_cache_seconds
        targets = {"bare Flask route": ("bare_app:app", work, "/api/jobs/" + job_id),
                   "GET /api/jobs/ID": ("app:create_app()", ROOT, "/api/jobs/" + job_id)}
        urls = {}
        for name, (module, cwd, path) in targets.items():
            port = free_port()
            servers.append(start_server(module, cwd, port, conf, env))
            urls[name] = f"http://127.0.0.1:{port}{path}"
        for url in urls.values():  # warm up: imports, connection pools
            wrk(url, 2, args.connections)
        runs = {name: [] for name in urls}
        names = list(urls)
        for round_no in range(args.rounds):
            # A-B then B-A: a machine whose load drifts during the run favours neither side.
            for name in names if round_no % 2 == 0 else names[::-1]:
                before = server_cpu(servers[names.index(name)])
                result = wrk(urls[name], args.seconds, args.connections)
                result["cpu_us_per_request"] = round(
                    (server_cpu(servers[names.index(name)]) - before) / (result["rps"] * args.seconds) * 1e6, 1)
                runs[name].append(result)
        report(runs, args)
    finally:
        for proc in servers:
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
    return 0


def report(runs: dict, args) -> None:
    summary = {}
    for name, results in runs.items():
        summary[name] = {"rps": round(sum(r["rps"] for r in results) / len(results), 1),
                         "cpu_us_per_request": round(sorted(r["cpu_us_per_request"] for r in results)[len(results) // 2], 1),
                         "p50_ms": round(sorted(r["p50_ms"] for r in results)[len(results) // 2], 2),
                         "p99_ms": round(sorted(r["p99_ms"] for r in results)[len(results) // 2], 2),
                         "rounds": results}
    bare, real = summary["bare Flask route"]["rps"], summary["GET /api/jobs/ID"]["rps"]
    ratio = real / bare if bare else 0.0
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    setup = {"near_cache_seconds": args.near_cache_seconds, "workers": args.workers, "threads": args.threads, "connections": args.connections,
             "seconds": args.seconds, "rounds": args.rounds, "cpus": os.cpu_count()}
    (out / f"api_bench_near_{args.near_cache_seconds or 'default'}.json").write_text(json.dumps({"setup": setup, "results": summary, "ratio": ratio}, indent=2))
    near = args.near_cache_seconds if args.near_cache_seconds is not None else "default"
    print(f"JOB_NEAR_CACHE_SECONDS={near}; "
          f"gunicorn gthread {args.workers} workers x {args.threads} threads; wrk -t2 -c{args.connections}, "
          f"{args.rounds} alternating rounds of {args.seconds} s each; {os.cpu_count()} CPUs shared with wrk\n")
    print("| endpoint | requests/s (mean) | p50 ms (median) | p99 ms (median) | server CPU us/request (median) |")
    print("|---|---|---|---|---|")
    for name, row in summary.items():
        print(f"| {name} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
              f"{row['cpu_us_per_request']:.0f} |")
    print(f"\nGET /api/jobs/ID reaches {ratio:.0%} of the bare route's requests/s (target >= 70%).")


if __name__ == "__main__":
    sys.exit(main())
