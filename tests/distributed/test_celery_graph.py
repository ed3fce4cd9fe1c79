"""A job on real Celery workers runs as a routed task graph.

extraction -> analysis (OCR) + transcription -> generation; each step a task of its own, on its
own queue. Also: chunked long videos across two workers, cancel of a running job, priorities.
"""

from __future__ import annotations

import io
import os
import signal
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from billiard.pool import SIG_SOFT_TIMEOUT, soft_timeout_sighandler
from pypdf import PdfReader

from infra.extensions import db
from jobs.steps import run_first_step
from models import Job, JobPart, Slide
from jobs.publish import SERVICE_ROUGH_ENGINE_WARNING
from tasks import process_job
from support.celery_workers import Worker, broker, files_under, steps_run, submit, web_app, worker_env, workers
from support.ops_helpers import scrape, stage_counts
from support.held_files import opening_held
from support.services import BEAMER_DECK, DECK_TALK_PAGES, wait_until
from support.sse import EventReader, events_only

NARRATED = Path(__file__).resolve().parents[1] / "data" / "narrated.mp4"

STEPS = ("slidecast.process_job", "slidecast.analyse", "slidecast.transcribe", "slidecast.generate")


def test_a_job_runs_step_by_step(make_app, app, tmp_path, service_clip, wait_job, request):
    """On Redis; test_faults_worker.py runs whole jobs on RabbitMQ too (and on Redis)."""
    kind = "redis"
    with broker(kind, request) as url, workers(app, tmp_path, url) as started:
        client = web_app(make_app, app, url).test_client()
        job = submit(client, service_clip, ocr=True, transcribe=True, priority=7)
        assert job["executor"] == "celery" and job["priority"] == 7
        done = wait_job(client, job["id"], limit=240)
        assert done["status"] == "succeeded", done["error"]
        assert done["attempts"] == 1 and done["progress"] == 100.0
        wait_until(lambda: set(STEPS) <= set(steps_run([w.log for w in started])), what="the worker log lines")
    assert steps_run([w.log for w in started]).count("slidecast.generate") == 1
    slides = client.get(f"/api/jobs/{job['id']}/slides").get_json()["slides"]
    assert len(slides) == 5
    assert all(s["text"] for s in slides), "OCR text comes from the analysis step"
    assert client.get(f"/api/jobs/{job['id']}/pdf").status_code == 200
    assert files_under(app, f"jobs/{job['id']}/work") == [], "work files are removed once the job is done"
    with app.app_context():
        parts = db.session.scalars(sa.select(JobPart.name).where(JobPart.job_id == job["id"])).all()
    assert sorted(parts) == ["a1:slidecast.analyse", "a1:slidecast.transcribe"]
    # The clip has no sound: the transcription step is named, but moves the progress no further.
    steps = [(f["data"]["stage"], f["data"]["progress"])
             for f in events_only(EventReader(client, f"/api/jobs/{job['id']}/events").rest()) if f["event"] == "progress"]
    transcribing = sorted({percent for stage, percent in steps if stage == "transcribing"})
    assert len(transcribing) == 1, steps
    assert min(percent for stage, percent in steps if stage == "generating") == transcribing[0], steps


def test_a_deck_sent_with_the_video_is_aligned_in_the_generation_step(make_app, app, tmp_path, deck_talk,
                                                                      wait_job, throwaway_redis):
    with workers(app, tmp_path, throwaway_redis.url) as started:
        client = web_app(make_app, app, throwaway_redis.url).test_client()
        response = client.post("/api/jobs", data={"file": (deck_talk.open("rb"), "talk.mp4"),
                                                  "deck": (BEAMER_DECK.open("rb"), "talk.pdf")})
        assert response.status_code == 202, response.get_json()
        done = wait_job(client, response.get_json()["id"], limit=240)
        assert done["status"] == "succeeded", done["error"]
        assert done["executor"] == "celery"
        wait_until(lambda: "slidecast.generate" in steps_run([w.log for w in started]), what="the worker log lines")
    manifest = client.get(f"/api/jobs/{done['id']}/manifest").get_json()
    assert [s["deck_page"] for s in manifest["slides"]] == list(DECK_TALK_PAGES)
    assert manifest["options"]["deck"].startswith("sha256:")
    slides = client.get(f"/api/jobs/{done['id']}/slides").get_json()["slides"]
    assert "A haplotype matrix H." in slides[0]["text"]  # the deck's text, over the step's OCR
    assert [s["deck_page"] for s in slides] == list(DECK_TALK_PAGES)  # the listing the web page shows
    pdf = PdfReader(io.BytesIO(client.get(f"/api/jobs/{done['id']}/pdf").data))
    assert "A haplotype matrix H." in pdf.pages[0].extract_text()
    assert files_under(app, f"jobs/{done['id']}/deck") != [], "the deck is kept beside the video"


