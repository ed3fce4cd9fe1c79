"""Uploading a video again: the finished result at once, or the job already making it."""

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from infra.extensions import db
from models import ApiKey
from slidecast import ExtractOptions
from support.http_servers import serve_folder
from support.security import bearer, make_key


def upload(client, clip, **options):
    return client.post("/api/jobs", data={"file": (clip.open("rb"), "again.mp4"), **options})


def test_a_processed_video_uploaded_again_answers_200_cached_with_the_same_slides(embedded_client, service_clip,
                                                                                     wait_job):
    first = upload(embedded_client, service_clip)
    job = wait_job(embedded_client, first.get_json()["id"])
    assert job["status"] == "succeeded"

    again = upload(embedded_client, service_clip)
    assert again.status_code == 200
    body = again.get_json()
    assert body["cached"] is True and body["id"] == job["id"] and body["status"] == "succeeded"
    assert job["cached"] is False  # the job itself made its slides: false on GET, before and after
    assert embedded_client.get(f"/api/jobs/{job['id']}").get_json()["cached"] is False
    assert again.headers["Location"] == f"/api/jobs/{job['id']}"
    assert embedded_client.get("/api/jobs").get_json()["total"] == 1  # nothing new was made
    assert embedded_client.get(body["links"]["slides"]).get_json()["count"] == job["slide_count"] == 5


def test_the_same_video_with_other_options_is_a_new_job(embedded_client, service_clip, wait_job):
    job = wait_job(embedded_client, upload(embedded_client, service_clip, ocr="false").get_json()["id"])
    assert job["status"] == "succeeded"
    other = upload(embedded_client, service_clip, ocr="true")
    assert other.status_code == 202 and other.get_json()["id"] != job["id"] and other.get_json()["cached"] is False


def test_an_upload_matching_a_job_still_under_way_returns_that_job(client, service_clip, add_job):
    digest = hashlib.sha256(service_clip.read_bytes()).hexdigest()
    running = add_job(client.application, video_sha256=digest, options=ExtractOptions().to_dict())
    again = upload(client, service_clip)
    assert again.status_code == 202
    assert again.get_json()["id"] == running and again.get_json()["cached"] is False
    assert client.get("/api/jobs").get_json()["total"] == 1


@pytest.mark.parametrize("mode", ["postgres", "embedded"])
def test_identical_uploads_sent_at_once_make_one_job(request, service_clip, mode):
    app = request.getfixturevalue("app" if mode == "postgres" else "embedded_app")
    start = threading.Barrier(3)

    def send(_):
        client = app.test_client()
        start.wait()
        return upload(client, service_clip, sensitivity="0.41")

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(send, range(3)))
    assert all(a.status_code in (200, 202) for a in answers), [a.get_json() for a in answers]
    assert len({a.get_json()["id"] for a in answers}) == 1  # the first made it; the others found it
    assert app.test_client().get("/api/jobs").get_json()["total"] == 1


def test_a_failed_job_is_not_reused(client, service_clip, add_job):
    digest = hashlib.sha256(service_clip.read_bytes()).hexdigest()
    failed = add_job(client.application, video_sha256=digest, options=ExtractOptions().to_dict(), status="failed")
    again = upload(client, service_clip)
    assert again.status_code == 202 and again.get_json()["id"] != failed


def test_asking_by_content_hash_first_finds_the_finished_job_without_sending_the_file(embedded_client, service_clip,
                                                                                       wait_job):
    job = wait_job(embedded_client, upload(embedded_client, service_clip).get_json()["id"])
    digest = hashlib.sha256(service_clip.read_bytes()).hexdigest()
    known = embedded_client.post("/api/jobs/repeat", json={"video_sha256": digest})
    assert known.status_code == 200 and known.get_json()["id"] == job["id"] and known.get_json()["cached"] is True
    other_options = embedded_client.post("/api/jobs/repeat", json={"video_sha256": digest, "ocr": False})
    assert other_options.status_code == 404 and "upload the file" in other_options.get_json()["detail"]
    malformed = embedded_client.post("/api/jobs/repeat", json={"video_sha256": "abc"})
    assert malformed.status_code == 422 and malformed.get_json()["invalid_fields"] == ["video_sha256"]


