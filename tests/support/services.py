"""Fixtures against real services (a pytest plugin: tests/conftest.py loads it).

- PostgreSQL: a throwaway database per test session on 127.0.0.1:5432 (user postgres, trust
  auth; TEST_PG_ADMIN_URL names another server), migrated with Flask-Migrate once and dropped at
  the end; each test starts from truncated tables. TEST_DATABASE_URL overrides (the database it
  names is used as is).
- SQLite (embedded mode): one file migrated once per run, copied for each test.
- Redis: a database of 127.0.0.1:6379 that no other test run holds (claimed for the run with a
  lock key in db 0), flushed before each test. TEST_REDIS_URL overrides (used as is).
- With CI=true a missing PostgreSQL or Redis fails the run; elsewhere those tests are skipped.
- `app`/`client`: PostgreSQL + Redis mode, thread pool (no broker). `embedded_app`/
  `embedded_client`: SQLite in tmp_path, in-process cache, thread pool. Every test starts from
  clean tables and an empty storage folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app import create_app
from infra.extensions import db

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
TABLES = ("slides", "artifacts", "job_metrics", "jobs", "api_keys")


def unavailable(what: str):
    """Fail under CI (a missing service is a broken setup), skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: the test services must be running)", pytrace=False)
    pytest.skip(what)


def migrate(app) -> None:
    from flask_migrate import upgrade
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


@pytest.fixture(scope="session")
def pg_url():
    given = os.environ.get("TEST_DATABASE_URL")
    # deploy_scalable.sh test points this at a throwaway server when none runs on 5432.
    admin_url = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    if given:
        yield given
        return
    name = f"slidecast_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {str(exc).splitlines()[0]}")
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """TEST_REDIS_URL, or a database of the local Redis held by this run alone: two test runs on
    one machine never flush each other's data."""
    given = os.environ.get("TEST_REDIS_URL")
    server = redis.Redis.from_url(given or "redis://127.0.0.1:6379/0", socket_connect_timeout=1)
    try:
        server.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {given or '127.0.0.1:6379'} is not reachable: {exc}")
    if given:
        yield given
        return
    # 0 holds the locks, 15 was every run's database before: neither is handed out.
    for number in range(14, 0, -1):
        lock = f"slidecast:test-run:db{number}"
        if server.set(lock, f"{socket.gethostname()}:{os.getpid()}", nx=True, ex=6 * 3600):
            break
    else:
        unavailable("every Redis database from 1 to 14 is held by another test run")
    try:
        yield f"redis://127.0.0.1:6379/{number}"
    finally:
        server.delete(lock)


@pytest.fixture(scope="session")
def migrated_pg(pg_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": pg_url, "REDIS_URL": None, "CELERY_BROKER_URL": None,
                      "RECOVER_JOBS_ON_START": False})
    migrate(app)
    return pg_url


@pytest.fixture
def make_app(tmp_path):
    """Build apps for the test (config overrides on top of test defaults); all are shut down after."""
    built = []

    def build(**config):
        defaults = {"STORAGE_URL": str(tmp_path / "data"), "RECOVER_JOBS_ON_START": False,
                    "CELERY_BROKER_URL": None, "REQUIRE_BROKER": False, "THREAD_POOL_SIZE": 2,
                    "RATE_LIMIT_SUBMIT": None, "RATE_LIMIT_READ": None}
        app = create_app({**defaults, **config})
        app.config["TESTING"] = True
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["slidecast.executor"].shutdown(wait=True)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def clean_postgres(app) -> None:
    with app.app_context():
        db.session.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        db.session.commit()


@pytest.fixture
def app(make_app, migrated_pg, redis_url):
    """PostgreSQL + Redis, thread pool (no broker)."""
    redis.Redis.from_url(redis_url).flushdb()
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url)
    clean_postgres(app)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated once per run; embedded_app copies it."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'slidecast.db'}", "REDIS_URL": None,
                      "CELERY_BROKER_URL": None, "RECOVER_JOBS_ON_START": False, "STORAGE_URL": str(folder / "data")})
    migrate(app)
    with app.app_context():
        db.engine.dispose()
    return folder / "slidecast.db"


