"""Jobs: submit (upload or URL), list, read, cancel, delete; and the /api/extract alias."""

from __future__ import annotations

import difflib
import json
import mimetypes
import re
import uuid
from pathlib import Path

import av

from flask import current_app, jsonify, request, url_for
from flask_smorest import Blueprint
from marshmallow import ValidationError

from api.auth import check_priority, may_see, owner_filter, rate_limit_key, submitter_id
from api.errors import problem
from api.guards import display_name, json_object, one_file, refuse_nul, refuse_unknown_type, stored_name
from api.legacy import legacy_submission
from api.schemas import (JobListQuerySchema, JobListSchema, JobSchema, ProblemSchema, RepeatJsonSchema,
                         SubmitFormSchema, SubmitJsonSchema)
from infra.extensions import (executor, job_store, limiter, read_rate_limit, read_rate_limit_off, storage,
                              submit_rate_limit, submit_rate_limit_off)
from jobs.executor import BrokerUnavailable
from jobs import keys
from jobs.deck import BadDeck, check_deck, store_deck
from jobs.inputs import BadVideo, check_video_url, probe_video, video_limits
from jobs.keys import job_prefix, upload_key, work_prefix
from jobs.repeats import end_repeat_check, find_repeat, hold_repeat_check
from jobs.scratch import scratch
from jobs.upload_readers import remove_unused_upload
from models import ACTIVE_STATES, Artifact, Job, new_id
from slidecast import ExtractOptions
from slidecast.video import mpegts_as_mp4

blp = Blueprint("jobs", __name__, description="Submit and follow extraction jobs")
DEFAULT_PRIORITY = 5
TOO_MANY = ("too many job submissions from this API key or address (RATE_LIMIT_SUBMIT, one count for "
            "/api/jobs and /api/extract); wait the number of seconds in the Retry-After header, then try again")
TOO_MANY_READS = ("too many reads from this API key or address (RATE_LIMIT_READ); "
                  "wait the number of seconds in the Retry-After header, then try again")
# One counter for every submit route (scope "submit"), per key or address, in Redis when set.
submit_limit = limiter.shared_limit(submit_rate_limit, scope="submit", key_func=rate_limit_key,
                                    exempt_when=submit_rate_limit_off, error_message=TOO_MANY)
read_limit = limiter.shared_limit(read_rate_limit, scope="read", key_func=rate_limit_key,
                                  exempt_when=read_rate_limit_off, error_message=TOO_MANY_READS)


@blp.route("/jobs", methods=["POST"])
@submit_limit
@blp.doc(responses={202: {"description": "job accepted", "content": {"application/json": {"schema": JobSchema}}}})
def submit_job():
    """Submit a video: multipart `file` (plus option fields, and the talk's PDF as `deck`) or
    JSON {"video_url", options}.

    Or the video as the body itself (Content-Type video/* or application/octet-stream), with
    the options and `filename` in the query string: no multipart to parse, no deck.

    Answers 202 with the job and a Location header; poll GET /api/jobs/{id}. Nothing is
    created when the request is refused."""
    if request.mimetype == "multipart/form-data":
        fields = load_fields(SubmitFormSchema(), form_fields("file", "deck"), "form", ("file", "deck"))
        return accept(fields, one_file("file"), one_file("deck"))
    if request.is_raw_video:
        query = request.args.to_dict()
        refuse_nul(query, "query")
        name = query.pop("filename", "") or "video" + (request.mimetype.startswith("video/")
                                                       and mimetypes.guess_extension(request.mimetype) or "")
        fields = load_fields(SubmitFormSchema(), query, "query")  # refused before the body is read
        return accept(fields, request.body_as_file(name))
    refuse_unknown_type()
    return accept(load_fields(SubmitJsonSchema(), json_object(), "json"), None)


@blp.route("/extract", methods=["POST"])
@submit_limit
@blp.doc(responses={202: {"description": "job accepted", "content": {"application/json": {"schema": JobSchema}}}})
def submit_extract():
    """Alias of POST /api/jobs accepting the original service's fields (see docs/service.md):
    "url" or "video_url", "options": {...}, "threshold", "min_duration", "enable_ocr", ..."""
    if request.mimetype == "multipart/form-data":
        data = legacy_submission(form_fields("file", "video", "deck"))
        return accept(load_fields(SubmitFormSchema(), data, "form", ("file", "deck")), one_file("file", "video"),
                      one_file("deck"))
    refuse_unknown_type()
    return accept(load_fields(SubmitJsonSchema(), legacy_submission(json_object()), "json"), None)


