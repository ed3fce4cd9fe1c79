"""A finished job's files as a browser or a download tool gets them, on every storage backend:
ETag and Last-Modified with 304 on a match, byte ranges, one charset, never a shared cache."""

from __future__ import annotations

import io
import uuid

import boto3
import pytest

from support.ops_helpers import start_moto, stop
from support.services import migrate


@pytest.fixture(scope="module")
def moto_endpoint():
    proc, endpoint = start_moto()
    yield endpoint
    stop(proc)


@pytest.fixture(params=["local", "s3"])
def finished(request, make_app, tmp_path, service_clip, wait_job):
    """(client, job document) of a succeeded job whose files are in the backend `request.param`."""
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'files.db'}", "REDIS_URL": None}
    if request.param == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"slidecast-{uuid.uuid4().hex[:10]}"
        keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        config.update(STORAGE_URL=f"s3://{bucket}/files", S3_ENDPOINT_URL=endpoint, **keys)
    app = make_app(**config)
    migrate(app)
    client = app.test_client()
    with open(service_clip, "rb") as clip:
        submitted = client.post("/api/jobs", data={"file": (io.BytesIO(clip.read()), "talk.mp4"), "ocr": "false",
                                                   "transcribe": "false"}, content_type="multipart/form-data")
    job = wait_job(client, submitted.get_json()["id"], limit=120)
    assert job["status"] == "succeeded", job
    return client, job


def test_files_are_private_revalidated_and_carry_an_etag(finished):
    client, job = finished
    for path in ("pdf", "notes", "manifest", "slides/1/image", "archive.zip"):
        whole = client.get(f"/api/jobs/{job['id']}/{path}")
        assert whole.status_code == 200, path
        assert whole.headers["Cache-Control"] == "private, no-cache", path
        assert whole.headers["ETag"] and whole.headers["Last-Modified"], path
        assert int(whole.headers["Content-Length"]) == len(whole.data), path
        again = client.get(f"/api/jobs/{job['id']}/{path}", headers={"If-None-Match": whole.headers["ETag"]})
        assert again.status_code == 304 and not again.data, path


def test_notes_say_their_charset_once(finished):
    client, job = finished
    notes = client.get(f"/api/jobs/{job['id']}/notes")
    assert notes.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert notes.data.decode("utf-8").startswith("#")


def test_byte_ranges_are_served_from_any_point_of_the_file(finished):
    client, job = finished
    url = f"/api/jobs/{job['id']}/pdf"
    whole = client.get(url).data
    head = client.get(url, headers={"Range": "bytes=0-3"})
    assert head.status_code == 206 and head.data == b"%PDF"
    assert head.headers["Content-Range"] == f"bytes 0-3/{len(whole)}"
    middle = len(whole) // 2
    tail = client.get(url, headers={"Range": f"bytes={middle}-"})
    assert tail.status_code == 206 and tail.data == whole[middle:]
    last = client.get(url, headers={"Range": "bytes=-10"})
    assert last.status_code == 206 and last.data == whole[-10:]
    outside = client.get(url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert outside.status_code == 416 and outside.headers["Content-Range"] == f"bytes */{len(whole)}"
    assert outside.content_type == "application/problem+json"
    stale = client.get(url, headers={"Range": "bytes=0-3", "If-Range": '"not-the-current-etag"'})
    assert stale.status_code == 200 and stale.data == whole  # changed since: the whole file
