"""Helpers shared by the operations tests (tests/service/test_ops_*.py, tests/distributed/test_ops_worker.py): child servers on free ports."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, what: str, limit: float = 30.0) -> None:
    """Wait until `url` answers any HTTP status; fail with the child's output if it died."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{output[-3000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{what} did not answer {url} within {limit:.0f} s")


def start(args: list[str], env: dict | None = None, cwd: Path = ROOT) -> subprocess.Popen:
    """Start a child process in its own session (so stop() can end its whole group)."""
    return subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def stop(proc: subprocess.Popen, sig: int = 15) -> str:
    """Signal the child (only the leader: gunicorn's master passes it on to its workers, and a
    second signal can hang a gthread worker), wait, kill the whole group if it lingers, and
    return what it printed."""
    below = descendants(proc.pid)  # now: once the child is gone, its orphans belong to init
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(5)
    # deploy_scalable.sh runs its servers in sessions of their own: one still alive here holds
    # the output pipe open, and reading it would wait for ever (seen once, at load 12).
    for pid in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    return proc.stdout.read() if proc.stdout else ""


def children(pid: int) -> list[int]:
    """The live children of `pid`."""
    return _by_parent().get(pid, [])


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`: children, their children, ..."""
    by_parent, found, todo = _by_parent(), [], [pid]
    while todo:
        below = by_parent.get(todo.pop(), [])
        found += below
        todo += below
    return found


def start_gunicorn(tmp_path: Path, database_url: str, workers: int, **settings: str) -> tuple[subprocess.Popen, str]:
    """gunicorn.conf.py's server in embedded mode (no Redis, no broker) on `database_url`, files
    under tmp_path, on a free 127.0.0.1 port, with `settings` in its environment, once it
    answers: (process, base URL)."""
    env = {"DATABASE_URL": database_url, "STORAGE_URL": str(tmp_path / "data"),
           "REDIS_URL": "", "CELERY_BROKER_URL": "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "RECOVER_JOBS_ON_START": "false", "WEB_CONCURRENCY": str(workers), "HOST": "127.0.0.1",
           "PORT": str(free_port()), **settings}
    proc = start([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:create_app()"], env)
    base = f"http://127.0.0.1:{env['PORT']}"
    wait_http(base + "/api/docs", proc, "gunicorn")  # not a path the tests count
    return proc, base


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto's standalone S3-compatible server on a free 127.0.0.1 port: (process, endpoint URL)."""
    port = free_port()
    # Its output goes nowhere: a line per request into a pipe nobody reads stops the server
    # (every request then times out) once the pipe is full, after about 600 requests.
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint, proc, "moto server")
    return proc, endpoint


def scrape(get) -> dict:
    """{(name, labels as sorted tuple): value} of every sample; fails if the text does not parse."""
    response = get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.text if hasattr(response, "text") and isinstance(response.text, str) else \
        response.get_data(as_text=True)
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def stage_counts(samples) -> dict:
    return {dict(k[1])["stage"]: v for k, v in samples.items() if k[0] == "slidecast_job_stage_duration_seconds_count"}


def _by_parent() -> dict[int, list[int]]:
    """Every live process's children, by parent (from /proc)."""
    found: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        found.setdefault(parent, []).append(int(stat.parent.name))
    return found


def age_folder(folder: Path, seconds: float) -> None:
    """Make everything under `folder` (itself included) look last written `seconds` ago, as a
    local storage folder nothing wrote to for that long looks."""
    when = time.time() - seconds
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (when, when))
