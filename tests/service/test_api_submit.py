"""POST /api/jobs and /api/extract: refused input changes nothing; accepted input runs."""

import io

import pytest

from support.api_checks import assert_nothing_created, assert_problem, upload


@pytest.fixture(scope="module")
def clip_bytes(service_clip):
    return service_clip.read_bytes()


def test_no_file_and_no_url(client, app):
    assert_problem(client.post("/api/jobs", data={"ocr": "true"}, content_type="multipart/form-data"),
                   400, "no video")
    assert_problem(client.post("/api/jobs"), 400, "multipart/form-data")
    assert_problem(client.post("/api/jobs", json=["not", "an", "object"]), 400, "video_url")
    assert_nothing_created(app)


def test_a_body_that_is_not_a_json_object_says_what_is_wrong(client, app):
    broken = client.post("/api/jobs", data='{"video_url": "https://example.org/a.mp4",}', content_type="application/json")
    assert_problem(broken, 400, "not valid JSON", "line 1, column 43")
    assert_problem(client.post("/api/jobs", json="https://example.org/a.mp4"), 400, "a string, not an object")
    assert_problem(client.post("/api/jobs/repeat", data=b'{"video_sha256": "\xff"}', content_type="application/json"), 400, "not JSON")
    assert_nothing_created(app)


def test_a_body_of_another_kind_is_415_naming_the_kinds_accepted(client, app, clip_bytes):
    for kind in ("image/png", "application/xml"):
        for route in ("/api/jobs", "/api/extract"):
            assert_problem(client.post(route, data=clip_bytes, content_type=kind), 415,
                           kind, "multipart/form-data", "video/*")
    form = client.post("/api/jobs", data="video_url=https://example.org/a.mp4",
                       content_type="application/x-www-form-urlencoded")
    assert_problem(form, 400, "not valid JSON", "curl -F video_url=")
    # text/plain is read as JSON (some clients label JSON so): the answer says so and how a video goes
    text = client.post("/api/jobs", data="hello", content_type="text/plain")
    assert_problem(text, 400, "not valid JSON", "text/plain body is read as JSON", "multipart `file`")
    assert_nothing_created(app)


def test_two_videos_in_one_job_are_refused_not_one_dropped(client, app, clip_bytes):
    two = {"file": [(io.BytesIO(clip_bytes), "a.mp4"), (io.BytesIO(b"not a video"), "b.mp4")]}
    assert_problem(client.post("/api/jobs", data=two, content_type="multipart/form-data"), 400,
                   "one video per job", "/api/jobs/batch")
    assert_nothing_created(app)


def test_two_decks_in_one_job_are_refused_as_decks_not_as_videos(client, app, clip_bytes):
    two = {"file": (io.BytesIO(clip_bytes), "talk.mp4"),
           "deck": [(io.BytesIO(b"%PDF-1.4 part one"), "part1.pdf"), (io.BytesIO(b"%PDF-1.4 part two"), "part2.pdf")]}
    body = assert_problem(client.post("/api/jobs", data=two, content_type="multipart/form-data"), 400,
                          "2 `deck` parts", "one deck per job")
    assert "video" not in body["detail"] and "batch" not in body["detail"]
    assert_nothing_created(app)


def test_a_value_out_of_range_is_answered_with_the_range(client, app):
    body = assert_problem(client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4", "sensitivity": 3,
                                                         "priority": 12}), 422)
    assert "priority (must be from 0 to 9, got 12)" in body["detail"]
    assert "sensitivity (must be from 0 to 1, got 3.0)" in body["detail"]
    assert_nothing_created(app)


def test_a_path_outside_the_routes_is_a_problem_pointing_to_the_docs(client):
    body = assert_problem(client.get("/api/jobs/0b8f6c2e-3f1a-4c55-9f0e-2a7d5b1c9e44/slides/first/image"), 404,
                          "/api/docs", "slides/N/image")
    assert "nothing at /api/jobs/" in body["detail"]