def test_build_steps_another_talks_deck_cannot_tell_apart_are_one_slide_on_workers_too(
        make_app, app, tmp_path, real_clip, wait_job, throwaway_redis):
    # On workers, extraction and the deck's alignment are separate steps, and a long video is
    # extracted in pieces (10-s pieces here): the build steps kept for the deck must still be
    # joined back when no page tells them apart, as one process does, so a deck changes no slide
    # it does not match. (The alignment step is the same for a video in one piece.)
    video, _ = real_clip("builds")  # Amurmaple's demo pages; the deck is the beamer talk's
    with workers(app, tmp_path, throwaway_redis.url, count=2, CHUNK_SECONDS=10):
        client = web_app(make_app, app, throwaway_redis.url).test_client()

        def slides(**fields):
            data = {"file": (video.open("rb"), "builds.mp4"), "ocr": "false", "pdf": "false", **fields}
            done = wait_job(client, client.post("/api/jobs", data=data).get_json()["id"], limit=240)
            assert done["status"] == "succeeded" and done["executor"] == "celery", done
            return client.get(f"/api/jobs/{done['id']}/manifest").get_json()["slides"]

        plain = slides()
        with_deck = slides(deck=(BEAMER_DECK.open("rb"), "talk.pdf"))
        kept = slides(deck=(BEAMER_DECK.open("rb"), "talk.pdf"), keep_builds="true")
    assert len(plain) == 5  # three steps of one build, two of another, a return in between
    assert [(s["start"], s["end"], s["same_as"]) for s in with_deck] == [(s["start"], s["end"], s["same_as"])
                                                                          for s in plain]
    assert not any(s.get("build_step") for s in with_deck)
    # Asked for, the steps stay slides of their own, marked.
    assert [s["build_step"] for s in kept] == [False, True, True, False, False, True, False, False]


def test_a_long_video_is_split_across_two_workers(make_app, app, tmp_path, long_clip, wait_job, throwaway_redis):
    """Chunks of 30 s on a 120 s clip: pieces run on both workers; the result is one timeline."""
    url = throwaway_redis.url
    with workers(app, tmp_path, url, count=2, CHUNK_SECONDS=30) as started:
        client = web_app(make_app, app, url).test_client()
        job = submit(client, long_clip, ocr=False)
        done = wait_job(client, job["id"], limit=240)
        assert done["status"] == "succeeded", done["error"]
        logs = [w.log for w in started]
        wait_until(lambda: "slidecast.generate" in steps_run(logs), what="the worker log lines")
    per_worker = [steps_run([log]).count("slidecast.chunk.extract") for log in logs]
    assert sum(per_worker) >= 4 and all(per_worker), f"pieces per worker: {per_worker}"
    assert steps_run(logs).count("slidecast.chunk.merge") == 1
    with app.app_context():
        rows = db.session.scalars(sa.select(Slide).where(Slide.job_id == job["id"]).order_by(Slide.index)).all()
        times = [(s.start, s.end, s.same_as) for s in rows]
    # 20 appearances of 6 s, cycling through 7 slides (see long_clip)
    assert len(times) == 20
    for i, (start, end, same_as) in enumerate(times):
        assert abs(start - 6 * i) <= 0.5 and abs(end - 6 * (i + 1)) <= 0.5
        assert same_as == (None if i < 7 else i % 7 + 1)


def test_cancel_stops_a_running_job_and_removes_its_files(make_app, app, tmp_path, long_clip, wait_job,
                                                        throwaway_redis):
    url = throwaway_redis.url
    with workers(app, tmp_path, url):
        client = web_app(make_app, app, url).test_client()
        job = submit(client, long_clip, ocr=True)
        wait_until(lambda: client.get(f"/api/jobs/{job['id']}").get_json()["status"] == "running",
                   what="the job to start")
        response = client.post(f"/api/jobs/{job['id']}/cancel")
        assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
        wait_until(lambda: all(files_under(app, f"jobs/{job['id']}/{part}") == [] for part in ("work", "out", "upload")),
                   what="partial files and the upload to go", limit=90)
        assert client.get(f"/api/jobs/{job['id']}").get_json()["status"] == "cancelled"
        assert client.get(f"/api/jobs/{job['id']}/slides").status_code in (404, 409)
        # No result backend on purpose: Celery's "Failed to mark task ... as revoked in backend"
        # WARNING for each step id of the cancel is noise (16 per cancel in the operator trial).
        log = tmp_path / "worker0.log"
        wait_until(lambda: "flagged as revoked" in log.read_text(), what="the worker to take the revoke")
        assert "as revoked in backend" not in log.read_text()


