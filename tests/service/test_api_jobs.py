"""Reading, listing, cancelling and deleting jobs; health, stats and the API description."""

import hashlib
import http.server
import logging
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.extensions import db, executor, storage
from infra.storage import LocalStorage
from jobs.deck import DECK_MARK
from jobs.keys import deck_key, upload_key
from models import Artifact, new_id
from support.api_checks import assert_problem
from support.held_files import opening_held
from support.http_servers import http_server
from support.services import BEAMER_DECK, wait_until


def test_unknown_and_malformed_ids_are_404(client):
    assert_problem(client.get("/api/jobs/not-a-uuid"), 404, "UUID")
    assert_problem(client.get("/api/jobs/00000000-0000-4000-8000-000000000000"), 404, "no job")
    assert_problem(client.get("/api/jobs/../etc/passwd/slides"), 404)
    assert_problem(client.post("/api/jobs/not-a-uuid/cancel"), 404)
    assert_problem(client.delete("/api/jobs/00000000-0000-4000-8000-000000000000"), 404)


def test_list_is_newest_first_filtered_and_paged(client, app, add_job):
    ids = [add_job(app, source_filename=f"talk{i}.mp4") for i in range(5)]
    client.post(f"/api/jobs/{ids[1]}/cancel")
    page = client.get("/api/jobs?per_page=2").get_json()
    assert [j["id"] for j in page["items"]] == ids[::-1][:2]
    assert (page["total"], page["pages"], page["page"]) == (5, 3, 1)
    last = client.get("/api/jobs?per_page=2&page=3").get_json()
    assert [j["id"] for j in last["items"]] == [ids[0]]
    cancelled = client.get("/api/jobs?status=cancelled").get_json()
    assert [j["id"] for j in cancelled["items"]] == [ids[1]]
    assert_problem(client.get("/api/jobs?per_page=2&page=4"), 404, "past the last page")
    assert_problem(client.get("/api/jobs?per_page=101"), 422, "per_page")
    assert_problem(client.get("/api/jobs?page=0"), 422, "page")
    assert_problem(client.get("/api/jobs?status=sleeping"), 422, "status")


