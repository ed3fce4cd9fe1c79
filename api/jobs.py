"""Jobs: submit (upload or URL), list, read, cancel, delete; and the /api/extract alias."""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from pathlib import Path

from flask import current_app, jsonify, request, url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError
from werkzeug.utils import secure_filename

from api.errors import problem
from api.legacy import legacy_submission
from api.schemas import (JobListQuerySchema, JobListSchema, JobSchema, ProblemSchema, RepeatJsonSchema,
                         SubmitFormSchema, SubmitJsonSchema)
from infra.extensions import executor, job_store, limiter, storage, submit_rate_limit, submit_rate_limit_off
from jobs.executor import BrokerUnavailable
from jobs.inputs import BadVideo, check_video_url, probe_video
from jobs.keys import job_prefix, upload_key, work_prefix
from jobs.repeats import find_repeat
from models import ACTIVE_STATES, Artifact, Job, new_id
from slidecast import ExtractOptions
from slidecast.pipeline import FileHasher

blp = Blueprint("jobs", __name__, description="Submit and follow extraction jobs")
DEFAULT_PRIORITY = 5
TOO_MANY = ("too many job submissions from this address (RATE_LIMIT_SUBMIT); "
            "wait the number of seconds in the Retry-After header, then try again")

_SUBMIT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"allOf": [{"$ref": "#/components/schemas/SubmitForm"}], "properties": {
            "file": {"type": "string", "format": "binary", "description": "the video"}}}},
        "application/json": {"schema": {"$ref": "#/components/schemas/SubmitJson"}},
    },
}
_ERRORS = {code: {"description": text, "content": {"application/problem+json": {"schema": ProblemSchema}}}
           for code, text in ((400, "no video sent"), (422, "invalid options or not a usable video"),
                              (413, "upload larger than MAX_UPLOAD_MB"), (429, "too many submissions; see Retry-After"),
                              (503, "broker required but down"))}


@blp.route("/jobs", methods=["POST"])
@limiter.limit(submit_rate_limit, exempt_when=submit_rate_limit_off, error_message=TOO_MANY)
@blp.doc(requestBody=_SUBMIT_BODY, responses={202: {"description": "job accepted", "content": {
    "application/json": {"schema": JobSchema}}}, **_ERRORS})
def submit_job():
    """Submit a video: multipart `file` (plus option fields) or JSON {"video_url", options}.

    Answers 202 with the job and a Location header; poll GET /api/jobs/{id}. Nothing is
    created when the request is refused."""
    if request.mimetype == "multipart/form-data":
        fields = _load(SubmitFormSchema(), request.form.to_dict(), "form")
        return _accept(fields, request.files.get("file"))
    return _accept(_load(SubmitJsonSchema(), _json_body(), "json"), None)


@blp.route("/extract", methods=["POST"])
@limiter.limit(submit_rate_limit, exempt_when=submit_rate_limit_off, error_message=TOO_MANY)
@blp.doc(responses={202: {"description": "job accepted", "content": {
    "application/json": {"schema": JobSchema}}}, **_ERRORS})
def submit_extract():
    """Alias of POST /api/jobs accepting the original service's fields (see docs/service.md):
    "url" or "video_url", "options": {...}, "threshold", "min_duration", "enable_ocr", ..."""
    if request.mimetype == "multipart/form-data":
        data = legacy_submission(request.form.to_dict())
        upload = request.files.get("file") or request.files.get("video")
        return _accept(_load(SubmitFormSchema(), data, "form"), upload)
    return _accept(_load(SubmitJsonSchema(), legacy_submission(_json_body()), "json"), None)


@blp.route("/jobs/repeat", methods=["POST"])
@blp.doc(responses={200: {"description": "a finished job of this video and options (cached: true)"},
                    202: {"description": "a job of this video and options still under way"},
                    404: {"description": "no such job: upload the file",
                          "content": {"application/problem+json": {"schema": ProblemSchema}}}})
def repeat_job():
    """Ask by content hash before uploading: JSON {"video_sha256", options}. The job that made
    (or is making) the slides of that video with those options, as a repeated upload would
    answer; 404 when there is none, and then the file has to be sent to POST /api/jobs."""
    fields = _load(RepeatJsonSchema(), _json_body(), "json")
    digest = fields.pop("video_sha256")
    earlier = find_repeat(digest, _options(fields))
    if earlier is None:
        problem(404, "no finished or running job has a video with this SHA-256 and these options; "
                     "upload the file to POST /api/jobs")
    return _repeat(earlier)