def test_a_guessed_file_name_under_a_job_points_to_its_route(client):
    # The option is `subtitles` and the CLI writes slides.pdf, notes.md; a user guessing those
    # names under /api/jobs/ID/ got only "nothing here, see /api/docs".
    job = "/api/jobs/0b8f6c2e-3f1a-4c55-9f0e-2a7d5b1c9e44"
    for guess, route in (("subtitles.srt", "transcript.srt"), ("subtitles.vtt", "transcript.vtt"),
                         ("slides.pdf", "pdf"), ("notes.md", "notes"), ("slides.pptx", "pptx"),
                         ("chapter.txt", "chapters.txt"), ("archive", "archive.zip")):
        body = assert_problem(client.get(f"{job}/{guess}"), 404, "/api/docs")
        assert f"did you mean {job}/{route}?" in body["detail"], (guess, body["detail"])
    assert "did you mean" not in assert_problem(client.get(f"{job}/zzzz"), 404)["detail"]


def test_a_misspelt_option_is_answered_with_the_one_it_is_closest_to(client, app, clip_bytes):
    body = assert_problem(client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4",
                                                         "trancribe": True}), 422, "trancribe")
    assert "did you mean transcribe?" in body["detail"]
    form = upload(client, clip_bytes, min_slide_duraton="2")
    assert "did you mean min_slide_duration?" in assert_problem(form, 422)["detail"]
    assert_nothing_created(app)


def test_empty_file(client, app):
    assert_problem(upload(client, b""), 422, "empty")
    assert_nothing_created(app)


def test_an_empty_file_as_curl_and_browsers_send_it_is_called_empty(client, app):
    # Their empty part still has the line break before the next boundary; it was read as a
    # 2-byte file and refused as "a format FFmpeg does not know".
    boundary = "------------------------de53b81d34d6b301"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"talk.mp4\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n").encode()
    response = client.post("/api/jobs", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert_problem(response, 422, "the file is empty")
    assert_nothing_created(app)


def test_bytes_that_are_not_a_video(client, app):
    body = assert_problem(upload(client, b"definitely not a video\n" * 200, name="notes.mp4"),
                          422, "not a readable video: its format is not one FFmpeg knows")
    assert body["invalid_fields"] == ["file"] and "((" not in body["detail"] and "))" not in body["detail"]
    assert_nothing_created(app)


def test_a_pdf_sent_as_the_video_is_refused_with_where_it_belongs(client, app):
    body = assert_problem(upload(client, b"%PDF-1.4 the talk's slides\n" * 200, name="talk.pdf"),
                          422, "it is a PDF", "its slides as `deck`")
    assert body["invalid_fields"] == ["file"]
    assert_nothing_created(app)


def test_a_refused_file_is_named_as_it_was_sent(client, app):
    body = assert_problem(upload(client, b"not a video\n" * 200, name="week 3 (notes).mp4"), 422,
                          "not a readable video")
    assert body["detail"].startswith("week 3 (notes).mp4: ")  # not the name it would be stored under
    assert_nothing_created(app)


def test_truncated_video(client, app, clip_bytes):
    assert_problem(upload(client, clip_bytes[: len(clip_bytes) * 2 // 3]), 422, "truncated")
    assert_nothing_created(app)


def test_unknown_and_ill_typed_options_are_named(client, app, clip_bytes):
    body = assert_problem(upload(client, clip_bytes, sensitivity="high", ocr="maybe", colour="red"), 422)
    assert body["invalid_fields"] == ["colour", "ocr", "sensitivity"]
    assert "colour" in body["detail"]
    body = assert_problem(client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4",
                                                         "transcribe": "yes", "min_slide_duration": -1}), 422)
    assert body["invalid_fields"] == ["min_slide_duration", "transcribe"]
    assert_nothing_created(app)


def test_a_bad_value_of_an_option_is_answered_with_the_values_accepted(client, app, clip_bytes):
    # transcribe=maybe was answered "Not a valid boolean": the user had to guess the spellings.
    body = assert_problem(upload(client, clip_bytes, transcribe="maybe", pptx="si"), 422)
    for name in ("transcribe", "pptx"):
        assert f"{name} (must be true or false (also accepted: 1 or 0, yes or no, on or off))" in body["detail"]
    raw = assert_problem(client.post("/api/jobs?keep_builds=perhaps", data=clip_bytes, content_type="video/mp4"), 422)
    assert "keep_builds (must be true or false" in raw["detail"]
    batch = client.post("/api/jobs/batch", data={"file": (io.BytesIO(clip_bytes), "a.mp4"), "notes": "maybe"},
                        content_type="multipart/form-data")
    assert "notes (must be true or false" in assert_problem(batch, 422)["detail"]
    body = assert_problem(client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4", "transcribe": "yes",
                                                         "sensitivity": "high", "priority": "urgent"}), 422)
    assert "transcribe (must be the JSON boolean true or false, not a string or a number)" in body["detail"]
    assert "sensitivity (must be a number from 0 to 1)" in body["detail"]
    assert "priority (must be a whole number from 0 to 9)" in body["detail"]
    form = assert_problem(upload(client, clip_bytes, min_slide_duration="long"), 422)
    assert "min_slide_duration (must be a number from 0 to 600)" in form["detail"]
    assert_nothing_created(app)


