"""POST /api/jobs/batch: several videos in one request, each answered in its place as a single
submission would be; one refused video does not stop the others."""

import io

import pytest
import redis

from support.api_checks import assert_nothing_created, assert_problem
from support.services import clean_postgres


@pytest.fixture(scope="module")
def clip_bytes(service_clip):
    return service_clip.read_bytes()


def batch(client, files=(), urls=(), **fields):
    data = {"file": [(io.BytesIO(content), name) for name, content in files], **fields}
    if urls:
        data["video_url"] = list(urls)
    return client.post("/api/jobs/batch", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("mode", ["client", "embedded_client"])
def test_good_and_bad_files_are_answered_each_in_its_place(request, mode, clip_bytes, wait_job):
    client = request.getfixturevalue(mode)
    answer = batch(client, files=[("one.mp4", clip_bytes), ("notes.mp4", b"%PDF-1.4 not a video\n" * 100),
                                  ("two.mp4", clip_bytes[: len(clip_bytes) * 2 // 3])],
                   urls=["ftp://example.org/talk.mp4"], ocr="false")
    assert answer.status_code == 207
    body = answer.get_json()
    assert [item.get("file") or item.get("video_url") for item in body["items"]] == [
        "one.mp4", "notes.mp4", "two.mp4", "ftp://example.org/talk.mp4"]
    assert [item["status"] for item in body["items"]] == [202, 422, 422, 422]
    assert body["accepted"] == 1 and body["refused"] == 3
    job = body["items"][0]["job"]
    assert job["options"]["ocr"] is False and job["source"]["filename"] == "one.mp4"
    assert "not a readable video" in body["items"][1]["problem"]["detail"]
    assert "truncated" in body["items"][2]["problem"]["detail"]
    assert body["items"][3]["problem"]["invalid_fields"] == ["video_url"]
    assert client.get("/api/jobs").get_json()["total"] == 1  # nothing of the refused ones was kept
    assert wait_job(client, job["id"])["slide_count"] == 5


def test_every_video_accepted_is_202_and_a_processed_one_comes_back_cached(embedded_client, clip_bytes, wait_job):
    first = batch(embedded_client, files=[("talk.mp4", clip_bytes)])
    assert first.status_code == 202
    done = wait_job(embedded_client, first.get_json()["items"][0]["job"]["id"])
    assert done["status"] == "succeeded"
    again = batch(embedded_client, files=[("talk.mp4", clip_bytes), ("copy.mp4", clip_bytes)])
    assert again.status_code == 202
    assert [(item["status"], item["job"]["id"], item["job"]["cached"]) for item in again.get_json()["items"]] == [
        (200, done["id"], True), (200, done["id"], True)]
    assert embedded_client.get("/api/jobs").get_json()["total"] == 1


def test_urls_as_json_share_the_options_and_are_checked_one_by_one(client, app):
    answer = client.post("/api/jobs/batch", json={"video_urls": ["http://127.0.0.1:9/a.mp4", 42, "not a url"],
                                                  "transcribe": True})
    # none accepted: an error, not a 207 that reads as partly done; each reason still in its item
    body = assert_problem(answer, 422, "none of the 3 videos was accepted: http://127.0.0.1:9/a.mp4: ")
    assert (body["accepted"], body["refused"]) == (0, 3)
    items = body["items"]
    assert [item["status"] for item in items] == [422, 422, 422]
    assert "(loopback)" in items[0]["problem"]["detail"]
    assert items[1]["problem"]["invalid_fields"] == ["video_url"]
    assert "http:// or https://" in items[2]["problem"]["detail"]
    assert_nothing_created(app)


def test_a_batch_that_is_not_one_is_refused_whole(make_app, migrated_pg, redis_url, clip_bytes):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, BATCH_MAX=2)
    clean_postgres(app)
    client = app.test_client()
    assert_problem(client.post("/api/jobs/batch", data={"ocr": "true"}, content_type="multipart/form-data"),
                   400, "no video")
    body = assert_problem(batch(client, files=[("a.mp4", clip_bytes)] * 3), 422, "at most 2 videos (BATCH_MAX)")
    assert body["maximum"] == 2
    assert_problem(batch(client, files=[("a.mp4", clip_bytes)], sensitivity="high"), 422, "sensitivity")
    assert_problem(client.post("/api/jobs/batch", json={"video_urls": "https://example.org/a.mp4"}), 422,
                   "video_urls")
    deck = {"file": [(io.BytesIO(clip_bytes), "a.mp4")], "deck": (io.BytesIO(b"%PDF-1.4"), "slides.pdf")}
    body = assert_problem(client.post("/api/jobs/batch", data=deck, content_type="multipart/form-data"), 422,
                          "a batch takes no `deck`")  # one deck belongs to one talk, not to every video
    assert body["invalid_fields"] == ["deck"]
    assert_nothing_created(app)


def test_each_video_counts_against_the_submit_rate_limit(make_app, migrated_pg, redis_url, clip_bytes):
    redis.Redis.from_url(redis_url).flushdb()
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, RATE_LIMIT_SUBMIT="3 per minute")
    clean_postgres(app)
    client = app.test_client()
    junk = b"not a video\n" * 100
    answer = batch(client, files=[("a.mp4", clip_bytes), ("b.mp4", junk), ("c.mp4", junk), ("d.mp4", clip_bytes)])
    assert answer.status_code == 207
    items = answer.get_json()["items"]
    assert [item["status"] for item in items] == [202, 422, 422, 429]  # refused ones count, as single ones do
    assert "RATE_LIMIT_SUBMIT" in items[3]["problem"]["detail"] and items[3]["problem"]["retry_after"] >= 1
    # the batch used the whole budget: a single submission is refused now too
    assert client.post("/api/jobs", json={"video_url": "https://example.org/a.mp4"}).status_code == 429
    # a batch refused whole by the limit is a 429 itself, saying when to try again
    again = batch(client, files=[("e.mp4", clip_bytes), ("f.mp4", clip_bytes)])
    body = assert_problem(again, 429, "none of the 2 videos was accepted: e.mp4: ", "RATE_LIMIT_SUBMIT")
    assert int(again.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1  # (the limiter rounds the header)
    assert [item["status"] for item in body["items"]] == [429, 429]


def test_a_file_is_named_in_its_item_as_it_was_sent_and_a_long_name_is_cut(client, app):
    junk = b"not a video\n" * 100
    long_name = "n" * 400 + ".mp4"
    body = batch(client, files=[("week 1 (notes).mp4", junk), (long_name, junk)]).get_json()
    assert [item["file"] for item in body["items"]] == ["week 1 (notes).mp4", long_name[:255]]
    assert body["items"][0]["problem"]["detail"].startswith("week 1 (notes).mp4: the file is not a readable video")
    assert body["items"][1]["problem"]["detail"].startswith(long_name[:255] + ": ")
    assert_nothing_created(app)


def test_each_file_is_held_to_the_single_upload_size(make_app, migrated_pg, redis_url, clip_bytes):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, MAX_UPLOAD_MB=1,
                   MAX_CONTENT_LENGTH=1024 * 1024)
    clean_postgres(app)
    big = clip_bytes + b"\0" * (1024 * 1024)
    answer = batch(app.test_client(), files=[("big.mp4", big), ("small.mp4", clip_bytes)])
    assert answer.status_code == 207
    assert [item["status"] for item in answer.get_json()["items"]] == [413, 202]
    assert "MAX_UPLOAD_MB" in answer.get_json()["items"][0]["problem"]["detail"]
    # none accepted, for different reasons: 422, each reason in its item and the first in the detail
    body = assert_problem(batch(app.test_client(), files=[("big.mp4", big), ("notes.mp4", b"not a video\n" * 100)]),
                          422, "none of the 2 videos was accepted: big.mp4 is larger than the 1 MB")
    assert [item["status"] for item in body["items"]] == [413, 422]
    assert "notes.mp4: the file is not a readable video" in body["detail"]
