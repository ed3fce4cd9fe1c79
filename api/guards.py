"""Checks on hostile request bodies that must fail as 4xx before a parser or database sees them:
JSON nested too deep or too large, NUL bytes in text, file names too long to store."""

from __future__ import annotations

import json
import re
from pathlib import PurePath

from flask import request
from werkzeug.utils import secure_filename

from api.errors import problem

# Submission bodies are a handful of fields: 64 KiB and 32 levels leave room for any real one
# (ignore_regions is 3 deep) and keep json.loads far from Python's recursion limit.
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
# Stored file names: 255 bytes is the limit of common file systems and of the database column.
MAX_NAME_BYTES = 120
_STRING = re.compile(rb'"(?:\\.|[^"\\])*"', re.DOTALL)


def json_depth(raw: bytes) -> int:
    """How deep objects and arrays nest in `raw` (strings, which may hold brackets, skipped)."""
    depth = deepest = 0
    for char in _STRING.sub(b'""', raw):
        if char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in b"]}":
            depth -= 1
    return deepest


# Bodies a submit route reads as JSON: `curl -d` sends application/x-www-form-urlencoded, and some
# clients label JSON text/plain.
JSON_BODY_TYPES = {"", "application/json", "text/plain", "application/x-www-form-urlencoded"}
SUBMISSION_TYPES = ("multipart/form-data (the video as the `file` part, or a video_url field), application/json "
                    "({\"video_url\": \"https://...\"}), or the video itself as video/* or application/octet-stream")


def refuse_unknown_type() -> None:
    """415 for a body that is none of the kinds a submit route takes (an image, XML...), before
    any of it is read: parsed as JSON it only earned a confusing 400 or 413."""
    kind = request.mimetype
    if kind not in JSON_BODY_TYPES and not kind.endswith("+json"):
        problem(415, f"a body of type {kind} is not a submission: send {SUBMISSION_TYPES}")


TOO_MANY_PARTS = {"deck": "one deck per job, the talk's own slides as one PDF",
                  "file": "one video per job; send several to POST /api/jobs/batch"}


def one_file(*names: str):
    """The request's one upload under the first of `names` that has one (None without): a second
    video (or deck) in one job is refused, not silently dropped."""
    for name in names:
        parts = request.files.getlist(name)
        if len(parts) > 1:
            problem(400, f"{len(parts)} `{name}` parts: {TOO_MANY_PARTS.get(name, TOO_MANY_PARTS['file'])}")
        if parts:
            return parts[0]
    return None


def json_object() -> dict:
    """The request's JSON object: 400 past MAX_JSON_DEPTH (seen in its first MAX_JSON_BYTES) or
    when it is not a JSON object, 413 past MAX_JSON_BYTES, 422 when a text holds a NUL byte.
    At most MAX_JSON_BYTES + 1 bytes are read."""
    raw = request.stream.read(MAX_JSON_BYTES + 1)
    if json_depth(raw[:MAX_JSON_BYTES]) > MAX_JSON_DEPTH:
        problem(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels; submissions are flat objects")
    if len(raw) > MAX_JSON_BYTES:
        problem(413, f"the JSON body is larger than the {MAX_JSON_BYTES} bytes allowed; "
                     "a video goes as a multipart `file` or as video_url")
    if not raw.strip():
        problem(400, "send the video as multipart/form-data with a `file` field, "
                     "or a JSON object {\"video_url\": \"https://...\"}")
    try:
        body = json.loads(raw, parse_int=_integer)
    except json.JSONDecodeError as exc:
        problem(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
                     "send an object such as {\"video_url\": \"https://...\"}" + _FORM_HINT.get(request.mimetype, ""))
    except (ValueError, RecursionError):  # not UTF-8 text
        problem(400, "the body is not JSON text (UTF-8); send an object such as {\"video_url\": \"https://...\"}")
    if not isinstance(body, dict):
        problem(400, f"the JSON body is {_json_kind(body)}, not an object; send an object such as "
                     "{\"video_url\": \"https://...\"}, or the video as multipart/form-data with a `file` field")
    refuse_nul(body, "json")
    return body


def _integer(digits: str) -> int | float:
    """A JSON integer; one too long for Python's int conversion (4300 digits) reads as the
    float it is near (infinity), so the field's check says it is too large rather than the body
    being called "not JSON"."""
    return int(digits) if len(digits) <= 1000 else float(digits)


_FORM_HINT = {"application/x-www-form-urlencoded": (
    " with Content-Type: application/json (`curl -d` sends form fields; `curl -F video_url=...` sends them "
    "as multipart, which works too)"),
    "text/plain": " (a text/plain body is read as JSON; a video goes as a multipart `file`, video/* or "
                  "application/octet-stream)"}


def _json_kind(value) -> str:
    names = {list: "a list", str: "a string", bool: "true or false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), "not an object")


def refuse_nul(values: dict, location: str) -> None:
    """422 naming the fields whose text holds a NUL byte (no database stores one in text)."""
    bad = sorted(str(name) for name, value in values.items() if _has_nul(value))
    if bad:
        problem(422, f"a NUL byte is not allowed in {', '.join(bad)}", invalid_fields=bad,
                errors={location: {name: ["contains a NUL byte"] for name in bad}})


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def stored_name(filename: str) -> str:
    """A safe file name to store an upload under: no path, no NUL, at most MAX_NAME_BYTES bytes
    with the extension kept (a long name is cut in its stem)."""
    if "\x00" in filename:
        problem(422, "the file name holds a NUL byte; rename the file and send it again",
                invalid_fields=["file"])
    name = secure_filename(filename) or "video"
    suffix = PurePath(name).suffix[:10]
    stem = name[: len(name) - len(PurePath(name).suffix)] if PurePath(name).suffix else name
    budget = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode("ascii", "ignore") or "video"  # secure_filename is ASCII
    return stem + suffix


def display_name(filename: str) -> str:
    """The client's file name as shown back (source.filename): at most 255 characters."""
    return filename[:255]