def test_an_empty_list_has_one_empty_page(client):
    assert client.get("/api/jobs").get_json() == {"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 1}
    assert_problem(client.get("/api/jobs?page=2"), 404)


def test_cancel_then_cancel_again(client, app, add_job):
    job_id = add_job(app)
    response = client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "cancelled"
    assert_problem(client.post(f"/api/jobs/{job_id}/cancel"), 409, "already cancelled")


def _other_forms(job_id: str) -> list[str]:
    """Spellings of the same UUID that GET accepts: UPPERCASE, {braces}, no hyphens."""
    return [job_id.upper(), "{" + job_id + "}", job_id.replace("-", "").upper()]


@pytest.mark.parametrize("form", range(3))
def test_cancel_and_delete_take_the_id_in_any_form_get_takes(client, app, add_job, form):
    job_id = add_job(app)
    other = _other_forms(job_id)[form]
    assert client.get(f"/api/jobs/{other}").get_json()["id"] == job_id
    response = client.post(f"/api/jobs/{other}/cancel")
    assert response.status_code == 200, response.get_json()
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "cancelled"
    assert_problem(client.post(f"/api/jobs/{other}/cancel"), 409, f"job {job_id} already cancelled")
    queued = add_job(app)
    assert client.delete(f"/api/jobs/{_other_forms(queued)[form]}").status_code == 204
    assert_problem(client.get(f"/api/jobs/{queued}"), 404)
    assert client.delete(f"/api/jobs/{other}").status_code == 204
    assert client.get("/api/jobs").get_json()["total"] == 0


def test_outputs_of_an_unfinished_job_are_409_and_of_a_failed_job_404(client, app, add_job):
    job_id = add_job(app)
    for path in ("slides", "manifest", "pdf", "archive.zip", "metrics", "slides/1/image"):
        assert_problem(client.get(f"/api/jobs/{job_id}/{path}"), 409, "queued")
    client.post(f"/api/jobs/{job_id}/cancel")
    body = assert_problem(client.get(f"/api/jobs/{job_id}/pdf"), 404, "PDF")
    assert body["artifact"] == "pdf"
    assert_problem(client.get(f"/api/jobs/{job_id}/slides"), 404, "cancelled")


def job_with_upload(app, add_job, clip: Path, deck: Path | None = None, **fields) -> tuple[str, Path]:
    """A queued job whose uploaded video is `clip`, sent with `deck` (a PDF) if given (add_job's
    executor: nothing runs it unless the test submits it); returns its id and the upload's file
    in storage (the deck's is beside it: deck_file)."""
    job_id = new_id()
    key = upload_key(job_id, clip.name)
    options = {"ocr": False}
    if deck is not None:
        options["deck"] = DECK_MARK + hashlib.sha256(deck.read_bytes()).hexdigest()
        fields["artifacts"] = [Artifact(kind="deck", key=deck_key(job_id), size=deck.stat().st_size,
                                        content_type="application/pdf")]
    job_id = add_job(app, id=job_id, upload_key=key, source_filename=clip.name, options=options, **fields)
    with app.app_context():
        storage().put_file(key, clip)
        if deck is not None:
            storage().put_file(deck_key(job_id), deck)
    return job_id, Path(app.config["STORAGE_URL"]) / key


def deck_file(app, job_id: str) -> Path:
    return Path(app.config["STORAGE_URL"]) / deck_key(job_id)


def input_kinds(app, job_id: str) -> set[str]:
    """Kinds of the job's artifact rows for what was sent (the video, the deck)."""
    with app.app_context():
        return set(db.session.scalars(sa.select(Artifact.kind).where(Artifact.job_id == job_id,
                                                                     Artifact.kind.in_(("upload", "deck")))))


def test_cancelling_a_queued_job_removes_its_upload(client, app, add_job, service_clip):
    """Nothing can use a cancelled job's video (it never runs again, a repeat never reuses it):
    it was kept for JOB_RETENTION_DAYS."""
    job_id, upload = job_with_upload(app, add_job, service_clip)
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    assert not upload.exists()


def test_a_failed_job_removes_its_upload(client, app, add_job, tmp_path, wait_job):
    """Nothing uses a failed job's video again (there is no retry of a finished job: a new try is
    a new upload, and a repeat never matches a failed job): it does not wait for JOB_RETENTION_DAYS."""
    damaged = tmp_path / "talk.mp4"
    damaged.write_bytes(b"not a video at all " * 1000)
    job_id, upload = job_with_upload(app, add_job, damaged, executor="thread")
    with app.app_context():
        executor().submit(job_id, "thread")
    failed = wait_job(client, job_id)
    assert failed["status"] == "failed" and "not a video file" in failed["error"]
    wait_until(lambda: not upload.exists(), what="the failed job's video to be removed", limit=30)


def test_a_job_cancelled_while_copying_its_upload_removes_it_once_the_copy_ends(client, app, add_job,
                                                                               service_clip):
    job_id, upload = job_with_upload(app, add_job, service_clip, executor="thread")
    with opening_held(upload) as copying:
        with app.app_context():
            executor().submit(job_id, "thread")
        wait_until(copying, what="the job to copy its video")
        assert client.post(f"/api/jobs/{job_id}/cancel").get_json()["status"] == "cancelled"
        assert upload.is_file()  # the step still reads it
    wait_until(lambda: not upload.exists(), what="the step to remove the upload once copied", limit=30)


@pytest.mark.parametrize("end", ["cancelled", "failed"])
def test_a_cancelled_or_failed_job_removes_its_deck_with_its_video(client, app, add_job, service_clip, tmp_path,
                                                                    wait_job, end):
    """The talk's deck sent with the video is read by no step of a job that ended so, and no
    repeat takes it: like the video, it does not wait for JOB_RETENTION_DAYS."""
    if end == "cancelled":
        job_id, upload = job_with_upload(app, add_job, service_clip, deck=BEAMER_DECK)
        assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    else:
        damaged = tmp_path / "talk.mp4"
        damaged.write_bytes(b"not a video at all " * 1000)
        job_id, upload = job_with_upload(app, add_job, damaged, deck=BEAMER_DECK, executor="thread")
        with app.app_context():
            executor().submit(job_id, "thread")
        assert wait_job(client, job_id)["status"] == "failed"
    # A failed job's files go right after its status is written (only once the failure is
    # recorded: jobs/pipeline.py), so a poll can see "failed" a moment before they are gone.
    wait_until(lambda: not upload.exists() and not deck_file(app, job_id).exists() and not input_kinds(app, job_id),
               what="the job's video and deck to be removed", limit=30)


def test_a_job_cancelled_while_copying_its_video_keeps_its_deck_until_the_copy_ends_and_stops_quietly(
        client, app, add_job, service_clip, caplog):
    """The cancel comes while the step copies the video: both files stay for it, go once the copy
    ends, and the step, whose next read is the deck, stops as cancelled with no error logged."""
    job_id, upload = job_with_upload(app, add_job, service_clip, deck=BEAMER_DECK, executor="thread")
    deck = deck_file(app, job_id)
    with opening_held(upload) as copying:
        with app.app_context():
            executor().submit(job_id, "thread")
        wait_until(copying, what="the job to copy its video")
        assert client.post(f"/api/jobs/{job_id}/cancel").get_json()["status"] == "cancelled"
        assert upload.is_file() and deck.is_file()
    wait_until(lambda: not upload.exists() and not deck.exists(), what="the step to remove both once copied",
               limit=30)
    app.extensions["slidecast.executor"].shutdown(wait=True)  # the step's run is over
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "cancelled"
    assert input_kinds(app, job_id) == set()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_cancelling_a_job_stops_its_download_of_a_video_url_of_unknown_length(client, app, service_clip):
    """A server that sends no Content-Length gives no fraction to report; the download still
    checks for a cancel as it goes, and hangs up, instead of fetching the whole file first."""
    app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True  # served from 127.0.0.1
    video = service_clip.read_bytes()
    started, ended, sent = threading.Event(), threading.Event(), []

    class Trickle(http.server.BaseHTTPRequestHandler):  # HTTP/1.0: the end of the body is the end of the connection
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.end_headers()
            try:
                for at in range(0, len(video), 4096):  # about 7 s for the whole clip
                    self.wfile.write(video[at:at + 4096])
                    self.wfile.flush()
                    sent.append(4096)
                    started.set()
                    time.sleep(0.1)
            except OSError:  # the client hung up
                pass
            finally:
                ended.set()

        def log_message(self, *args):
            pass

    with http_server(Trickle) as base:
        job_id = client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4", "ocr": False}).get_json()["id"]
        assert started.wait(60), "the job did not start its download"
        assert client.post(f"/api/jobs/{job_id}/cancel").get_json()["status"] == "cancelled"
        # Not a timing check: a download that went on would have sent the whole clip (~7 s).
        assert ended.wait(30) and sum(sent) < len(video), "the download went on after the cancel"
    app.extensions["slidecast.executor"].shutdown(wait=True)  # the job's run is over
    assert client.get(f"/api/jobs/{job_id}").get_json()["status"] == "cancelled"
    assert not (Path(app.config["STORAGE_URL"]) / "jobs" / job_id).exists()


def test_delete_removes_rows_and_files(client, app, service_clip):
    job = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "talk.mp4")}).get_json()
    folder = Path(app.config["STORAGE_URL"]) / "jobs" / job["id"]
    assert any(folder.rglob("*.mp4"))
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert_problem(client.get(f"/api/jobs/{job['id']}"), 404)
    assert not folder.exists()
    assert client.get("/api/jobs").get_json()["total"] == 0


