"""STORAGE_URL=s3://...: the S3 backend against moto's standalone server (a real HTTP S3 API),
and the API serving a finished job's artifacts from it with no local file involved."""

from __future__ import annotations

import io
import uuid

import boto3
import pytest

from support.ops_helpers import start_moto, stop
from infra.settings import ConfigError, load_settings
from infra.storage import StorageError, open_storage
from infra.storage import S3Storage

KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_endpoint():
    proc, endpoint = start_moto()
    yield endpoint
    stop(proc)


@pytest.fixture
def bucket(moto_endpoint):
    name = f"slidecast-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_config(moto_endpoint, bucket):
    return {"STORAGE_URL": f"s3://{bucket}/deploy-a", "S3_ENDPOINT_URL": moto_endpoint, **KEYS}


@pytest.fixture
def store(s3_config):
    return open_storage(s3_config["STORAGE_URL"], s3_config)


def test_storage_url_selects_s3_and_settings_validate():
    env = {"STORAGE_URL": "s3://media/slidecast", "S3_ENDPOINT_URL": "http://127.0.0.1:9000"}
    settings = load_settings(env)
    assert settings["STORAGE_URL"] == "s3://media/slidecast"
    assert settings["S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert isinstance(open_storage(settings["STORAGE_URL"], settings), S3Storage)
    with pytest.raises(ConfigError, match="STORAGE_URL"):
        load_settings({"STORAGE_URL": "s3:///no-bucket"})
    with pytest.raises(ConfigError, match="S3_ENDPOINT_URL"):
        load_settings({"S3_ENDPOINT_URL": "127.0.0.1:9000"})


def test_put_fetch_open_exists(store, tmp_path):
    source = tmp_path / "slides.pdf"
    source.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 400)
    assert not store.exists("jobs/a/out/slides.pdf")
    assert store.put_file("jobs/a/out/slides.pdf", source) == source.stat().st_size
    assert store.exists("jobs/a/out/slides.pdf")
    copy = tmp_path / "copy.pdf"
    store.fetch("jobs/a/out/slides.pdf", copy)
    assert copy.read_bytes() == source.read_bytes()
    body = store.open("jobs/a/out/slides.pdf")
    assert body.read(9) == b"%PDF-1.4\n" and body.read() == source.read_bytes()[9:]
    body.close()
    assert store.check() == "ok"
    info = store.stat("jobs/a/out/slides.pdf")
    assert info.size == source.stat().st_size and info.etag and not info.etag.startswith('"')
    body = store.open("jobs/a/out/slides.pdf")
    body.seek(9 + 256 * 399)  # a ranged GET from there: the last 256 bytes
    assert body.read() == bytes(range(256)) and body.tell() == info.size
    body.close()


def test_missing_objects_and_bad_keys(store, tmp_path):
    with pytest.raises(FileNotFoundError):
        store.open("jobs/none/out/slides.pdf")
    with pytest.raises(FileNotFoundError):
        store.fetch("jobs/none/out/slides.pdf", tmp_path / "x")
    with pytest.raises(StorageError, match="invalid storage key"):
        store.exists("../escape")


def test_failed_upload_publishes_nothing(store, tmp_path):
    with pytest.raises(StorageError, match="jobs/b/out/notes.md"):
        store.put_file("jobs/b/out/notes.md", tmp_path / "never-written.md")
    assert not store.exists("jobs/b/out/notes.md")


def test_delete_prefix_removes_only_that_folder(store, s3_config, tmp_path):
    source = tmp_path / "x.png"
    source.write_bytes(b"png")
    for key in ("jobs/c/out/slides/001.png", "jobs/c/out/slides/002.png", "jobs/c/upload.mp4",
                "jobs/cc/upload.mp4"):
        store.put_file(key, source)
    other_deploy = open_storage(s3_config["STORAGE_URL"].replace("deploy-a", "deploy-b"), s3_config)
    other_deploy.put_file("jobs/c/upload.mp4", source)
    assert store.delete_prefix("jobs/c") == 3
    assert not store.exists("jobs/c/upload.mp4")
    assert store.exists("jobs/cc/upload.mp4")  # a sibling whose name starts the same stays
    assert other_deploy.exists("jobs/c/upload.mp4")  # another STORAGE_URL prefix is untouched
    assert store.delete_prefix("jobs/c") == 0


def test_check_names_the_missing_bucket(moto_endpoint):
    store = open_storage("s3://no-such-bucket-here/x", {"S3_ENDPOINT_URL": moto_endpoint, **KEYS})
    with pytest.raises(StorageError, match="no-such-bucket-here"):
        store.check()


