"""API errors as RFC 9457 problem+json documents: `problem(status, detail)` stops a request with
one; SlidecastApi answers every HTTP error that way; the database going away is a 503."""

from __future__ import annotations

import difflib
import logging

import sqlalchemy as sa
from flask import current_app, jsonify, request
from flask_smorest import Api, abort
from werkzeug.exceptions import HTTPException

from infra.extensions import db

log = logging.getLogger("slidecast.api")

PROBLEM = "application/problem+json"


# Seconds a 503 asks the client to wait (Retry-After header and `retry_after` member).
RETRY_AFTER_SECONDS = 5


def problem(status: int, detail: str, headers: dict | None = None, **extra):
    """Stop the request with a problem+json answer; `extra` members are added to the document,
    `headers` to the response."""
    abort(status, message=detail, extra=extra, headers=headers or {})


def problem_response(status: int, title: str, detail: str, **extra):
    """A problem+json response; a 503 also says when to try again (Retry-After, RFC 9110)."""
    if status == 503:
        extra.setdefault("retry_after", RETRY_AFTER_SECONDS)
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    if status == 503:
        response.headers["Retry-After"] = str(body["retry_after"])
    return response


def _too_large_detail() -> str:
    limit = current_app.config["MAX_UPLOAD_MB"]
    return (f"the request is larger than the {limit} MB allowed (MAX_UPLOAD_MB); "
            "send a smaller file, or ask the operator to raise MAX_UPLOAD_MB")


# What a user guesses under /api/jobs/ID/: the option's name (subtitles) or the file the CLI
# and the archive call it (slides.pdf), for the route that serves it.
GUESSED_NAMES = {"subtitles.srt": "transcript.srt", "subtitles.vtt": "transcript.vtt",
                 "subtitles": "transcript.srt", "transcript": "transcript.srt",
                 "slides.pdf": "pdf", "notes.md": "notes", "manifest.json": "manifest",
                 "slides.pptx": "pptx", "archive": "archive.zip", "zip": "archive.zip"}


def _closest_route(path: str) -> str | None:
    """The route `path` was most likely meant for: same segments but one, the differing one
    a known guess or close in spelling (chapter.txt for chapters.txt)."""
    given = path.rstrip("/").split("/")
    options: dict[int, list[str]] = {}  # segment index -> the names a route has there
    for rule in current_app.url_map.iter_rules():
        parts = rule.rule.rstrip("/").split("/")
        if len(parts) != len(given):
            continue
        differ = [i for i, (want, got) in enumerate(zip(parts, given)) if want != got and not want.startswith("<")]
        if len(differ) == 1:
            options.setdefault(differ[0], []).append(parts[differ[0]])
    for i, names in sorted(options.items()):
        meant = GUESSED_NAMES.get(given[i].lower())
        close = [meant] if meant in names else difflib.get_close_matches(given[i], names, n=1, cutoff=0.75)
        if close:
            return "/".join(given[:i] + close[:1] + given[i + 1:])
    return None


def _no_route_detail() -> str:
    detail = f"there is nothing at {request.path}; every route of the API is listed at /api/docs"
    if "/slides/" in request.path:
        detail += " (a slide is /api/jobs/ID/slides/N/image or /thumbnail, N its number from 1)"
    meant = _closest_route(request.path)
    if meant:
        detail += f"; did you mean {meant}?"
    return detail


def _field_reasons(messages) -> str:
    """"name (why), ..." from webargs/marshmallow messages: what each field should be."""
    reasons = []
    for location, value in (messages or {}).items():
        per_field = value if location in ("json", "form", "query", "files", "view_args") and isinstance(value, dict) \
            else {location: value}
        for name, why in sorted(per_field.items(), key=lambda item: str(item[0])):
            reasons.append(f"{name} ({_first_message(why).rstrip('.')})")
    return ", ".join(reasons)


def _first_message(value) -> str:
    """The first text of a message tree (lists of texts, nested per item or field)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return f"{next(iter(value))}: {_first_message(next(iter(value.values())))}" if value else "invalid"
    if isinstance(value, list) and value:
        return _first_message(value[0])
    return "invalid"


def _invalid_fields(messages) -> list[str]:
    """Field names from webargs/marshmallow messages ({"json": {"field": [...]}} or {"field": [...]})."""
    names = []
    for location, value in (messages or {}).items():
        if location in ("json", "form", "query", "files", "view_args") and isinstance(value, dict):
            names.extend(str(key) for key in value)
        else:
            names.append(str(location))
    return sorted(set(names))


def http_problem(error: HTTPException):
    """The problem+json response for an HTTP error (a problem() call, a werkzeug or limiter
    error): its status, detail, extra members and headers."""
    data = getattr(error, "data", None) or {}
    code = error.code or 500
    extra = dict(data.get("extra") or {})
    messages = data.get("errors") or data.get("messages") or extra.get("errors")
    if code >= 500 and not data.get("message"):
        detail = "the server failed to handle this request; the server log has the details"
    elif code == 413 and not data.get("message"):
        detail = _too_large_detail()
    elif code == 404 and not data.get("message"):
        detail = _no_route_detail()
    else:
        detail = data.get("message") or error.description
    if code == 422 and messages:
        fields = _invalid_fields(messages)
        extra.setdefault("invalid_fields", fields)
        extra.setdefault("errors", messages)
        if not data.get("message"):
            detail = f"invalid or unknown field(s): {_field_reasons(messages)}"
            if extra.get("accepted_fields"):
                detail += f"; the fields accepted here: {', '.join(extra['accepted_fields'])}"
    if code == 405 and not data.get("message"):
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        detail = f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)} (the Allow header)"
    response = problem_response(code, error.name, detail, **extra)
    # werkzeug's own headers (Allow on a 405, WWW-Authenticate), not its HTML content type
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


class SlidecastApi(Api):
    """flask-smorest's Api with problem+json errors instead of its default error body."""

    def handle_http_exception(self, error: HTTPException):
        return http_problem(error)


def database_unavailable(error):
    log.error("database unavailable: %s", error)
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass
    return problem_response(503, "Service Unavailable", "the database is unavailable; try again in a moment")