@pytest.mark.parametrize("service", ["embedded_app", "app"])  # SQLite; PostgreSQL and Redis
def test_a_job_deleted_while_it_publishes_leaves_nothing_behind_and_logs_no_failure(service, request, service_clip,
                                                                                    monkeypatch, caplog):
    """The delete removes the job's files at once while its worker still writes some: the worker
    removes what it wrote after, whatever it was doing, and stops without an error in the log."""
    app = request.getfixturevalue(service)
    publishing, deleted = threading.Event(), threading.Event()
    put_file = LocalStorage.put_file

    def held(self, key, source):  # the first published file waits until the job is deleted
        if "/out/" in key and not publishing.is_set():
            publishing.set()
            deleted.wait(60)
        return put_file(self, key, source)
    monkeypatch.setattr(LocalStorage, "put_file", held)
    client = app.test_client()
    job_id = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "talk.mp4"), "ocr": "false"}).get_json()["id"]
    assert publishing.wait(120), "the job did not reach publishing"
    assert client.delete(f"/api/jobs/{job_id}").status_code == 204
    deleted.set()
    app.extensions["slidecast.executor"].shutdown(wait=True)  # the worker's run is over
    assert not (Path(app.config["STORAGE_URL"]) / "jobs" / job_id).exists()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_health_reports_each_component(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "cache", "broker", "workers", "storage"}
    assert body["components"]["database"]["backend"] == "postgresql"
    assert body["components"]["cache"] == {"status": "ok", "backend": "redis"}
    assert body["components"]["workers"]["mode"] == "thread pool"


