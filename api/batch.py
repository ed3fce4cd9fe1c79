"""POST /api/jobs/batch: several videos in one request. Each is submitted exactly as POST
/api/jobs would submit it alone (api.jobs.accept: the same checks, limits, repeats and a count
of RATE_LIMIT_SUBMIT each) and answered in its place in the list; one refused video does not
stop the others."""

from __future__ import annotations

import time
from http import HTTPStatus

from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from api.errors import http_problem, problem, problem_response
from api.guards import display_name, json_object
from api.jobs import accept, form_fields, load_fields, submit_limit
from infra.extensions import limiter
from api.schemas import BatchFormSchema, BatchJsonSchema, BatchResultSchema, SubmitFormSchema, SubmitJsonSchema

blp = Blueprint("batch", __name__, description="Submit several videos at once")


@blp.route("/jobs/batch", methods=["POST"])
@blp.doc(responses={
    202: {"description": "every video accepted (each a new job, or a repeat's earlier job)",
          "content": {"application/json": {"schema": BatchResultSchema}}},
    207: {"description": "some videos accepted, some refused: each item holds its job or its problem",
          "content": {"application/json": {"schema": BatchResultSchema}}}})
def submit_batch():
    """Submit up to BATCH_MAX videos: multipart with several `file` parts and/or `video_url`
    fields, or JSON {"video_urls": [...]}; the other fields are options for every video.

    The answer lists one item per video, files first then URLs, each in the order sent: its
    `status` (202 a new job, 200 a finished repeat, or the 4xx/503 that a single submission
    would get), and its `job` or its `problem`. 202 when every video was accepted, 207 when some
    were; when none was, a problem+json with the same items (refused_answer)."""
    limit = current_app.config["BATCH_MAX"]
    request.max_content_length = limit * current_app.config["MAX_CONTENT_LENGTH"]
    if request.mimetype == "multipart/form-data":
        shared, items, schema, location = _multipart_items()
    else:
        shared, items, schema, location = _json_items()
    if not items:
        problem(400, "no video: attach files as multipart `file` parts, or give video_url fields "
                     "(JSON: {\"video_urls\": [\"https://...\"]})")
    if len(items) > limit:
        problem(422, f"a batch holds at most {limit} videos (BATCH_MAX) and this one has {len(items)}: "
                     "send the rest in another batch", invalid_fields=["batch"], maximum=limit)
    results = [_submit_one(schema, location, shared, kind, value) for kind, value in items]
    accepted = sum(item["status"] < 400 for item in results)
    if not accepted:
        return refused_answer(results)
    response = jsonify({"items": results, "accepted": accepted, "refused": len(results) - accepted})
    response.status_code = 202 if accepted == len(results) else 207
    return response


# Reasons quoted in the detail of a batch refused whole; every one is in its item.
QUOTED_REASONS = 3


def refused_answer(results: list[dict]):
    """A batch of which no video was accepted: an error, not a 207 a client may read as partly
    done. Its status is the one every item got (a 429 or 503 says "the whole batch, later"),
    else 422; the items are there as in any batch answer."""
    statuses = {item["status"] for item in results}
    status = statuses.pop() if len(statuses) == 1 else 422
    reasons = [named(item.get("file") or str(item.get("video_url")), item["problem"]["detail"])
               for item in results[:QUOTED_REASONS]]
    more = len(results) - len(reasons)
    detail = (f"none of the {len(results)} videos was accepted: " + "; ".join(reasons)
              + (f"; and {more} more, each in its item" if more else ""))
    headers, extra = {}, {}
    if status == 429:
        extra["retry_after"] = max(item["problem"]["retry_after"] for item in results)
        headers["Retry-After"] = str(extra["retry_after"])
    response = problem_response(status, HTTPStatus(status).phrase, detail, items=results, accepted=0,
                                refused=len(results), **extra)
    response.headers.update(headers)
    return response


def named(name: str, detail: str) -> str:
    """"name: why", unless the reason names the video first already."""
    return detail if detail.startswith(name) else f"{name}: {detail}"


def _multipart_items():
    if "deck" in request.files or "deck" in request.form:
        # One deck belongs to one talk: sent with a batch it would be taken for every video.
        problem(422, "a batch takes no `deck`: send a video with its deck to POST /api/jobs",
                invalid_fields=["deck"])
    fields = form_fields("file")
    fields.pop("video_url", None)
    load_fields(BatchFormSchema(), fields, "form")  # options shared by every video: checked once
    items = [("file", upload) for upload in request.files.getlist("file")]
    items += [("video_url", url) for url in request.form.getlist("video_url")]
    return fields, items, SubmitFormSchema, "form"


def _json_items():
    body = json_object()
    urls = body.pop("video_urls", None)
    if not isinstance(urls, list):
        problem(422, "video_urls must be a list of URLs: {\"video_urls\": [\"https://...\"]}",
                invalid_fields=["video_urls"])
    load_fields(BatchJsonSchema(partial=("video_urls",)), body, "json")  # options shared by every video: checked once
    return body, [("video_url", url) for url in urls], SubmitJsonSchema, "json"


def _submit_one(schema, location: str, shared: dict, kind: str, value) -> dict:
    """One video through the single-submit path; its answer as a batch item."""
    which = {"file": display_name(value.filename)} if kind == "file" else {"video_url": value}
    try:
        with submit_limit:
            if kind == "file":
                _check_size(value)
                response = accept(load_fields(schema(), shared, location), value)
            else:
                response = accept(load_fields(schema(), dict(shared, video_url=value), location), None)
    except HTTPException as error:
        response = http_problem(error)
    outcome = "job" if response.status_code < 400 else "problem"
    item = dict(which, status=response.status_code, **{outcome: response.get_json()})
    if response.status_code == 429:  # the batch's own headers cannot say when for each video
        item["problem"]["retry_after"] = _seconds_to_reset()
    return item


def _seconds_to_reset() -> int:
    limit = limiter.current_limit
    return max(1, int(limit.reset_at - time.time()) + 1) if limit is not None else 60


def _check_size(upload) -> None:
    """A single submission's size limit, per file (the batch's body may hold BATCH_MAX of them)."""
    limit = current_app.config["MAX_UPLOAD_MB"]
    if upload.stream.size > limit * 1024 * 1024:
        problem(413, f"{display_name(upload.filename)} is larger than the {limit} MB allowed for one video "
                     "(MAX_UPLOAD_MB); send a smaller file, or ask the operator to raise MAX_UPLOAD_MB",
                invalid_fields=["file"])