@blp.route("/jobs", methods=["GET"])
@blp.arguments(JobListQuerySchema, location="query")
@blp.response(200, JobListSchema)
def list_jobs(query):
    """Jobs newest first, optionally of one status; `per_page` at most 100."""
    page, per_page = query["page"], query["per_page"]
    items, total = job_store().list(query.get("status"), page, per_page)
    pages = max(1, -(-total // per_page))
    if page > pages:
        problem(404, f"page {page} is past the last page ({pages}) of {total} job(s) at per_page={per_page}")
    return jsonify({"items": [job_document(doc) for doc in items], "page": page, "per_page": per_page,
                    "total": total, "pages": pages})


@blp.route("/jobs/<job_id>", methods=["GET"])
@blp.response(200, JobSchema)
@blp.alt_response(404, schema=ProblemSchema, description="no such job")
def get_job(job_id):
    """The job's status, stage, progress (never decreasing) and, when done, its artifacts."""
    # The poll endpoint: plain json.dumps (no key sorting) keeps it close to a bare route.
    return current_app.response_class(json.dumps(job_document(find_job(job_id))), mimetype="application/json")


@blp.route("/jobs/<job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@blp.alt_response(409, schema=ProblemSchema, description="the job already finished")
def cancel_job(job_id):
    """Cancel a queued or running job; a running one stops at its next progress report."""
    doc = find_job(job_id)
    if not job_store().cancel(job_id):
        doc = find_job(job_id)
        problem(409, f"job {job_id} already {doc['status']}; there is nothing to cancel")
    executor().revoke(job_id, doc.get("attempts") or 0)
    storage().delete_prefix(work_prefix(job_id))  # a running step removes what it writes later
    return jsonify(job_document(job_store().get(job_id) or doc))


@blp.route("/jobs/<job_id>", methods=["DELETE"])
@blp.response(204)
def delete_job(job_id):
    """Delete the job, its rows and its files; a queued or running job is cancelled first."""
    doc = find_job(job_id)
    if doc["status"] in ACTIVE_STATES:
        job_store().cancel(job_id)
    job_store().delete(job_id)
    storage().delete_prefix(job_prefix(job_id))
    return "", 204


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def find_job(job_id: str) -> dict:
    """The job's record (job_storage.job_record), or a 404 problem naming the id (also for ids
    that are not UUIDs)."""
    canonical = job_id.lower()
    if not _CANONICAL_UUID.fullmatch(canonical):  # the fast path is the common, canonical form
        try:
            canonical = str(uuid.UUID(job_id))
        except ValueError:
            problem(404, f"no job with id {job_id!r}: job ids are UUIDs such as 0b8f6c2e-3f1a-4c55-9f0e-2a7d5b1c9e44")
    doc = job_store().get(canonical)
    if doc is None:
        problem(404, f"no job with id {job_id!r}")
    return doc


def job_document(record: dict) -> dict:
    """What the API sends for a job: JobSchema's serialization of the store's record."""
    return _JOB.dump(record)


_JOB = JobSchema()


# ---- submission ------------------------------------------------------------------------------
def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        problem(400, "send the video as multipart/form-data with a `file` field, "
                     "or a JSON object {\"video_url\": \"https://...\"}")
    return body


def _load(schema, data: dict, location: str) -> dict:
    try:
        loaded = schema.load(data)
    except ValidationError as err:
        problem(422, "", errors={location: err.messages}, invalid_fields=sorted(err.messages))
    return {k: v for k, v in loaded.items() if v is not None}


def _options(fields: dict) -> dict:
    given = {k: v for k, v in fields.items() if k not in ("video_url", "priority")}
    try:
        return ExtractOptions.from_dict(given).to_dict()
    except (TypeError, ValueError) as exc:
        problem(422, f"invalid options: {exc}")


def _accept(fields: dict, upload):
    options = _options(fields)
    url = fields.get("video_url")
    has_file = upload is not None and upload.filename != ""
    if has_file and url:
        problem(400, "send either a file or video_url, not both")
    if not has_file and not url:
        problem(400, "no video: attach it as the multipart field `file`, or give video_url")
    try:
        kind = executor().choose()
    except BrokerUnavailable as exc:
        problem(503, str(exc))
    job = Job(id=new_id(), options=options, executor=kind, owner=executor().owner_for(kind),
              priority=fields.get("priority", DEFAULT_PRIORITY))
    if has_file:
        earlier = _store_upload(job, upload)
        if earlier is not None:
            return _repeat(earlier)
    else:
        if (why := check_video_url(url)) is not None:
            problem(422, why, invalid_fields=["video_url"])
        job.source_url = url
    try:
        job_store().create(job)
    except Exception:
        storage().delete_prefix(job_prefix(job.id))
        raise
    doc = _enqueue(job.id, kind)
    response = jsonify(job_document(doc))
    response.status_code = 202
    response.headers["Location"] = url_for("jobs.get_job", job_id=job.id)
    return response


def _store_upload(job: Job, upload) -> str | None:
    """Probe the upload with PyAV and put it in storage; refuse it (422) if it is no usable video.
    The same video with the same options as a job that succeeded or is still running is not
    stored again: that job's id is returned instead (jobs/repeats.py)."""
    name = secure_filename(upload.filename or "") or "video"
    with tempfile.TemporaryDirectory(prefix="slidecast-upload-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix.lower()[:10])
        upload.save(path)
        job.video_sha256 = FileHasher(path).result()
        if (earlier := find_repeat(job.video_sha256, job.options)) is not None:
            return earlier
        try:
            info = probe_video(path, current_app.config["MAX_VIDEO_SECONDS"])
        except BadVideo as exc:
            problem(422, f"{name}: {exc}", invalid_fields=["file"])
        key = upload_key(job.id, name)
        size = storage().put_file(key, path)
    job.source_filename, job.upload_key, job.duration = upload.filename[:255], key, round(info["duration"], 3)
    job.artifacts.append(Artifact(kind="upload", key=key, size=size,
                                  content_type=upload.mimetype or "application/octet-stream"))
    return None


def _repeat(job_id: str):
    """The earlier job of the same upload: 200 with `cached: true` when its slides are ready,
    else 202 with the job still under way (`cached: false`); nothing new is created."""
    doc = job_store().get(job_id)
    response = jsonify(dict(job_document(doc), cached=doc["status"] == "succeeded"))
    response.status_code = 200 if doc["status"] == "succeeded" else 202
    response.headers["Location"] = url_for("jobs.get_job", job_id=job_id)
    return response


def _enqueue(job_id: str, kind: str) -> dict:
    """Hand the committed job to its executor. A required broker that fails now fails the job."""
    try:
        executor().submit(job_id, kind)
    except BrokerUnavailable as exc:
        job_store().fail(job_id, f"not started: {exc}")
        problem(503, str(exc))
    return job_store().get(job_id)
