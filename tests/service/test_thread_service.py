"""End to end in embedded mode (SQLite, in-process cache, thread pool), and recovery of jobs a
dead process left behind."""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import zipfile
from contextlib import contextmanager

import jsonschema
import requests
import sqlalchemy as sa
from pptx import Presentation
from pypdf import PdfReader

from infra.extensions import db, job_store, storage
from models import Job
from slidecast.output.manifest import MANIFEST_SCHEMA
from support.http_servers import serve_folder


def test_an_uploaded_lecture_becomes_slides_pdf_and_notes(embedded_client, service_clip, wait_job):
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4")})
    assert response.status_code == 202
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 100.0 and job["executor"] == "thread"
    base = f"/api/jobs/{job['id']}"

    manifest = client.get(f"{base}/manifest").get_json()
    jsonschema.validate(manifest, MANIFEST_SCHEMA)
    slides = client.get(f"{base}/slides").get_json()
    assert slides["count"] == len(manifest["slides"]) == job["slide_count"] == 5  # the clip has 5 slides
    assert [s["start"] for s in slides["slides"]] == sorted(s["start"] for s in slides["slides"])
    assert any(s["text"] for s in slides["slides"])  # OCR ran by default
    assert client.get(f"{base}/slides/1/image").data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"{base}/slides/5/thumbnail").data[:3] == b"\xff\xd8\xff"

    assert {"manifest", "pdf", "notes", "archive"} <= set(job["artifacts"])
    assert client.get(f"{base}/pdf").data[:5] == b"%PDF-"
    assert client.get(f"{base}/notes").mimetype == "text/markdown"
    names = zipfile.ZipFile(io.BytesIO(client.get(f"{base}/archive.zip").data)).namelist()
    assert "manifest.json" in names and "slides/001.png" in names
    # The clip has no audio track: no subtitles, and the 404 says which file is missing.
    missing = client.get(f"{base}/transcript.srt")
    assert missing.status_code == 404 and missing.get_json()["artifact"] == "srt"

    metrics = client.get(f"{base}/metrics").get_json()
    assert metrics["video_duration"] == 30.0 and metrics["total_seconds"] > 0 and "ocr" in metrics["stage_seconds"]
    assert client.get("/api/stats").get_json()["slides_extracted"] == 5


