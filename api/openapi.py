"""The OpenAPI document made true to the server, after every blueprint is registered.

flask-smorest documents errors as application/json with its own Error schema and knows nothing of
the checks that run before a view (API keys, rate limits, the database going away). Here every
error becomes the Problem schema as application/problem+json, each operation lists the statuses
it can really answer, both submit routes describe their bodies, file routes their media types and
the 202 its Location header. tests/service/test_openapi_conformance.py holds the server to it.
"""

from __future__ import annotations

from api.auth import OPERATIONS_PATHS, PUBLIC_PATHS
from api.schemas import BatchFormSchema, BatchJsonSchema, SubmitFormSchema, SubmitJsonSchema

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `detail` says what to change. Some errors add members "
                   "(invalid_fields, errors, retry_after, job_status, artifact).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "invalid_fields": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "object", "additionalProperties": True},
        "retry_after": {"type": "integer", "description": "seconds; also the Retry-After header"},
        "job_status": {"type": "string"}, "artifact": {"type": "string"},
    },
    "additionalProperties": True,
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer"}}}
_WHY = {
    400: "the body is not a submission (not a JSON object, nested too deep, a multipart body that cannot be read, "
         "no video)",
    401: "AUTH_REQUIRED: no API key, or an unknown or revoked one (see WWW-Authenticate)",
    403: "an operations endpoint, or a priority above 5, asked with a key that is not an admin key",
    404: "no such job for this key, or it has no such file",
    409: "the job has not finished (or has finished, for cancel)",
    413: "the body is larger than MAX_UPLOAD_MB (or a JSON body larger than 64 KiB, a form of more than 1000 parts "
         "or with a text field over 500 KB)",
    415: "the body is none of multipart/form-data, JSON, video/* or application/octet-stream",
    422: "invalid fields, a video outside the limits (MAX_VIDEO_SECONDS, MAX_VIDEO_PIXELS), or a deck that is "
         "no usable PDF or is outside its limits (MAX_DECK_MB, MAX_DECK_PAGES)",
    429: "rate limit (RATE_LIMIT_SUBMIT or RATE_LIMIT_READ) reached; see Retry-After",
    503: "the database or a required broker is unavailable; see Retry-After",
}
SUBMIT_ERRORS = (400, 401, 403, 413, 415, 422, 429, 503)
BATCH_PATH = "/api/jobs/batch"
# A batch's own refusals, and those of a batch no video of which was accepted (api/batch.py,
# refused_answer: the status every item got, else 422).
BATCH_ERRORS = (400, 401, 413, 422, 429, 503)
READ_ERRORS = (401, 404, 429, 503)
FILE_TYPES = {
    "manifest": {"application/json": {"schema": {"type": "object"}}},
    "pdf": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "notes": {"text/markdown": {"schema": {"type": "string"}}},
    "transcript.srt": {"application/x-subrip": {"schema": {"type": "string"}}},
    "transcript.vtt": {"text/vtt": {"schema": {"type": "string"}}},
    "archive.zip": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}
SUBMIT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/SubmitForm"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/SubmitJson"}},
    },
}
# POST /api/jobs also takes the video as the body itself, its options in the query string.
RAW_VIDEO_BODY = {"schema": {"type": "string", "format": "binary"}, "description": (
    "the video file as the whole body (also any video/* type); the options of SubmitFormFields "
    "and `filename` go in the query string; no deck")}

BATCH_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/BatchForm"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/BatchJson"}},
    },
}


def problem_response(code: int) -> dict:
    """The documented answer for an error status: Problem as application/problem+json."""
    response = {"description": _WHY.get(code, "error"),
                "content": {"application/problem+json": {"schema": PROBLEM_REF}}}
    if code in (429, 503):
        response["headers"] = dict(_RETRY_AFTER)
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _errors_of(path: str, method: str) -> tuple[int, ...]:
    """Which error statuses an operation can answer besides those its view documents."""
    codes: set[int] = {503}
    if path not in PUBLIC_PATHS:
        codes.add(401)
    if path in OPERATIONS_PATHS:
        codes.add(403)
    if method == "post" and path in ("/api/jobs", "/api/extract"):
        codes.update(SUBMIT_ERRORS)
    elif path == BATCH_PATH:
        codes.update(BATCH_ERRORS)
    elif path.startswith("/api/jobs"):
        codes.update(READ_ERRORS if method == "get" else (401, 404, 503))
    if "{job_id}" in path and path.count("/") > 3:
        codes.add(409)
    if "{job_id}" in path and method == "delete":
        codes.discard(409)
    return tuple(sorted(codes))


def _file_route(path: str) -> str | None:
    last = path.rsplit("/", 1)[-1]
    return last if "{job_id}" in path and last in FILE_TYPES else None


def _fix_operation(path: str, method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for code in list(responses):
        if code == "default" or int(code) >= 400:
            if not (path == "/api/health" and code == "503"):  # health's 503 is the health document
                responses[code] = problem_response(int(code) if code != "default" else 500)
    for code in _errors_of(path, method):
        if path == "/api/health":
            continue
        responses.setdefault(str(code), problem_response(code))
    responses["default"] = dict(problem_response(500), description="any other error")
    if method == "post" and path in ("/api/jobs", "/api/extract"):
        operation["requestBody"] = SUBMIT_BODY
        if path == "/api/jobs":
            operation["requestBody"] = {**SUBMIT_BODY, "content": {**SUBMIT_BODY["content"],
                                                                   "application/octet-stream": RAW_VIDEO_BODY}}
        responses["202"]["headers"] = {"Location": {"description": "the job's URL: poll it",
                                                    "schema": {"type": "string"}}}
    if path == BATCH_PATH:
        operation["requestBody"] = BATCH_BODY
    if (kind := _file_route(path)) is not None:
        responses["200"] = {"description": f"the {kind} file", "content": FILE_TYPES[kind]}


def _submit_form_schema() -> dict:
    return {"allOf": [{"$ref": "#/components/schemas/SubmitFormFields"}],
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary", "description": "the video"},
                           "deck": {"type": "string", "format": "binary",
                                    "description": "the talk's slides as a PDF (optional, at most MAX_DECK_MB and "
                                                   "MAX_DECK_PAGES): every appearance gets deck_page, aligned slides "
                                                   "take the page's text, slides.pdf the page itself"}}}


def _batch_form_schema() -> dict:
    return {"allOf": [{"$ref": "#/components/schemas/BatchFormFields"}],
            "type": "object",
            "properties": {
                "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                         "description": "the videos, one part each"},
                "video_url": {"type": "array", "items": {"type": "string"},
                              "description": "videos to download, one field each"}}}


def document_truthfully(api) -> None:
    """Rewrite the registered operations of `api` (a flask-smorest Api) in place."""
    spec = api.spec
    spec.components.schema("SubmitFormFields", schema=SubmitFormSchema)
    spec.components.schema("SubmitForm", _submit_form_schema())
    spec.components.schema("SubmitJson", schema=SubmitJsonSchema)
    spec.components.schema("BatchFormFields", schema=BatchFormSchema)
    spec.components.schema("BatchForm", _batch_form_schema())
    spec.components.schema("BatchJson", schema=BatchJsonSchema)
    spec.components.schemas["Problem"] = PROBLEM_SCHEMA
    for name in list(spec.components.responses):
        spec.components.responses[name] = dict(problem_response(422 if "UNPROCESSABLE" in name else 500),
                                                description=spec.components.responses[name]["description"])
    for path, operations in spec._paths.items():  # apispec keeps no public accessor for them
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                _fix_operation(path, method, operation)