@blp.route("/jobs/repeat", methods=["POST"])
@read_limit  # a look-up, counted with the reads: asking before each upload must not halve the submit budget
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": RepeatJsonSchema}}},
         responses={200: {"description": "a finished job of this video and options (cached: true)",
                          "content": {"application/json": {"schema": JobSchema}}},
                    202: {"description": "a job of this video and options still under way",
                          "content": {"application/json": {"schema": JobSchema}}},
                    **{code: {"description": text, "content": {"application/problem+json": {"schema": ProblemSchema}}}
                       for code, text in ((400, "the body is not a JSON object"),
                                          (404, "no such job: upload the file"),
                                          (413, "the JSON body is too large"),
                                          (429, "rate limit (RATE_LIMIT_READ) reached; see Retry-After"),
                                          (422, "invalid video_sha256 or options"))}})
def repeat_job():
    """Ask by content hash before uploading: JSON {"video_sha256", options}. The job that made
    (or is making) the slides of that video with those options, as a repeated upload would
    answer; 404 when there is none, and then the file has to be sent to POST /api/jobs."""
    fields = load_fields(RepeatJsonSchema(), json_object(), "json")
    digest = fields.pop("video_sha256")
    earlier = find_repeat(digest, _options(fields), submitter_id())
    if earlier is None:
        problem(404, "no finished or running job has a video with this SHA-256 and these options; "
                     "upload the file to POST /api/jobs")
    return _repeat(earlier)