def test_a_talk_that_returns_to_slides_counts_its_slides_as_its_pdf_and_pptx_do(client, engine_clip, wait_job):
    # The "return" clip shows slides 1, 2, 3, 2, 4, 1: four slides in six appearances. A job said
    # slide_count 33 for a PDF and PPTX of 31 pages, and the PPTX's 31st slide said "Slide 33".
    clip = engine_clip("return")[0]
    submitted = client.post("/api/jobs", data={"file": (clip.open("rb"), "return.mp4"), "pptx": "true"})
    job = wait_job(client, submitted.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert (job["slide_count"], job["appearance_count"]) == (4, 6)
    base = f"/api/jobs/{job['id']}"
    assert client.get(f"{base}/slides").get_json()["count"] == 6  # the timeline: every appearance
    assert len(PdfReader(io.BytesIO(client.get(f"{base}/pdf").data)).pages) == 4
    deck = Presentation(io.BytesIO(client.get(f"{base}/pptx").data))
    said = [slide.notes_slide.notes_text_frame.text.split("\n")[0] for slide in deck.slides]
    assert [line.split(":")[0] for line in said] == ["Slide 1", "Slide 2", "Slide 3", "Slide 4"]
    notes = client.get(f"{base}/notes").get_data(as_text=True)
    assert re.findall(r"^## Slide (\d+)", notes, re.M) == ["1", "2", "3", "4"]
    assert client.get("/api/stats").get_json()["slides_extracted"] == 4


def dead_owner() -> str:
    """The identity of a process that has exited (same host, so its death can be seen)."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    return f"{socket.gethostname()}:{finished.stdout.strip()}:1"


def put_job(app, clip, **fields) -> str:
    """A job row as a killed process would leave it, with its upload in storage."""
    with app.app_context():
        job = Job(executor="thread", options={"ocr": False}, source_filename="cuts.mp4", **fields)
        db.session.add(job)
        db.session.flush()
        job.upload_key = f"jobs/{job.id}/upload/cuts.mp4"
        storage().put_file(job.upload_key, clip)
        db.session.commit()
        return job.id


def test_jobs_of_a_dead_process_are_run_again_or_failed_at_start(make_app, tmp_path, service_clip, wait_job):
    from support.services import migrate
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    before = make_app(SQLALCHEMY_DATABASE_URI=database, REDIS_URL=None)
    migrate(before)
    from jobs.identity import process_identity
    queued = put_job(before, service_clip, status="queued", owner=dead_owner())
    running = put_job(before, service_clip, status="running", owner=dead_owner(), attempts=1)
    exhausted = put_job(before, service_clip, status="running", owner=dead_owner(), attempts=2)
    alive = put_job(before, service_clip, status="running", owner=process_identity(), attempts=1)

    after = make_app(SQLALCHEMY_DATABASE_URI=database, REDIS_URL=None, RECOVER_JOBS_ON_START=True,
                     JOB_MAX_ATTEMPTS=2)
    client = after.test_client()
    for job_id in (queued, running):
        job = wait_job(client, job_id)
        assert job["status"] == "succeeded", job["error"]
        assert job["slide_count"] == 5
    failed = client.get(f"/api/jobs/{exhausted}").get_json()
    assert failed["status"] == "failed" and "interrupted" in failed["error"] and "attempt 2 of 2" in failed["error"]
    assert client.get(f"/api/jobs/{alive}").get_json()["status"] == "running"  # its owner lives: not touched
    with after.app_context():
        assert job_store().load(running)["attempts"] == 2
        owners = db.session.scalars(sa.select(Job.owner).where(Job.id.in_([queued, running]))).all()
        assert set(owners) == {after.extensions["slidecast.executor"].owner}
        job_store().fail(alive, "test over")  # leave no running job behind


def test_a_job_handed_back_by_a_stopped_worker_is_run_by_a_live_process_within_the_hour(make_app, tmp_path,
                                                                                       service_clip, wait_job):
    """A gunicorn worker stopped while the server goes on (a HUP, a replaced worker) hands its job
    back; the other processes started before, so none takes it at its start: the hourly upkeep of
    a live one does."""
    from jobs.pipeline import HANDED_BACK
    from jobs.recovery import hourly_upkeep
    from support.services import migrate
    live = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'shared.db'}", REDIS_URL=None)
    migrate(live)
    job_id = put_job(live, service_clip, status="queued", owner=dead_owner(), message=HANDED_BACK)
    with live.app_context():
        hourly_upkeep(live)
    job = wait_job(live.test_client(), job_id)
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 1 and job["slide_count"] == 5


def test_video_url_is_downloaded_in_the_task(embedded_app, embedded_client, wait_job, tmp_path, service_clip):
    embedded_app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True  # the videos are served from 127.0.0.1

    page = tmp_path / "site"
    page.mkdir()
    (page / "talk.mp4").write_bytes(json.dumps({"not": "a video"}).encode() * 50)
    (page / "cuts.mp4").write_bytes(service_clip.read_bytes())

    with serve_folder(page) as (url, _):
        not_video = embedded_client.post("/api/jobs", json={"video_url": f"{url}/talk.mp4"}).get_json()
        missing = embedded_client.post("/api/jobs", json={"video_url": f"{url}/gone.mp4"}).get_json()
        good = embedded_client.post("/api/jobs", json={"video_url": f"{url}/cuts.mp4", "ocr": False}).get_json()
        done = wait_job(embedded_client, good["id"])
        assert done["status"] == "succeeded" and done["slide_count"] == 5 and done["video"]["duration"] == 30.0
        assert wait_job(embedded_client, not_video["id"])["error"].startswith("the file is not a readable video")
        assert wait_job(embedded_client, missing["id"])["error"] == "downloading video_url failed: HTTP 404"


def test_a_job_running_when_the_server_is_killed_runs_again_at_the_next_start(make_app, tmp_path, service_clip,
                                                                              wait_job):
    """A real gunicorn process takes a job and dies by SIGKILL mid-run; the next start finishes it."""
    with _gunicorn_running_a_job(make_app, tmp_path, service_clip) as (server, job_id):
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    job = wait_job(_same_service(make_app, tmp_path, RECOVER_JOBS_ON_START=True).test_client(), job_id)
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 2 and job["slide_count"] == 5


def test_a_job_running_when_the_server_is_stopped_goes_back_to_the_queue_and_runs_at_the_next_start(
        make_app, tmp_path, service_clip, wait_job):
    """SIGTERM (a deploy, a restart) to gunicorn with its own gunicorn.conf.py: the worker hands its
    running job back (queued, that try not counted against JOB_MAX_ATTEMPTS) instead of the
    interpreter's shutdown cutting it off mid-step, which failed it ("internal error"); the next
    start runs it from the beginning."""
    with _gunicorn_running_a_job(make_app, tmp_path, service_clip) as (server, job_id):
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    job = _same_service(make_app, tmp_path).test_client().get(f"/api/jobs/{job_id}").get_json()
    assert (job["status"], job["attempts"], job["error"]) == ("queued", 0, None), job
    assert job["message"].startswith("re-queued: the server stopped")
    job = wait_job(_same_service(make_app, tmp_path, RECOVER_JOBS_ON_START=True).test_client(), job_id)
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 1 and job["slide_count"] == 5


def _same_service(make_app, tmp_path, **config):
    """An app on the database and storage of _gunicorn_running_a_job's server."""
    return make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'server.db'}", STORAGE_URL=str(tmp_path / "data"),
                    REDIS_URL=None, **config)