def test_a_region_given_as_a_list_is_answered_with_the_shape_of_one(client, app):
    refused = client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4", "ignore_regions": [[0, 0, 2, 2]]})
    assert_problem(refused, 422, '{"x", "y", "w", "h"}', "ignore_regions")
    assert_nothing_created(app)


def test_video_url_must_be_http(client, app):
    for url in ("ftp://example.org/a.mp4", "file:///etc/passwd", "not a url"):
        assert_problem(client.post("/api/jobs", json={"video_url": url}), 422, "video_url")
    assert_problem(client.post("/api/jobs", data={"file": (io.BytesIO(b"x"), "a.mp4"),
                                                  "video_url": "https://example.org/a.mp4"}), 400, "not both")
    assert_nothing_created(app)


def test_too_large_upload(make_app, migrated_pg, redis_url, clip_bytes):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, MAX_CONTENT_LENGTH=1000)
    from support.services import clean_postgres
    clean_postgres(app)
    assert_problem(upload(app.test_client(), clip_bytes), 413)
    assert_nothing_created(app)


def test_a_raw_body_upload_keeps_the_size_limit_the_video_check_and_the_option_check(
        make_app, migrated_pg, redis_url, clip_bytes):
    from support.services import clean_postgres
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, MAX_CONTENT_LENGTH=1000)
    clean_postgres(app)
    client = app.test_client()
    assert_problem(client.post("/api/jobs", data=clip_bytes, content_type="video/mp4"), 413, "MAX_UPLOAD_MB")
    app.config["MAX_CONTENT_LENGTH"] = 10 * len(clip_bytes)
    assert_problem(client.post("/api/jobs?filename=notes.mp4", data=b"these are my notes" * 100,
                               content_type="application/octet-stream"), 422, "notes.mp4", "not a readable video")
    body = assert_problem(client.post("/api/jobs?ocr=maybe&colour=red", data=clip_bytes, content_type="video/mp4"),
                          422)
    assert set(body["invalid_fields"]) == {"ocr", "colour"}
    assert_problem(client.post("/api/jobs?filename=a%00.mp4", data=clip_bytes, content_type="video/mp4"), 422, "NUL")
    assert_nothing_created(app)


def test_required_broker_down_answers_503(make_app, migrated_pg, redis_url, clip_bytes):
    from support.services import clean_postgres, free_port
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url,
                   CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", REQUIRE_BROKER=True)
    clean_postgres(app)
    assert_problem(upload(app.test_client(), clip_bytes), 503, "broker")
    assert_nothing_created(app)
    # Health tells the same: no thread pool takes the jobs the broker cannot.
    health = app.test_client().get("/api/health").get_json()
    assert health["status"] != "ok" and health["components"]["workers"]["status"] == "down", health


def test_a_file_name_of_thousands_of_characters_is_cut_and_one_too_long_to_read_is_refused_saying_so(
        client, app, clip_bytes):
    long_name = "lecture-" * 1000 + ".mp4"  # 8004 characters: was a 400 "no video"
    response = upload(client, clip_bytes, name=long_name, ocr="false")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["source"]["filename"] == long_name[:255]
    assert client.post(f"/api/jobs/{response.get_json()['id']}/cancel").status_code == 200  # no need to run it

    body = assert_problem(upload(client, clip_bytes, name="x" * 20_000 + ".mp4"), 400,
                          "the file name is too long", "send the file under a shorter name")
    assert "no video" not in body["detail"]
    assert client.get("/api/jobs").get_json()["total"] == 1  # only the first


