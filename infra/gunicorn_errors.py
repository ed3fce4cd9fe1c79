"""Requests gunicorn refuses before the app sees them (a request line over limit_request_line:
414; a malformed request line, method or header: 400; headers too large: 431) are answered as
problem+json like every other API error, instead of gunicorn's HTML page.

gunicorn has no setting or hook for the body of these answers: every worker writes them with
`gunicorn.util.write_error`, which `json_request_errors()` replaces (from gunicorn.conf.py, in
the master before the workers fork). Status and reason stay gunicorn's own.
"""

from __future__ import annotations

import json

# What the person sending the request can change, by status.
_HINTS = {
    400: "the request is not valid HTTP/1.1; send a request line such as `GET /api/jobs HTTP/1.1` "
         "with well-formed headers",
    414: "the URL is too long for the server (limit_request_line, {limit} bytes for the whole request line); "
         "send the options as JSON or form fields in the body instead of the query string",
    431: "the request's headers are too many or too large; send fewer or shorter headers",
}


def problem_bytes(status: int, reason: str, message: str, limit: int) -> bytes:
    """The whole HTTP answer: a problem+json document naming gunicorn's reason and what to do."""
    hint = _HINTS.get(status, "").format(limit=limit)
    detail = f"{message}: {hint}" if message and hint else (message or hint or reason)
    body = json.dumps({"type": "about:blank", "title": reason, "status": status, "detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def json_request_errors(limit_request_line: int) -> None:
    """Make gunicorn's own error answers problem+json."""
    from gunicorn import util

    def write_error(sock, status_int, reason, mesg):
        util.write_nonblock(sock, problem_bytes(status_int, reason, mesg, limit_request_line))

    util.write_error = write_error
