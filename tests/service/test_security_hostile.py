"""Hostile and careless input: every request below is answered 4xx problem+json (never 500),
creates nothing, leaves nothing in storage, and a good job still finishes afterwards. Each runs
on PostgreSQL + Redis and on the embedded mode (SQLite), where the limits of each differ."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

import jobs.deck
from infra.extensions import job_store
from support.api_checks import assert_nothing_created, assert_problem, upload
from support.bad_pdfs import heavy_pages, page_of_size, page_tree_loop
from support.http_servers import serve_folder
from support.services import clean_postgres, free_port

DEEP = b"[" * 100_000 + b"]" * 100_000
BIG = "99999999999999999999"


@pytest.fixture(params=["postgres", "embedded"])
def hostile_app(request):
    return request.getfixturevalue("app" if request.param == "postgres" else "embedded_app")


@pytest.fixture
def hostile(hostile_app):
    return hostile_app.test_client()


@pytest.fixture(scope="module")
def clip_bytes(service_clip):
    return service_clip.read_bytes()


def assert_no_folders_left(app):
    data = Path(app.config["STORAGE_URL"]) / "jobs"
    assert not data.exists() or not any(data.iterdir()), list(data.rglob("*"))


def _multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A hand-made multipart body: (Content-Disposition parameters, content type, bytes)."""
    boundary = "sc-boundary"
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
                    f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n" for disposition, kind, data in parts)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("route", ["/api/jobs", "/api/extract"])
def test_json_nested_100000_deep_is_400(hostile, hostile_app, route):
    assert_problem(hostile.post(route, data=DEEP, content_type="application/json"), 400, "deeper")
    deep_object = b'{"video_url": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"}"
    assert_problem(hostile.post(route, data=deep_object, content_type="application/json"), 400, "deeper")
    assert_nothing_created(hostile_app)


def test_a_json_body_larger_than_64_kib_is_413(hostile, hostile_app):
    body = {"video_url": "https://example.org/a.mp4", "padding": "x" * 70_000}
    assert_problem(hostile.post("/api/jobs", json=body), 413, "JSON body")
    assert_nothing_created(hostile_app)


@pytest.mark.parametrize("query", [f"page={BIG}", "page=922337203685477580", "page=1000001", "per_page=101",
                                   f"per_page={BIG}", "page=0", "page=-1"])
def test_page_and_per_page_past_their_bounds_are_422(hostile, query):
    body = assert_problem(hostile.get(f"/api/jobs?{query}"), 422)
    assert set(body["invalid_fields"]) & {"page", "per_page"}


def test_a_huge_slide_index_is_404(hostile, hostile_app, add_job):
    job = add_job(hostile_app)
    for index in (BIG + "999", "9223372036854775808", "1000001"):
        assert_problem(hostile.get(f"/api/jobs/{job}/slides/{index}/image"), 404)


def test_nul_bytes_are_422(hostile, hostile_app, clip_bytes):
    body = assert_problem(hostile.post("/api/jobs", json={"video_url": "https://example.org/a\x00.mp4"}), 422, "NUL")
    assert body["invalid_fields"] == ["video_url"]
    assert_problem(hostile.post("/api/extract", json={"url": "https://example.org/\x00"}), 422, "NUL")
    assert_problem(upload(hostile, clip_bytes, name="talk\x00.mp4"), 422, "NUL")
    assert_problem(upload(hostile, clip_bytes, video_url="https://e.org/\x00"), 422, "NUL")
    assert_nothing_created(hostile_app)
    assert_no_folders_left(hostile_app)


def test_an_over_long_file_name_is_cut_safely(hostile, clip_bytes, wait_job):
    name = "ü" * 200 + "lecture" * 60 + ".mp4"
    response = upload(hostile, clip_bytes, name=name, ocr="false")
    assert response.status_code == 202, response.get_data(as_text=True)
    job = response.get_json()
    assert job["source"]["filename"] == name[:255]
    assert wait_job(hostile, job["id"])["status"] == "succeeded"


