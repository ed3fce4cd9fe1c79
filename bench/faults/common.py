"""Shared pieces of the slow fault benchmarks (bench/faults/*.py; results in docs/distributed.md).

Everything runs against real services started here and removed afterwards: a throwaway
redis-server (AOF on, like a production broker), a throwaway PostgreSQL database (or cluster),
real `celery worker` processes, and the Flask app in this process.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RECOVER_JOBS_ON_START", "false")

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from celery_config import QUEUES  # noqa: E402

FINAL = ("succeeded", "failed", "cancelled")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, limit: float = 120.0, step: float = 0.2):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(step)
    raise TimeoutError(f"gave up waiting for {what} after {limit:.0f} s")


class RedisServer:
    """A private redis-server with an append-only file, restartable on the same port and data."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                                      "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        wait_for(self._pings, "redis-server")

    def _pings(self):
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@contextmanager
def pg_database(admin_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"):
    """A throwaway database on the machine's PostgreSQL, migrated; dropped afterwards."""
    name = f"slidecast_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrate(db_url: str) -> None:
    from flask_migrate import upgrade
    app = make_web(db_url, None, None, "/tmp")
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


def make_web(db_url, redis_url, broker_url, storage_url, **config):
    from app import create_app
    # RATE_LIMIT_SUBMIT off: the bench submits bursts of hundreds of jobs from one address.
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": broker_url,
                      "RATE_LIMIT_SUBMIT": None,
                      "STORAGE_URL": storage_url, "RECOVER_JOBS_ON_START": False, **config})
    app.config["TESTING"] = True
    return app


class Workers:
    """`count` solo-pool Celery workers on every queue; logs in `folder`."""

    def __init__(self, count, folder: Path, db_url, redis_url, broker_url, storage_url, **env):
        self.env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=redis_url or "", CELERY_BROKER_URL=broker_url,
                        STORAGE_URL=storage_url, RECOVER_JOBS_ON_START="false", LOG_FORMAT="TEXT",
                        PYTHONPATH=str(ROOT), **{k: str(v) for k, v in env.items()})
        self.folder, self.procs, self.logs = folder, [], []
        for _ in range(count):
            self.add()

    def add(self):
        log = self.folder / f"worker{len(self.procs)}.log"
        out = open(log, "ab")
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q",
                                 ",".join(QUEUES), "--pool=solo", "-c", "1", "-n", f"bench{len(self.procs)}-{uuid.uuid4().hex[:6]}@%h",
                                 "--without-gossip", "--without-mingle", "-l", "INFO"],
                                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(lambda: b"ready." in log.read_bytes() or proc.poll() is not None, "a worker")
        self.procs.append(proc)
        self.logs.append(log)

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()

    def log_text(self) -> str:
        return "".join(log.read_text(errors="replace") for log in self.logs)

    def received_steps(self, name: str) -> list[str]:
        """Job ids of every `name` message a worker received (a retry or a redelivery: again)."""
        return re.findall(rf"Task {re.escape(name)}\[([0-9a-f-]{{36}}):[^\]]*\] received", self.log_text())

    def succeeded_steps(self, name: str) -> list[str]:
        """Job ids of every `name` task run that succeeded (one entry per run)."""
        return re.findall(rf"Task {re.escape(name)}\[([0-9a-f-]{{36}}):[^\]]*\] succeeded in [0-9.]+s: '(?!skipped)", self.log_text())


def ran_more_than_once(db_url: str, ids, workers: Workers) -> dict:
    """What a fault bench fails on, job ids per kind: ran more than once (attempts > 1),
    generated twice (two successful generations in the workers' logs), doubled slide rows (one
    slide index stored twice)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rerun = conn.execute(sa.text("SELECT id FROM jobs WHERE id = ANY(:ids) AND attempts > 1"),
                                 {"ids": list(ids)}).scalars().all()
            doubled = conn.execute(sa.text('SELECT DISTINCT job_id FROM slides WHERE job_id = ANY(:ids) '
                                           'GROUP BY job_id, "index" HAVING count(*) > 1'),
                                   {"ids": list(ids)}).scalars().all()
    finally:
        engine.dispose()
    generated = collections.Counter(workers.succeeded_steps("slidecast.generate"))
    return {"ran_more_than_once": sorted(rerun), "generated_twice": sorted(j for j, n in generated.items() if n > 1),
            "doubled_slide_rows": sorted(doubled)}


def exit_status(problems: dict) -> int:
    """1 when any value in `problems` is truthy (each printed as FAIL: name value), else 0."""
    failed = {name: value for name, value in problems.items() if value}
    for name, value in failed.items():
        print(f"FAIL: {name}: {value}", file=sys.stderr)
    return 1 if failed else 0


def submit(client, clip: Path, **fields) -> str:
    data = {"file": (clip.open("rb"), clip.name), **{k: str(v).lower() for k, v in fields.items()}}
    response = client.post("/api/jobs", data=data)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def submit_distinct(client, clip: Path, count: int, **fields) -> list[str]:
    """`count` jobs of one clip, each a job of its own: the same upload with the same options is
    answered with the first job (jobs/repeats.py), so each gets its own detection sensitivity."""
    ids = [submit(client, clip, sensitivity=round(0.3 + 0.4 * i / max(1, count), 4), **fields) for i in range(count)]
    assert len(set(ids)) == count, "a repeated upload was answered with an earlier job"
    return ids


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def run_with_services(prefix: str, body):
    """body(folder, server, db_url) inside a scratch folder, with a private redis-server and a
    throwaway PostgreSQL database; all three are removed afterwards."""
    folder = scratch(prefix)
    server = RedisServer(folder)
    try:
        with pg_database() as db_url:
            return body(folder, server, db_url)
    finally:
        server.stop()
        remove(folder)


def outage(stop, start, seconds: float, poll) -> None:
    """Stop a server, keep polling the API for `seconds`, then start the server again."""
    stop()
    down_until = time.monotonic() + seconds
    while time.monotonic() < down_until:
        poll()
        time.sleep(0.2)
    start()