@contextmanager
def _gunicorn_running_a_job(make_app, tmp_path, clip):
    """gunicorn as deployed (gunicorn.conf.py; one worker, two threads), SQLite, no broker, with a
    job of `clip` running; yields (server process, job id). The server is killed on the way out
    if the test left it running."""
    from support.services import ROOT, free_port, migrate, wait_until
    migrate(_same_service(make_app, tmp_path))
    port = free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'server.db'}", STORAGE_URL=str(tmp_path / "data"),
               RECOVER_JOBS_ON_START="true", WEB_CONCURRENCY="1", WEB_THREADS="2",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}",
                               "app:create_app()"], cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/api/jobs"
        wait_until(lambda: _answers(base), what="gunicorn to serve")
        with clip.open("rb") as video:  # OCR on: long enough to be caught running
            job_id = requests.post(base, files={"file": ("cuts.mp4", video)}, timeout=30).json()["id"]
        wait_until(lambda: requests.get(f"{base}/{job_id}", timeout=5).json()["status"] == "running",
                   what="the job to start")
        yield server, job_id
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_old_jobs_are_expired_without_beat_by_command_and_by_the_server(make_app, embedded_app, add_job):
    # Embedded mode has no beat: `flask jobs expire` by hand, and each serving process hourly.
    from datetime import timedelta

    from models import utcnow
    from support.services import wait_until
    retention = embedded_app.config["JOB_RETENTION_DAYS"]
    old, later_old, recent = (add_job(embedded_app) for _ in range(3))
    with embedded_app.app_context():
        for job_id, days in ((old, retention + 1), (later_old, retention + 2), (recent, retention - 1)):
            job_store().transition(job_id, "succeeded", ("queued",), finished_at=utcnow() - timedelta(days=days))

    def left():
        with embedded_app.app_context():
            return set(db.session.scalars(sa.select(Job.id)))
    result = embedded_app.test_cli_runner().invoke(args=["jobs", "expire"])
    assert result.exit_code == 0 and "deleted 2" in result.output, result.output
    assert left() == {recent}
    with embedded_app.app_context():
        job_store().transition(recent, "succeeded", ("succeeded",), finished_at=utcnow() - timedelta(days=retention + 1))
    make_app(SQLALCHEMY_DATABASE_URI=embedded_app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=None,
             RECOVER_JOBS_ON_START=True)  # a server starting
    wait_until(lambda: not left(), what="the server to expire the old job", limit=30)