def test_accepted_upload_answers_202_with_location(client, clip_bytes):
    """The answer to a submission; running the job is test_thread_service's subject."""
    response = upload(client, clip_bytes, ocr="false", sensitivity="0.6")
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running")
    assert job["options"]["ocr"] is False and job["options"]["sensitivity"] == 0.6
    # The echo shows only what a client may send (the OpenAPI document's request fields): not
    # the engines or workers, which POST /api/jobs refuses as unknown fields.
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    accepted = set(schemas["SubmitFormFields"]["properties"]) | set(schemas["SubmitJson"]["properties"])
    assert not {"ocr_engine", "transcribe_engine", "workers"} & set(job["options"]), job["options"]
    assert set(job["options"]) - {"deck"} <= accepted, set(job["options"]) - accepted
    assert job["source"]["filename"] == "talk.mp4"
    assert job["video"]["duration"] == pytest.approx(30.0, abs=0.5)
    assert job["cached"] is False
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200  # no need to run it


def test_extract_alias_maps_the_original_fields(app, client, wait_job):
    app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True  # the URL below is on this machine (a refused port)
    response = client.post("/api/extract", json={"url": "http://127.0.0.1:9/lecture.mp4", "threshold": 0.3,
                                                 "options": {"enable_ocr": False, "min_duration": 2.5}})
    assert response.status_code == 202, response.get_json()
    options = response.get_json()["options"]
    assert options["sensitivity"] == pytest.approx(0.7)
    assert options["ocr"] is False and options["min_slide_duration"] == 2.5
    assert response.get_json()["source"]["url"] == "http://127.0.0.1:9/lecture.mp4"
    failed = wait_job(client, response.get_json()["id"])  # nothing listens on port 9
    assert failed["status"] == "failed" and "downloading video_url failed" in failed["error"]
    body = assert_problem(client.post("/api/extract", json={"url": "https://example.org/a.mp4", "threshold": "x"}),
                          422, "threshold")
    assert body["invalid_fields"] == ["threshold"]


@pytest.mark.parametrize("mode", ["redis", "embedded"])
def test_a_client_over_the_submit_rate_limit_gets_429_and_nothing_is_created(mode, make_app, request):
    if mode == "redis":
        from support.services import clean_postgres
        app = make_app(SQLALCHEMY_DATABASE_URI=request.getfixturevalue("migrated_pg"),
                       REDIS_URL=request.getfixturevalue("redis_url"), RATE_LIMIT_SUBMIT="2 per minute")
        clean_postgres(app)
    else:
        app = request.getfixturevalue("embedded_app")
        app.config["RATE_LIMIT_SUBMIT"] = "2 per minute"
    client = app.test_client()
    from infra.extensions import limiter
    limiter.reset()
    for _ in range(2):  # refused for another reason (no file), but counted
        response = client.post("/api/jobs", data={}, content_type="multipart/form-data")
        assert response.status_code == 400
        assert "Retry-After" not in response.headers  # only the rate limit says "wait"
    response = client.post("/api/jobs", data={}, content_type="multipart/form-data")
    assert_problem(response, 429, "Retry-After")
    assert int(response.headers["Retry-After"]) > 0
    assert_nothing_created(app)


def test_a_huge_number_is_out_of_range_not_nan(client, app, clip_bytes):
    # 5000 digits (a form field or a JSON integer) or 1e999 (JSON) read as infinity: the client
    # sent a number too large, not "nan or infinity" nor a body that is "not JSON".
    for body in (upload(client, clip_bytes, min_slide_duration="9" * 5000),
                 client.post("/api/jobs", data='{"video_url": "https://example.org/a.mp4", "min_slide_duration": 1e999}',
                             content_type="application/json"),
                 client.post("/api/jobs", data='{"video_url": "https://example.org/a.mp4", "min_slide_duration": '
                             + "9" * 5000 + "}", content_type="application/json")):
        problem = assert_problem(body, 422, "min_slide_duration", "from 0 to 600")
        assert "nan" not in problem["detail"].lower(), problem["detail"]
    assert_nothing_created(app)


def test_an_unknown_field_is_answered_with_the_fields_accepted(client, app, clip_bytes):
    problem = assert_problem(upload(client, clip_bytes, transcribe_engine="whisper:/m"), 422, "transcribe_engine")
    for accepted in ("transcribe", "sensitivity", "min_slide_duration", "deck"):
        assert accepted in problem["detail"].split("transcribe_engine", 1)[1], problem["detail"]
    problem = assert_problem(client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4", "workers": 4}),
                             422, "workers")
    assert "ignore_regions" in problem["detail"], problem["detail"]
    assert_nothing_created(app)
