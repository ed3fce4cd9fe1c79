"""Real Celery worker processes and brokers for the distributed tests (test_celery_*, test_faults_*).

- Redis broker: a private redis-server on a free port per test (the throwaway_redis fixture): the
  shared Redis's test database is flushed by every other test run on the machine.
- RabbitMQ broker: a throwaway vhost per test (rabbitmqctl), so queues declared with other
  arguments and messages from other runs cannot interfere; deleted afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from celery_config import QUEUES
from support.engine_clips import made_once
from support.services import IN_CI, ROOT, wait_until

RABBIT_ADMIN = "amqp://guest:guest@127.0.0.1:5672"


class Worker:
    """One `celery worker` process (solo pool: the task runs in the process we may kill)."""

    def __init__(self, env: dict, log: Path, queues=QUEUES, prefork: bool = False):
        self.name = f"test-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
        self.log = log
        # prefork (one child) where the test needs time limits, which the solo pool does not enforce
        pool = ["--pool=prefork", "-c", "1"] if prefork else ["--pool=solo", "-c", "1"]  # -c: prefetch
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q", ",".join(queues), *pool,
                 "-n", self.name, "--without-gossip", "--without-mingle", "-l", "INFO"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: b"ready." in log.read_bytes() or self.proc.poll() is not None, what="the Celery worker")
        assert self.proc.poll() is None, log.read_text()[-3000:]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def worker_env(app, broker_url: str, **extra) -> dict:
    """The environment of a worker sharing `app`'s database, cache and storage."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               CELERY_BROKER_URL=broker_url, STORAGE_URL=app.config["STORAGE_URL"], RECOVER_JOBS_ON_START="false",
               HEARTBEAT_SECONDS="1", LOG_FORMAT="TEXT", PYTHONPATH=str(ROOT))
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextmanager
def workers(app, tmp_path: Path, broker_url: str, count: int = 1, **extra):
    """`count` workers on every queue; all stopped on exit. Yields the list (more may be added)."""
    started: list[Worker] = []
    try:
        for i in range(count):
            started.append(Worker(worker_env(app, broker_url, **extra), tmp_path / f"worker{i}.log"))
        yield started
    finally:
        for worker in started:
            worker.stop()


@contextmanager
def rabbit_vhost():
    """A fresh RabbitMQ vhost for one test; yields its broker URL."""
    if shutil.which("rabbitmqctl") is None:
        if IN_CI:
            pytest.fail("rabbitmqctl is not installed (CI=true)")
        pytest.skip("rabbitmqctl is not installed")
    vhost = f"slidecast-test-{uuid.uuid4().hex[:8]}"
    made = subprocess.run(["rabbitmqctl", "add_vhost", vhost], capture_output=True, text=True)
    if made.returncode != 0:
        if IN_CI:
            pytest.fail(f"RabbitMQ not usable: {made.stderr.strip()[:300]}")
        pytest.skip(f"RabbitMQ not usable: {made.stderr.strip()[:300]}")
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    try:
        yield f"{RABBIT_ADMIN}/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)


@contextmanager
def broker(kind: str, request):
    """The broker URL of `kind` ("redis" or "rabbitmq") for one test: a private redis-server
    (other test runs flush the shared Redis's test database) or a private RabbitMQ vhost."""
    if kind == "redis":
        yield request.getfixturevalue("throwaway_redis").url
    else:
        with rabbit_vhost() as url:
            yield url


def web_app(make_app, app, broker_url: str, **config):
    """A web app on the same database, cache and storage as `app`, sending to `broker_url`."""
    return make_app(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
                    CELERY_BROKER_URL=broker_url, STORAGE_URL=app.config["STORAGE_URL"], **config)


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory) -> Path:
    """120 s, 640x360: 20 appearances of 6 s cycling through 7 slides (returns from the 8th on)."""
    from slidecast.synthetic import SlideSpec, clip_spec, render_lecture
    spec = clip_spec("cuts", slides=[SlideSpec(i % 7 + 1, 6.0) for i in range(20)])
    get = made_once(tmp_path_factory, "long-clip", lambda name, path: (path, render_lecture(spec, path)))
    return get("long120")[0]


def submit(client, clip: Path, **fields):
    data = {"file": (clip.open("rb"), clip.name), **{k: str(v).lower() for k, v in fields.items()}}
    response = client.post("/api/jobs", data=data)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def steps_run(logs) -> list[str]:
    """Task names the workers report as succeeded, in log order."""
    text = "".join(log.read_text(errors="replace") for log in logs)
    return re.findall(r"Task (slidecast\.[a-z_.]+)\[[^\]]+\] succeeded", text)


def files_under(app, prefix: str) -> list[Path]:
    root = Path(app.config["STORAGE_URL"]) / prefix
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