@blp.route("/jobs", methods=["GET"])
@read_limit
@blp.arguments(JobListQuerySchema, location="query")
@blp.response(200, JobListSchema)
def list_jobs(query):
    """Jobs newest first, optionally of one status; `per_page` at most 100."""
    page, per_page = query["page"], query["per_page"]
    items, total = job_store().list(query.get("status"), page, per_page, owner=owner_filter())
    pages = max(1, -(-total // per_page))
    if page > pages:
        problem(404, f"page {page} is past the last page ({pages}) of {total} job(s) at per_page={per_page}")
    return jsonify({"items": [job_document(doc) for doc in items], "page": page, "per_page": per_page,
                    "total": total, "pages": pages})


@blp.route("/jobs/<job_id>", methods=["GET"])
@read_limit
@blp.response(200, JobSchema)
@blp.alt_response(404, schema=ProblemSchema, description="no such job")
def get_job(job_id):
    """The job's status, stage, progress (never decreasing) and, when done, its artifacts."""
    # The poll endpoint: plain json.dumps (no key sorting) keeps it close to a bare route, and the
    # body is made once per near-cache entry (job_store().get_rendered).
    doc, body = job_store().get_rendered(canonical_id(job_id), _poll_body)
    visible(doc, job_id)
    return current_app.response_class(body, mimetype="application/json")


def _poll_body(record: dict) -> str:
    return json.dumps(job_document(record))


@blp.route("/jobs/<job_id>/cancel", methods=["POST"])
@blp.response(200, JobSchema)
@blp.alt_response(409, schema=ProblemSchema, description="the job already finished")
def cancel_job(job_id):
    """Cancel a queued or running job; a running one stops at its next progress report."""
    doc = find_job(job_id)
    job_id = doc["id"]  # the canonical form: the store knows no other (UPPERCASE, {braces}, no hyphens)
    if not job_store().cancel(job_id):
        doc = find_job(job_id)
        problem(409, f"job {job_id} already {doc['status']}; there is nothing to cancel")
    executor().revoke(job_id, doc.get("attempts") or 0)
    storage().delete_prefix(work_prefix(job_id))  # a running step removes what it writes later
    remove_unused_upload(job_id)  # unless a step copies it now: that step removes it then
    return jsonify(job_document(job_store().get(job_id) or doc))


@blp.route("/jobs/<job_id>", methods=["DELETE"])
@blp.response(204)
def delete_job(job_id):
    """Delete the job, its rows and its files; a queued or running job is cancelled first."""
    doc = find_job(job_id)
    job_id = doc["id"]
    if doc["status"] in ACTIVE_STATES:
        job_store().cancel(job_id)
    job_store().delete(job_id)
    storage().delete_prefix(job_prefix(job_id))
    return "", 204


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def find_job(job_id: str) -> dict:
    """The job's record (job_storage.job_record), or a 404 problem naming the id (also for ids
    that are not UUIDs)."""
    return visible(job_store().get(canonical_id(job_id)), job_id)


def canonical_id(job_id: str) -> str:
    """The job id in its canonical UUID form, or a 404 problem for an id that is not a UUID."""
    canonical = job_id.lower()
    if not _CANONICAL_UUID.fullmatch(canonical):  # the fast path is the common, canonical form
        try:
            canonical = str(uuid.UUID(job_id))
        except ValueError:
            problem(404, f"no job with id {job_id!r}: job ids are UUIDs such as 0b8f6c2e-3f1a-4c55-9f0e-2a7d5b1c9e44")
    return canonical


def visible(doc: dict | None, job_id: str) -> dict:
    """`doc`, or a 404 problem when there is none or the caller's key may not see it."""
    if doc is None or not may_see(doc):  # another key's job is "no job": existence is not disclosed
        problem(404, f"no job with id {job_id!r}")
    return doc


def job_document(record: dict) -> dict:
    """What the API sends for a job: JobSchema's serialization of the store's record (which
    fields it declares: the owning key's id stays inside)."""
    return _JOB.dump(record)


_JOB = JobSchema()


# ---- submission ------------------------------------------------------------------------------
def form_fields(*file_fields: str) -> dict:
    """The form fields; a file part that arrived as a plain field had no usable file name."""
    for name in file_fields:
        if name in request.form and name not in request.files:
            problem(422, f"the `{name}` part has no usable file name: send it as a file "
                         f"(curl -F {name}=@lecture.mp4) with a file name such as lecture.mp4",
                    invalid_fields=[name])
    fields = request.form.to_dict()
    refuse_nul(fields, "form")
    return fields


# marshmallow's message for a field the schema does not have (Meta.unknown = RAISE).
UNKNOWN = "Unknown field."


def load_fields(schema, data: dict, location: str, parts: tuple[str, ...] = ()) -> dict:
    """The fields `schema` loads from `data`, else a 422 naming each wrong one; for an unknown
    field the 422 also lists the fields accepted here (the schema's, and file `parts`)."""
    try:
        loaded = schema.load(data)
    except ValidationError as err:
        unknown = any(why == [UNKNOWN] for why in err.messages.values())
        accepted = {"accepted_fields": sorted(set(schema.fields) | set(parts))} if unknown else {}
        for name, why in err.messages.items():
            # a typo (trancribe) is more often meant than a new field: name the one it is closest to
            close = difflib.get_close_matches(str(name), accepted.get("accepted_fields", []), n=1) \
                if why == [UNKNOWN] else []
            if close:
                err.messages[name] = [f"Unknown field; did you mean {close[0]}?"]
        problem(422, "", errors={location: err.messages}, invalid_fields=sorted(err.messages), **accepted)
    return {k: v for k, v in loaded.items() if v is not None}


def _options(fields: dict) -> dict:
    given = {k: v for k, v in fields.items() if k not in ("video_url", "priority")}
    try:
        return ExtractOptions.from_dict(given).to_dict()
    except (TypeError, ValueError) as exc:
        problem(422, f"invalid options: {exc}")


def accept(fields: dict, upload, deck_upload=None):
    """The single-submit path (also each item of a batch): check the video (an upload of
    api/uploads.py or fields["video_url"]) and its options, create the job and hand it to its
    executor; `deck_upload`, the talk's PDF, when one was sent. Returns the 202 (or a repeat's
    200/202) response; refusals raise problem()."""
    options = _options(fields)
    check_priority(fields.get("priority"), DEFAULT_PRIORITY)
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
    with scratch("deck") as tmp:
        deck = _checked_deck(deck_upload, Path(tmp))
        if deck is not None:
            options["deck"] = deck[1]  # before the repeat check: another deck is another job
        job = Job(id=new_id(), options=options, executor=kind, owner=executor().owner_for(kind),
                  priority=fields.get("priority", DEFAULT_PRIORITY), api_key_id=submitter_id())
        try:  # a refused or failed submission leaves nothing behind in storage
            if has_file:
                earlier = _store_upload(job, upload)
                if earlier is not None:
                    end_repeat_check()  # nothing to write: identical uploads waiting on the check go on
                    return _repeat(earlier)
            else:
                if (why := check_video_url(url)) is not None:
                    problem(422, why, invalid_fields=["video_url"])
                job.source_url = url
            if deck is not None:
                job.artifacts.append(Artifact(kind="deck", key=keys.deck_key(job.id), size=store_deck(job.id, deck[0]),
                                              content_type="application/pdf"))
            job_store().create(job)
        except BaseException:
            end_repeat_check()
            storage().delete_prefix(job_prefix(job.id))
            raise
    doc = _enqueue(job.id, kind)
    response = jsonify(job_document(doc))
    response.status_code = 202
    response.headers["Location"] = url_for("jobs.get_job", job_id=job.id)
    return response


def _checked_deck(upload, folder: Path) -> tuple[Path, str] | None:
    """The `deck` part saved in `folder` and its mark for the options (jobs/deck.py), None when
    none was sent; 422 naming the field when it is no PDF the service takes."""
    if upload is None or upload.filename == "":
        return None
    path = folder / stored_name(upload.filename)
    upload.save(path)
    try:
        return path, check_deck(path, current_app.config)
    except BadDeck as exc:
        problem(422, f"{display_name(upload.filename)}: {exc}", invalid_fields=["deck"])


def _store_upload(job: Job, upload) -> str | None:
    """Probe the upload with PyAV and put it in storage; refuse it (422) if it is no usable video.
    The same video with the same options as a job of the same key that succeeded or is still
    running is not stored again: that job's id is returned instead (jobs/repeats.py). The file
    and its SHA-256 are the ones written while the request streamed in (api/uploads.py)."""
    name = stored_name(upload.filename or "")
    received = upload.stream
    job.video_sha256 = received.sha256
    hold_repeat_check(job.video_sha256, job.options, job.api_key_id)  # until the job is committed
    if (earlier := find_repeat(job.video_sha256, job.options, job.api_key_id)) is not None:
        return earlier
    stored_as, content_type = name, upload.mimetype or "application/octet-stream"
    with scratch("remux") as tmp:
        video = Path(tmp) / "video.mp4"
        try:
            if mpegts_as_mp4(received.path, video):  # the probe and every later step seek in it
                stored_as, content_type = str(Path(name).with_suffix(".mp4")), "video/mp4"
            else:
                video = received.path
            info = probe_video(video, video_limits(current_app.config))
        except BadVideo as exc:
            problem(422, f"{display_name(upload.filename)}: {exc}", invalid_fields=["file"])
        except av.FFmpegError:  # an MPEG-TS file whose packets cannot be copied
            problem(422, f"{display_name(upload.filename)}: the file is not a readable video, or it is truncated",
                    invalid_fields=["file"])
        key = upload_key(job.id, stored_as)
        size = storage().put_file(key, video)
    job.source_filename, job.upload_key, job.duration = display_name(upload.filename), key, round(info["duration"], 3)
    job.artifacts.append(Artifact(kind="upload", key=key, size=size, content_type=content_type))
    return None


def _repeat(job_id: str):
    """The earlier job of the same upload: 200 with `cached: true` when its slides are ready,
    else 202 with the job still under way (`cached: false`); nothing new is created."""
    doc = job_store().get(job_id)
    if doc is None:  # deleted since it was found
        problem(409, "the earlier job of this video was deleted just now; send the request again")
    response = jsonify(job_document(dict(doc, cached=doc["status"] == "succeeded")))
    response.status_code = 200 if doc["status"] == "succeeded" else 202
    response.headers["Location"] = url_for("jobs.get_job", job_id=job_id)
    return response


def _enqueue(job_id: str, kind: str) -> dict:
    """Hand the committed job to its executor. A required broker that fails now fails the job."""
    try:
        executor().submit(job_id, kind)
    except BrokerUnavailable as exc:
        job_store().fail(job_id, f"not started: {exc}")
        remove_unused_upload(job_id)
        problem(503, str(exc))
    return job_store().get(job_id)