def test_a_job_deleted_while_its_worker_copies_the_video_stops_quietly_and_leaves_nothing(make_app, app, tmp_path,
                                                                                          service_clip, throwaway_redis):
    """DELETE does not wait for the worker: the step finds its job gone once its copy ends, removes
    whatever is left under the job's prefix, and logs no failure."""
    url = throwaway_redis.url
    client = web_app(make_app, app, url).test_client()
    job = submit(client, service_clip, ocr=True)
    upload = next(Path(app.config["STORAGE_URL"]).glob(f"jobs/{job['id']}/upload/*"))
    # The lease is taken before the worker starts: a worker started first could copy the small
    # clip before the lease, and then no copy is ever held.
    with ExitStack() as lease:
        copying = lease.enter_context(opening_held(upload))
        with workers(app, tmp_path, url) as started:
            wait_until(copying, what="the worker to copy the video")
            assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
            lease.close()  # the copy goes on, into a job that is gone
            wait_until(lambda: "slidecast.process_job" in steps_run([started[0].log]), what="the step to end")
    log = started[0].log.read_text()
    assert "unexpected error" not in log and " ERROR " not in log, log[-3000:]
    assert not (Path(app.config["STORAGE_URL"]) / "jobs" / job["id"]).exists()


def test_priority_is_validated_and_kept(client, service_clip):
    bad = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "c.mp4"), "priority": "12"})
    assert bad.status_code == 422 and "priority" in bad.get_json()["invalid_fields"]
    assert submit(client, service_clip, ocr=False)["priority"] == 5


def test_a_step_over_the_time_limit_ends_the_job_failed(make_app, app, tmp_path, long_clip, wait_job,
                                                        throwaway_redis):
    """JOB_TIME_LIMIT=31: the soft limit (30 s earlier) stops a step after 1 s. OCR of the
    clip's 7 slides takes several seconds even on an idle machine (extraction alone may not)."""
    url = throwaway_redis.url
    worker = Worker(worker_env(app, url, JOB_TIME_LIMIT=31), tmp_path / "worker.log", prefork=True)
    try:
        client = web_app(make_app, app, url).test_client()
        done = wait_job(client, submit(client, long_clip, ocr=True)["id"], limit=120)
    finally:
        worker.stop()
    assert done["status"] == "failed"
    assert "longer than JOB_TIME_LIMIT (31 s)" in done["error"]
    assert files_under(app, f"jobs/{done['id']}/work") == [] and files_under(app, f"jobs/{done['id']}/out") == []
    assert files_under(app, f"jobs/{done['id']}/upload") == [], "nothing uses a failed job's video again"


@pytest.fixture
def soft_limit_signal():
    """The prefork child's handler of the soft-time-limit signal, in this process (main thread):
    os.kill(os.getpid(), SIG_SOFT_TIMEOUT) raises SoftTimeLimitExceeded where the code then is."""
    previous = signal.signal(SIG_SOFT_TIMEOUT, soft_timeout_sighandler)
    yield lambda: os.kill(os.getpid(), SIG_SOFT_TIMEOUT)
    signal.signal(SIG_SOFT_TIMEOUT, previous)


@pytest.mark.parametrize("lands", ["while the step claims the job", "again while the failure is recorded"])
def test_the_time_limit_fails_the_job_wherever_its_signal_lands(app, add_job, soft_limit_signal, lands):
    """Under load the soft limit's signal can reach a step before it has claimed the job, or twice
    (a late one meant for the child's previous task); either way the job must end `failed`, not
    stay `running` with nobody working on it."""
    job_id = add_job(app)
    updates = []

    def on_update(conn, cursor, statement, *args):
        if statement.startswith("UPDATE jobs") and threading.current_thread() is threading.main_thread():
            updates.append(statement)
            if len(updates) == (1 if lands.startswith("while") else 2):
                soft_limit_signal()

    def over_time(job):
        soft_limit_signal()  # the step's own soft limit, in the middle of its work

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", on_update)
        try:
            outcome = run_first_step(process_job, job_id, over_time)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", on_update)
        job = db.session.get(Job, job_id, populate_existing=True)
    assert outcome == "failed"
    assert job.status == "failed"
    assert job.error == f"stopped: a processing step ran longer than JOB_TIME_LIMIT ({app.config['JOB_TIME_LIMIT']} s)"


def test_a_narrated_job_on_workers_ends_with_every_steps_warnings_and_stage_times(make_app, app, tmp_path, wait_job,
                                                                  throwaway_redis):
    # The transcription step's warning (no whisper model here: the bundled recogniser) was made
    # on the step's copy of the manifest; the job the user reads ends with generation's copy.
    # Every step times its stages for /metrics, not only the first (decoding, detecting).
    with workers(app, tmp_path, throwaway_redis.url):
        client = web_app(make_app, app, throwaway_redis.url).test_client()
        before = stage_counts(scrape(client.get))
        job = submit(client, NARRATED, ocr=True, transcribe=True, pdf=False)
        done = wait_job(client, job["id"], limit=240)
    assert done["status"] == "succeeded" and done["executor"] == "celery", done
    assert SERVICE_ROUGH_ENGINE_WARNING in done["warnings"], done["warnings"]
    manifest = client.get(f"/api/jobs/{done['id']}/manifest").get_json()
    assert manifest["warnings"] == done["warnings"]
    after = stage_counts(scrape(client.get))
    grown = {stage for stage, count in after.items() if count > before.get(stage, 0)}
    assert {"decoding", "detecting", "ocr", "transcribing", "generating", "publishing"} <= grown, after