@pytest.fixture
def embedded_app(make_app, tmp_path, sqlite_template):
    """SQLite in tmp_path, in-process cache, thread pool: the no-services mode."""
    shutil.copyfile(sqlite_template, tmp_path / "slidecast.db")
    return make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'slidecast.db'}", REDIS_URL=None)


@pytest.fixture
def embedded_client(embedded_app):
    return embedded_app.test_client()


@pytest.fixture(scope="session")
def service_clip(engine_clip) -> Path:
    """A small generated lecture clip (slidecast.synthetic "cuts": 5 slides, 30 s, 640x360)."""
    return engine_clip("cuts")[0]


BEAMER_DECK = Path(__file__).resolve().parents[1] / "data" / "beamer" / "conference-talk.pdf"
# Pages of BEAMER_DECK that deck_talk shows, 5 s each.
DECK_TALK_PAGES = (4, 16, 24)


@pytest.fixture(scope="session")
def deck_talk(tmp_path_factory) -> Path:
    """A 15 s, 640x360 video of three pages of the real beamer talk (DECK_TALK_PAGES), each
    pillarboxed as a screen recording shows a 4:3 deck."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    from slidecast.synthetic import LectureSpec, encode_frames

    spec = LectureSpec(slides=[], width=640, height=360)
    pdf = pdfium.PdfDocument(BEAMER_DECK)
    frames = []
    for number in DECK_TALK_PAGES:
        page = pdf[number - 1]
        picture = page.render(scale=spec.height / page.get_height()).to_pil().convert("RGB")
        frame = Image.new("RGB", (spec.width, spec.height))
        frame.paste(picture, ((spec.width - picture.width) // 2, 0))
        frames.append(np.asarray(frame))
    pdf.close()
    path = tmp_path_factory.mktemp("deck-talk") / "talk.mp4"
    seconds = 5
    encode_frames(path, spec, lambda i: frames[int(i // (seconds * spec.fps))], len(frames) * seconds * int(spec.fps))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def throwaway_redis(tmp_path):
    """A private redis-server on a free port (the machine's shared Redis is never stopped).
    Yields an object with .url, .stop() and .start(); an append-only file keeps its data across
    a stop and start, as a production broker's does."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed")

    class Server:
        port = free_port()
        url = f"redis://127.0.0.1:{port}/0"
        proc = None

        def start(self):
            self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(tmp_path)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: _pings(self.url), what="throwaway redis-server to start")

        def stop(self):
            if self.proc.poll() is None:
                self.proc.terminate()
                self.proc.wait(10)

    server = Server()
    server.start()
    yield server
    server.stop()


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2).ping())
    except redis.RedisError:
        return False


def wait_until(check, what: str, limit: float = 60.0, step: float = 0.1):
    """Poll `check()` until it returns something truthy; fail naming `what` after `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(step)
    pytest.fail(f"gave up waiting for {what} after {limit:.0f} s")


def wait_for_job(client, job_id: str, limit: float = 180.0) -> dict:
    """Poll GET /api/jobs/<id> until the job reaches a final state; return its document."""
    def final():
        doc = client.get(f"/api/jobs/{job_id}").get_json()
        return doc if doc["status"] in ("succeeded", "failed", "cancelled") else None
    return wait_until(final, what=f"job {job_id} to finish", limit=limit, step=0.25)


@pytest.fixture
def wait_job():
    """wait_job(client, job_id, limit=180) -> the final job document."""
    return wait_for_job


@pytest.fixture
def add_job():
    """add_job(app, **fields) -> id: insert a job row through JobStorageService.create."""
    from infra.extensions import job_store
    from models import Job

    def add(app, **fields):
        with app.app_context():
            fields.setdefault("executor", "celery")  # no broker in tests: it stays queued
            return job_store().create(Job(**fields))["id"]
    return add
