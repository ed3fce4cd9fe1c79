"""deploy_scalable.sh's operational commands refuse plainly what they cannot do."""

from __future__ import annotations

import os
import subprocess

import pytest

from support.ops_helpers import ROOT


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