def test_api_serves_a_job_from_s3(make_app, s3_config, tmp_path, service_clip, wait_job):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 's3.db'}", REDIS_URL=None, **s3_config)
    from support.services import migrate
    migrate(app)
    client = app.test_client()
    health = client.get("/api/health").get_json()
    assert health["components"]["storage"]["status"] == "ok"
    assert health["components"]["storage"]["backend"].startswith("s3://")
    with open(service_clip, "rb") as clip:
        submitted = client.post("/api/jobs", data={"file": (io.BytesIO(clip.read()), "talk.mp4"), "ocr": "false",
                                                   "transcribe": "false"}, content_type="multipart/form-data")
    assert submitted.status_code == 202, submitted.get_data(as_text=True)
    job = wait_job(client, submitted.get_json()["id"], limit=120)
    assert job["status"] == "succeeded", job
    pdf = client.get(f"/api/jobs/{job['id']}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    image = client.get(f"/api/jobs/{job['id']}/slides/1/image")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    assert client.get(f"/api/jobs/{job['id']}/manifest").get_json()["slides"]
    assert not (tmp_path / "data").exists()  # nothing went to a local folder
    store = open_storage(s3_config["STORAGE_URL"], s3_config)
    assert store.exists(f"jobs/{job['id']}/out/slides.pdf")
    assert client.delete(f"/api/jobs/{job['id']}").status_code in (200, 204)
    assert not store.exists(f"jobs/{job['id']}/out/slides.pdf")


def test_sweep_listing_names_each_job_folder_once_with_its_newest_write(store, s3_config, moto_endpoint, bucket,
                                                                        tmp_path):
    """The sweep's two listing calls: job folders (a LIST request with a Delimiter per 1000 of
    them, never the objects inside) and the newest write under one folder."""
    from datetime import datetime, timezone
    source = tmp_path / "x.png"
    source.write_bytes(b"png")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    for key in ("jobs/a/out/slides/001.png", "jobs/a/work/extract/manifest.json", "jobs/b/upload/talk.mp4"):
        store.put_file(key, source)
    open_storage(s3_config["STORAGE_URL"].replace("deploy-a", "deploy-b"), s3_config).put_file("jobs/z/u.mp4", source)
    assert sorted(store.folders("jobs")) == ["a", "b"]  # each once, though "a" holds two objects
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    for n in range(1000):  # more folders than a listing page holds: the next page is read too
        s3.put_object(Bucket=bucket, Key=f"deploy-a/jobs/many-{n:04d}/out/x", Body=b"x")
    names = list(store.folders("jobs"))
    assert len(names) == len(set(names)) == 1002 and {"a", "b", "many-0000", "many-0999"} <= set(names)
    newest = store.newest_change("jobs/a")
    assert before <= newest <= datetime.now(timezone.utc)
    assert newest == max(store.stat(k).modified for k in ("jobs/a/out/slides/001.png",
                                                          "jobs/a/work/extract/manifest.json"))
    assert store.newest_change("jobs/nothing-here") is None
    assert list(store.folders("no-such-folder")) == []


def test_sweep_removes_files_of_no_job_after_the_grace_only(make_app, s3_config, tmp_path):
    """A job deleted while its worker still wrote (then killed before removing what it wrote):
    those files are of no job; the upkeep removes them once they are a day old, never a live
    job's files however old, nor a folder that is no job's id."""
    from datetime import timedelta
    from infra.extensions import job_store, storage
    from jobs.recovery import ORPHAN_GRACE, remove_orphans
    from models import Job, utcnow
    from support.services import migrate
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 's3.db'}", REDIS_URL=None, **s3_config)
    migrate(app)
    source = tmp_path / "x.png"
    source.write_bytes(b"png")
    with app.app_context():
        live = job_store().create(Job(executor="celery"))["id"]
        deleted = job_store().create(Job(executor="celery"))["id"]
        job_store().delete(deleted)
        for job_id in (live, deleted):
            storage().put_file(f"jobs/{job_id}/out/slides/001.png", source)
            storage().put_file(f"jobs/{job_id}/work/ocr.json", source)
        storage().put_file("jobs/not-a-job-id/notes.txt", source)
        assert remove_orphans() == 0  # written just now: maybe a submission whose row is not committed yet
        assert remove_orphans(now=utcnow() + ORPHAN_GRACE - timedelta(minutes=5)) == 0
        assert storage().exists(f"jobs/{deleted}/work/ocr.json")
        assert remove_orphans(now=utcnow() + ORPHAN_GRACE + timedelta(minutes=5)) == 1
        assert not storage().exists(f"jobs/{deleted}/work/ocr.json")
        assert not storage().exists(f"jobs/{deleted}/out/slides/001.png")
        assert storage().exists(f"jobs/{live}/out/slides/001.png") and storage().exists(f"jobs/{live}/work/ocr.json")
        assert storage().exists("jobs/not-a-job-id/notes.txt")
        assert set(storage().folders("jobs")) == {live, "not-a-job-id"}
