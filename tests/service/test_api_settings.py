"""Settings: validated in one place; a bad value stops start-up with one line naming it."""

import os
import subprocess
import sys

import pytest

from support.services import ROOT
from infra.settings import ConfigError, load_settings


@pytest.mark.parametrize("name, value", [
    ("THREAD_POOL_SIZE", "abc"), ("THREAD_POOL_SIZE", "0"), ("MAX_UPLOAD_MB", "-5"),
    ("REDIS_URL", "localhost:6379"), ("CELERY_BROKER_URL", "kafka://x"), ("DATABASE_URL", "mysql://x/y"),
    ("REQUIRE_BROKER", "perhaps"), ("JOB_CACHE_TTL", "1.5"), ("LOG_LEVEL", "LOUD"),
    ("SSE_HEARTBEAT_SECONDS", "0"), ("RECOVERY_SWEEP_SECONDS", "inf"), ("WORKER_SOFT_SHUTDOWN_SECONDS", "-1"),
    ("PROGRESS_DB_INTERVAL", "nan"), ("JOB_MAX_ATTEMPTS", "21"), ("DB_FAULT_RETRY_SECONDS", "0"),
])
def test_a_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as error:
        load_settings({name: value})
    message = str(error.value)
    assert message.startswith(f"SLIDECAST config error: {name} ") and repr(value) in message
    assert "\n" not in message


def test_numbers_say_what_they_must_be_and_keep_their_kind():
    for name, value, wanted in (("MAX_UPLOAD_MB", "0", "a positive integer"),
                                ("JOB_MAX_ATTEMPTS", "21", "a positive integer no larger than 20"),
                                ("SSE_HEARTBEAT_SECONDS", "-2", "a positive number"),
                                ("WORKER_SOFT_SHUTDOWN_SECONDS", "x", "a number >= 0")):
        with pytest.raises(ConfigError, match=f"{name} must be {wanted}, got"):
            load_settings({name: value})
    settings = load_settings({"SSE_HEARTBEAT_SECONDS": "2.5", "WORKER_SOFT_SHUTDOWN_SECONDS": "0", "MAX_UPLOAD_MB": "7"})
    assert settings["SSE_HEARTBEAT_SECONDS"] == 2.5 and settings["WORKER_SOFT_SHUTDOWN_SECONDS"] == 0.0
    assert settings["MAX_UPLOAD_MB"] == 7 and isinstance(settings["MAX_UPLOAD_MB"], int)


def test_urls_and_defaults():
    settings = load_settings({"DATABASE_URL": "postgres://u:p@db:5432/slidecast", "REDIS_URL": "redis://r:6379/0"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u:p@db:5432/slidecast"
    assert settings["CELERY_BROKER_URL"] == "redis://r:6379/0"  # defaults to REDIS_URL
    assert settings["THREAD_POOL_SIZE"] == 2 and settings["MAX_CONTENT_LENGTH"] == 500 * 2**20
    embedded = load_settings({})
    assert embedded["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and embedded["REDIS_URL"] is None
    assert embedded["CELERY_BROKER_URL"] is None


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", "127.0.0.1:0", "app:create_app()"],
    [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
    [sys.executable, "-m", "celery", "-A", "worker", "inspect", "ping"],
])
def test_start_up_prints_one_line_and_exits_2(command, tmp_path):
    env = dict(os.environ, THREAD_POOL_SIZE="abc", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "SLIDECAST config error: THREAD_POOL_SIZE must be a positive integer, got 'abc'"