def test_another_keys_job_of_the_same_video_is_never_returned(make_app, migrated_pg, redis_url, app, service_clip,
                                                              add_job):
    secured = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, AUTH_REQUIRED=True)
    alice, bob = make_key(secured, "alice"), make_key(secured, "bob")
    with secured.app_context():
        alice_id = db.session.scalar(sa.select(ApiKey.id).where(ApiKey.name == "alice"))
    digest = hashlib.sha256(service_clip.read_bytes()).hexdigest()
    alices = add_job(secured, video_sha256=digest, options=ExtractOptions().to_dict(), api_key_id=alice_id)
    client = secured.test_client()

    assert client.post("/api/jobs/repeat", json={"video_sha256": digest}, headers=bearer(bob)).status_code == 404
    bobs = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "again.mp4")}, headers=bearer(bob))
    assert bobs.status_code == 202 and bobs.get_json()["id"] != alices
    again = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "again.mp4")}, headers=bearer(alice))
    assert again.get_json()["id"] == alices


def send_raw(client, clip, query=""):
    """The video as the request body itself, as `curl --data-binary @talk.mp4 -H 'Content-Type: video/mp4'`."""
    return client.post(f"/api/jobs{query}", data=clip.read_bytes(), content_type="video/mp4")


def test_a_video_sent_as_the_raw_body_is_a_job_and_its_repeat_in_either_form_answers_cached(
        embedded_client, service_clip, wait_job):
    first = send_raw(embedded_client, service_clip, "?filename=week1.mp4&ocr=false")
    assert first.status_code == 202, first.get_data(as_text=True)
    job = wait_job(embedded_client, first.get_json()["id"])
    assert job["status"] == "succeeded" and job["slide_count"] == 5
    assert job["source"]["filename"] == "week1.mp4" and job["options"]["ocr"] is False

    again = upload(embedded_client, service_clip, ocr="false")  # the same bytes as a multipart file
    assert again.status_code == 200 and again.get_json()["id"] == job["id"] and again.get_json()["cached"] is True
    raw_again = send_raw(embedded_client, service_clip, "?ocr=false")
    assert raw_again.status_code == 200 and raw_again.get_json()["id"] == job["id"]
    other = send_raw(embedded_client, service_clip)  # other options (OCR on): another job
    assert other.status_code == 202 and other.get_json()["id"] != job["id"]
    assert other.get_json()["source"]["filename"] == "video.mp4"


def test_a_video_url_whose_download_was_processed_before_reuses_those_slides(app, client, service_clip, wait_job,
                                                                               tmp_path):
    """A URL's bytes are known only after the download: a finished job of the same video and options
    then gives the new job its slides (a copy: deleting the first job leaves them), not a second
    extraction, and the job's message says it was cached."""
    app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True  # served from this machine
    first = wait_job(client, upload(client, service_clip, ocr="false").get_json()["id"])
    assert first["status"] == "succeeded"
    (tmp_path / "talk.mp4").write_bytes(service_clip.read_bytes())
    with serve_folder(tmp_path) as (base, _seen):
        accepted = client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4", "ocr": False})
        assert accepted.status_code == 202, accepted.get_json()
        job = wait_job(client, accepted.get_json()["id"])
    assert job["status"] == "succeeded" and job["id"] != first["id"], job["error"]
    assert job["message"].startswith("cached") and first["id"] in job["message"]
    assert job["cached"] is True and first["cached"] is False and accepted.get_json()["cached"] is False
    listed = {doc["id"]: doc["cached"] for doc in client.get("/api/jobs").get_json()["items"]}
    assert listed == {first["id"]: False, job["id"]: True}
    assert job["video"]["sha256"] == hashlib.sha256(service_clip.read_bytes()).hexdigest()
    first_slides = client.get(f"/api/jobs/{first['id']}/slides").get_json()["slides"]
    assert client.delete(f"/api/jobs/{first['id']}").status_code == 204
    slides = client.get(f"/api/jobs/{job['id']}/slides").get_json()["slides"]
    same = ("index", "start", "end", "title", "text", "transcript", "same_as")
    assert [{k: s[k] for k in same} for s in slides] == [{k: s[k] for k in same} for s in first_slides]
    image = client.get(slides[0]["image_url"])
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    assert client.get(f"/api/jobs/{job['id']}/pdf").data.startswith(b"%PDF")