def test_health_is_503_when_the_database_is_down(make_app, redis_url, tmp_path):
    from support.services import free_port
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x",
                   REDIS_URL=redis_url)
    client = app.test_client()
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.get_json()["components"]["database"]["status"] == "down"
    assert_problem(client.get("/api/jobs"), 503, "database")


def test_health_is_503_and_says_to_migrate_an_unmigrated_database(make_app, tmp_path):
    """A web process started before `flask db upgrade` must not pass its platform's health check."""
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}", REDIS_URL=None)
    response = app.test_client().get("/api/health")
    assert response.status_code == 503 and response.get_json()["status"] == "down"
    database = response.get_json()["components"]["database"]
    assert database["status"] == "down"
    assert "not been migrated" in database["detail"] and "flask db upgrade" in database["detail"]


def test_health_is_503_on_a_database_an_older_migration_left(make_app, tmp_path):
    from flask_migrate import upgrade

    from infra.settings import ROOT
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}", REDIS_URL=None)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0001_jobs")
    database = app.test_client().get("/api/health").get_json()["components"]["database"]
    assert database["status"] == "down"
    assert "at 0001_jobs, this code needs 0007_job_appearance_count" in database["detail"]
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    assert app.test_client().get("/api/health").status_code == 200


def test_a_job_finished_before_migration_0007_counts_its_slides_as_its_pdf_does(make_app, tmp_path):
    """Its slide_count counted appearances (3: slide 1, slide 2, back to 1); after the upgrade it
    is the 2 distinct slides and appearance_count keeps the 3."""
    from flask_migrate import upgrade

    from infra.settings import ROOT
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}", REDIS_URL=None)
    job_id = new_id()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0006_job_warnings")
        db.session.execute(sa.text(
            "INSERT INTO jobs (id, status, progress, options, executor, attempts, priority, slide_count, "
            "created_at, updated_at) VALUES (:id, 'succeeded', 100, '{}', 'thread', 1, 5, 3, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"id": job_id})
        for index, same_as in ((1, None), (2, None), (3, 1)):
            db.session.execute(sa.text(
                'INSERT INTO slides (job_id, "index", start, "end", same_as, title, text, transcript, keywords, '
                "image_key, thumbnail_key) VALUES (:job, :index, 0, 1, :same_as, '', '', '', '[]', 'i', 't')"),
                {"job": job_id, "index": index, "same_as": same_as})
        db.session.commit()
        upgrade(directory=str(ROOT / "migrations"))
    job = app.test_client().get(f"/api/jobs/{job_id}").get_json()
    assert (job["slide_count"], job["appearance_count"]) == (2, 3)


def test_stats_count_jobs(client, app, add_job):
    for _ in range(2):
        add_job(app)
    client.post(f"/api/jobs/{add_job(app)}/cancel")
    stats = client.get("/api/stats").get_json()
    assert stats["jobs"] == {"total": 3, "by_status": {"queued": 2, "cancelled": 1}}
    assert stats["last_24h"]["total"] == 3
    assert stats["slides_extracted"] == 0 and stats["mean_processing_seconds"] is None


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/slides", "/api/health", "/api/stats",
            "/api/extract", "/api/jobs/{job_id}/pdf"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/api/jobs"]["post"]["requestBody"]["content"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"POST /api/jobs" in page.data
    # The options a submission takes are listed with what they do, not only in openapi.json.
    text = page.get_data(as_text=True)
    for field in ("sensitivity", "min_slide_duration", "pptx", "video_url", "deck"):
        assert f"<li><code>{field}</code>" in text, field
    assert "`" not in text  # code spans shown as code, not as Markdown


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/jobs/x/y/z"])
def test_unknown_routes_are_problem_json(client, path):
    assert_problem(client.get(path), 404)
