"""deploy_scalable.sh's operational commands refuse plainly what they cannot do."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from support.ops_helpers import ROOT, free_port, start, stop, wait_http


def run(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["./deploy_scalable.sh", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("setup", "local", "test", "demo", "worker QUEUES", "docker", "render"):
        assert f"\n  {command}" in result.stdout, command


@pytest.mark.skipif(docker_engine_answers(), reason="a Docker engine answers here; `docker` would start the stack")
def test_docker_without_an_engine_says_so_in_one_line():
    result = run("docker")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Docker" in result.stderr, result.stderr


def test_worker_needs_its_queues():
    result = run("worker")
    assert result.returncode == 1 and "worker QUEUES" in result.stderr


def test_flower_refuses_to_start_without_basic_auth():
    result = run("flower", FLOWER_BASIC_AUTH="")
    assert result.returncode == 1 and "FLOWER_BASIC_AUTH" in result.stderr


def test_an_unknown_command_shows_the_usage():
    result = run("deploy-everything")
    assert result.returncode == 2 and "Usage:" in result.stderr


# ---- where the servers listen ---------------------------------------------------------------
def listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a socket listening on `port` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


def test_local_serves_on_loopback_only_unless_host_says_otherwise(tmp_path):
    port = free_port()
    env = {"PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path}/local.db", "STORAGE_URL": str(tmp_path / "data"),
           "REDIS_URL": "", "CELERY_BROKER_URL": "", "HOST": "", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")}
    proc = start(["./deploy_scalable.sh", "local"], env)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", proc, "deploy_scalable.sh local", limit=120)
        assert listening_addresses(port) == {"127.0.0.1"}
    finally:
        output = stop(proc, signal.SIGINT)
    assert f"serving http://127.0.0.1:{port}" in output


def test_flower_answers_its_health_check_without_login_and_nothing_else_not_even_metrics(tmp_path, redis_url):
    port = free_port()
    proc = start(["./deploy_scalable.sh", "flower"], {"PORT": str(port), "HOST": "127.0.0.1",
                                                      "FLOWER_BASIC_AUTH": "ops:secret-word",
                                                      "CELERY_BROKER_URL": redis_url, "REDIS_URL": redis_url})
    try:
        wait_http(f"http://127.0.0.1:{port}/healthcheck", proc, "flower", limit=60)
        health = requests.get(f"http://127.0.0.1:{port}/healthcheck", timeout=5)
        assert (health.status_code, health.text) == (200, "OK")  # render.yaml's healthCheckPath
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 401
        assert requests.get(f"http://127.0.0.1:{port}/", auth=("ops", "secret-word"), timeout=5).status_code == 200
        # Task names, counts and worker host names: Flower itself serves them to anyone.
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 401
        assert requests.get(f"http://127.0.0.1:{port}/metrics", auth=("ops", "wrong"), timeout=5).status_code == 401
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", auth=("ops", "secret-word"), timeout=5)
        assert metrics.status_code == 200 and "flower_" in metrics.text
        assert listening_addresses(port) == {"127.0.0.1"}
        # What `ps` shows anyone on the machine (the script execs Flower: same process).
        assert b"secret-word" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    finally:
        stop(proc)


def test_the_web_role_on_embedded_sqlite_migrates_before_serving(tmp_path):
    """`docker run slidecast` (the web role, no other container): jobs work, health is ok."""
    port = free_port()
    proc = start(["./deploy_scalable.sh", "web"], {
        "PORT": str(port), "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/web.db",
        "STORAGE_URL": str(tmp_path / "data"), "REDIS_URL": "", "CELERY_BROKER_URL": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")})
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", proc, "deploy_scalable.sh web", limit=120)
        health = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
        assert health.json()["components"]["database"]["status"] == "ok", health.text
        assert requests.get(f"http://127.0.0.1:{port}/api/jobs", timeout=10).status_code == 200
    finally:
        stop(proc)