def test_files_written_after_a_delete_go_with_the_hourly_upkeep_a_day_later(embedded_app, service_clip, wait_job):
    """The thread pool's process killed (kill -9) after a deleted job's run wrote more files: no
    row names them, retention never sees them; the hourly upkeep of a serving process removes
    them once a day old. A finished job's files stay however old; and so does everything while
    the database knows no job at all (a database replaced by mistake)."""
    from pathlib import Path

    from jobs.recovery import ORPHAN_GRACE, hourly_upkeep
    from support.ops_helpers import age_folder
    client, root = embedded_app.test_client(), Path(embedded_app.config["STORAGE_URL"]) / "jobs"
    jobs = [client.post("/api/jobs", data={"file": (service_clip.open("rb"), "talk.mp4"), "ocr": "false",
                                           "notes": notes}).get_json()["id"] for notes in ("true", "false")]
    assert len(set(jobs)) == 2  # not a repeat of the first
    kept, deleted = (wait_job(client, job_id) for job_id in jobs)
    assert kept["status"] == deleted["status"] == "succeeded"
    assert client.delete(f"/api/jobs/{deleted['id']}").status_code == 204
    assert not (root / deleted["id"]).exists()
    with embedded_app.app_context():  # what the killed run published after the delete
        for key in ("out/slides/001.png", "out/thumbs/001.jpg", "out/manifest.json"):
            storage().put_file(f"jobs/{deleted['id']}/{key}", service_clip)
        hourly_upkeep(embedded_app)
        assert (root / deleted["id"] / "out" / "manifest.json").is_file()  # a day must pass first
        for job_id in jobs:
            age_folder(root / job_id, ORPHAN_GRACE.total_seconds() + 600)
        hourly_upkeep(embedded_app)
        assert not (root / deleted["id"]).exists()
        assert client.get(f"/api/jobs/{kept['id']}/pdf").data.startswith(b"%PDF")
        db.session.execute(sa.delete(Job))
        db.session.commit()
        hourly_upkeep(embedded_app)
    assert (root / kept["id"] / "out" / "slides.pdf").is_file()


def test_scratch_folders_interrupted_work_left_go_at_start_and_a_live_process_keeps_its_own(
        make_app, embedded_app, tmp_path, monkeypatch):
    import tempfile
    import time
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead, alive = ended.pid, os.getpid()
    long_ago = time.time() - embedded_app.config["JOB_TIME_LIMIT"] - 60

    def folder(name, changed=long_ago, inner_changed=None):
        path = root / name
        (path / "frames").mkdir(parents=True)
        (path / "frames" / "video.mp4").write_bytes(b"x")
        for item, when in ((path / "frames" / "video.mp4", inner_changed or changed), (path / "frames", changed),
                           (path, changed)):
            os.utime(item, (when, when))
        return name
    gone = {folder(f"slidecast-job-{dead}-ab12cd_x"), folder("slidecast-extract-k2j4abcd"),  # an older version's
            folder(f"slidecast-metrics-{dead}", changed=time.time())}
    kept = {folder(f"slidecast-ocr-{alive}-q1w2e3r4"),  # a running job's: its process lives
            folder(f"slidecast-asr-{dead}-zzzz1111", changed=time.time()),  # recent
            folder(f"slidecast-generate-{dead}-yyyy2222", inner_changed=time.time()),  # written in lately
            folder(f"slidecast-metrics-{alive}"), folder("slidecast-notes-abcd1234"), folder("other-app-x")}
    make_app(SQLALCHEMY_DATABASE_URI=embedded_app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=None,
             RECOVER_JOBS_ON_START=True)  # a server starting
    assert set(os.listdir(root)) == kept, f"removed: {kept - set(os.listdir(root))}, left: {gone & set(os.listdir(root))}"