def test_a_file_part_without_a_usable_file_name_is_named(hostile, hostile_app, clip_bytes):
    body, content_type = _multipart([('name="file"', "video/mp4", clip_bytes[:1000])])
    response = hostile.post("/api/jobs", data=body, content_type=content_type)
    problem = assert_problem(response, 422, "file name")
    assert problem["invalid_fields"] == ["file"]
    assert_nothing_created(hostile_app)


@pytest.mark.parametrize("route", ["/api/jobs", "/api/extract", "/api/jobs/batch"])
def test_a_multipart_body_that_cannot_be_read_is_a_400_saying_so_not_no_video(hostile, hostile_app, clip_bytes,
                                                                              route, caplog):
    body, content_type = _multipart([('name="ocr"', "text/plain", b"false"),
                                     ('name="file"; filename="talk.mp4"', "video/mp4", clip_bytes)])
    cut_short = assert_problem(hostile.post(route, data=body[:len(body) // 2], content_type=content_type), 400,
                               "the multipart body could not be read", "cut short")
    other_boundary = content_type.replace("sc-boundary", "not-the-boundary")
    wrong = assert_problem(hostile.post(route, data=body, content_type=other_boundary), 400,
                           "the multipart body could not be read", "multipart/form-data format")
    unnamed = assert_problem(hostile.post(route, data=body, content_type="multipart/form-data"), 400,
                             "the multipart body could not be read", "no boundary")
    assert not any("no video" in problem["detail"] for problem in (cut_short, wrong, unnamed))
    # the answer names the fault; the server's log is not written once per malformed body
    assert not [r for r in caplog.records if r.name.startswith("python_multipart") and r.levelno >= logging.WARNING]
    assert_nothing_created(hostile_app)
    assert_no_folders_left(hostile_app)


@pytest.mark.parametrize("route", ["/api/jobs", "/api/jobs/batch"])
def test_a_form_of_5000_fields_is_a_413_naming_the_parts_limit_not_the_upload_size(hostile, hostile_app, route):
    body, content_type = _multipart([(f'name="field{i}"', "text/plain", b"x") for i in range(5000)])
    problem = assert_problem(hostile.post(route, data=body, content_type=content_type), 413, "1000 parts")
    assert "MB" not in problem["detail"]  # it said "larger than the 500 MB allowed" of a 600 KB body
    assert_nothing_created(hostile_app)


def test_a_video_sent_as_a_text_field_is_a_413_naming_the_field_limit(hostile, hostile_app, clip_bytes):
    # curl -F "file=<talk.mp4" sends the file's bytes as a plain field, without a file name
    body, content_type = _multipart([('name="file"', "text/plain", clip_bytes * (1 + 600_000 // len(clip_bytes)))])
    problem = assert_problem(hostile.post("/api/jobs", data=body, content_type=content_type), 413,
                             "'file'", "500 KB", "file name")
    assert "MAX_UPLOAD_MB" not in problem["detail"]
    assert_nothing_created(hostile_app)


def test_a_refused_upload_leaves_no_folder_behind(hostile, hostile_app, clip_bytes):
    assert_problem(upload(hostile, b"not a video" * 100, name="x" * 400 + ".mp4"), 422)
    assert_problem(upload(hostile, clip_bytes[:5000], name="y" * 400 + ".mp4"), 422)
    assert_nothing_created(hostile_app)
    assert_no_folders_left(hostile_app)


def test_a_wrong_method_is_405_with_allow(hostile):
    response = hostile.put("/api/jobs")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    # The detail says it too, for a client that shows only the body.
    assert "GET" in response.get_json()["detail"] and "POST" in response.get_json()["detail"]


def test_413_names_the_limit_and_the_setting(make_app, migrated_pg, redis_url, clip_bytes):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, MAX_UPLOAD_MB=1,
                   MAX_CONTENT_LENGTH=1024 * 1024)
    clean_postgres(app)
    big = clip_bytes * (1 + 2 * 1024 * 1024 // len(clip_bytes))
    assert_problem(upload(app.test_client(), big), 413, "1 MB", "MAX_UPLOAD_MB")


def test_503_carries_a_retry_after_header(make_app, redis_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x",
                   REDIS_URL=redis_url)
    response = app.test_client().get("/api/jobs")
    body = assert_problem(response, 503, "database")
    assert response.headers["Retry-After"] == str(body["retry_after"])


@pytest.mark.parametrize("setting, value, words", [
    ("MAX_VIDEO_PIXELS", 320 * 180, ("640x360", "MAX_VIDEO_PIXELS")),
    ("MAX_VIDEO_SECONDS", 10, ("30 s", "10 s", "MAX_VIDEO_SECONDS")),
])
def test_a_video_over_a_resource_limit_is_422_before_a_job_exists(hostile, hostile_app, clip_bytes,
                                                                  setting, value, words):
    hostile_app.config[setting] = value
    body = assert_problem(upload(hostile, clip_bytes), 422, *words)
    assert body["invalid_fields"] == ["file"]
    assert_nothing_created(hostile_app)


@pytest.mark.parametrize("deck, words", [
    (page_of_size(20, 14400), ("page 1 is 20 x 14400 points", "longer than wide")),  # SIFT wanted 4.7 GB
    (page_of_size(200000, 200000), ("200000 x 200000 points", "3 to 14400 points")),
    (page_tree_loop(), ("the deck's pages cannot be read",)),
    (heavy_pages(400, 10), ("the deck's pages take more than 1 s to load", "too heavy")),  # 28 KB, ~15 s a page
])
def test_a_deck_made_to_exhaust_the_reader_is_422_at_submit(hostile, hostile_app, clip_bytes, monkeypatch,
                                                            deck, words):
    monkeypatch.setattr(jobs.deck, "LOAD_SECONDS", 1.0)  # the 400 pages would need ~100 minutes
    response = upload(hostile, clip_bytes, deck=(io.BytesIO(deck), "slides.pdf"))
    body = assert_problem(response, 422, "deck", *words)
    assert body["invalid_fields"] == ["deck"]
    assert_nothing_created(hostile_app)


def test_a_failed_jobs_error_names_no_server_path(hostile_app, add_job):
    job = add_job(hostile_app)
    with hostile_app.app_context():
        job_store().fail(job, "the file is not a readable video ([Errno 1094995529] Invalid data found "
                              "when processing input: '/tmp/slidecast-job-k2j4/video.mp4')")
        error = job_store().get(job)["error"]
    assert "/tmp" not in error and "'video.mp4'" in error


def test_a_good_job_still_finishes_after_the_corpus(hostile, hostile_app, clip_bytes, wait_job):
    for send in (lambda: hostile.post("/api/jobs", data=DEEP, content_type="application/json"),
                 lambda: hostile.get(f"/api/jobs?page={BIG}"),
                 lambda: upload(hostile, clip_bytes, name="a\x00.mp4"),
                 lambda: upload(hostile, b"junk" * 1000, name="z" * 500 + ".mp4"),
                 lambda: hostile.post("/api/jobs", data=io.BytesIO(b"\xff" * 100), content_type="application/json")):
        assert 400 <= send().status_code < 500
    response = upload(hostile, clip_bytes, ocr="false")
    assert response.status_code == 202
    assert wait_job(hostile, response.get_json()["id"])["status"] == "succeeded"


def test_a_downloaded_video_over_the_pixel_limit_fails_its_job_naming_the_setting(embedded_app, embedded_client,
                                                                                   service_clip, tmp_path, wait_job):
    site = tmp_path / "site"
    site.mkdir()
    (site / "talk.mp4").write_bytes(service_clip.read_bytes())
    embedded_app.config.update(ALLOW_PRIVATE_VIDEO_URLS=True, MAX_VIDEO_PIXELS=320 * 180)
    with serve_folder(site) as (base, _):
        response = embedded_client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4"})
        assert response.status_code == 202  # the size is known only once the worker has the file
        done = wait_job(embedded_client, response.get_json()["id"])
    assert done["status"] == "failed"
    assert "640x360" in done["error"] and "MAX_VIDEO_PIXELS" in done["error"]
