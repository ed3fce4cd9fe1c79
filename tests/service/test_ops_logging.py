"""Structured logs: one JSON object per line, and the job id on every line about a job."""

from __future__ import annotations

import io
import json
import logging
import signal

import pytest

from infra.logging import configure_logging, job_context


@pytest.fixture
def log_lines():
    """Route the JSON handler to a buffer; yields a function returning the lines so far."""
    configure_logging("INFO", "JSON")
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "slidecast-stderr")
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    yield lambda: buffer.getvalue().splitlines()
    handler.setStream(old)


def parsed(lines) -> list[dict]:
    entries = [json.loads(line) for line in lines]  # every line is a whole JSON object
    for entry in entries:
        assert {"ts", "level", "logger", "message"} <= set(entry), entry
        assert entry["ts"].endswith("Z")
    return entries


def test_job_context_tags_every_logger(log_lines):
    with job_context("job-abc"):
        logging.getLogger("slidecast.detect").info("frame %d differs", 12)
        logging.getLogger("some.library").warning("retrying")
    logging.getLogger("slidecast.api").info("unrelated")
    first, second, third = parsed(log_lines())
    assert first["job_id"] == second["job_id"] == "job-abc"
    assert first["message"] == "frame 12 differs" and first["logger"] == "slidecast.detect"
    assert "job_id" not in third


def test_a_traceback_stays_on_one_line(log_lines):
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        logging.getLogger("slidecast.tasks").exception("step failed", extra={"stage": "ocr"})
    (entry,) = parsed(log_lines())
    assert entry["level"] == "ERROR" and entry["stage"] == "ocr"
    assert "ValueError: broken" in entry["exception"]


def test_lines_about_a_job_carry_its_id(embedded_client, log_lines, service_clip, wait_job):
    response = embedded_client.post("/api/jobs", data={"file": (io.BytesIO(service_clip.read_bytes()), "t.mp4"),
                                                       "ocr": "false", "transcribe": "false"},
                                    content_type="multipart/form-data")
    job_id = response.get_json()["id"]
    assert wait_job(embedded_client, job_id, limit=120)["status"] == "succeeded"
    logging.getLogger("slidecast.executor").warning("job %s: an example line naming the job", job_id)
    entries = parsed(log_lines())
    about_job = [e for e in entries if job_id in e["message"]]
    assert about_job and all(e.get("job_id") == job_id for e in about_job), about_job
    assert any(e["logger"] == "slidecast.tasks" and e.get("job_id") == job_id for e in entries)


def test_the_servers_start_log_has_no_library_chatter(tmp_path, embedded_app):
    """What an operator reads when gunicorn starts: its own lines, not alembic's seven "setup
    plugin ..." lines, which a worker logged under gunicorn's configuration before create_app
    quieted them (seen at every start in the operator trial)."""
    from support.ops_helpers import start_gunicorn, stop
    proc, _ = start_gunicorn(tmp_path, embedded_app.config["SQLALCHEMY_DATABASE_URI"], workers=1)
    printed = stop(proc, signal.SIGINT)
    entries = parsed(line for line in printed.splitlines() if line.startswith("{"))
    assert any(entry["message"].startswith("Booting worker") for entry in entries), printed
    assert [entry["message"] for entry in entries if entry["logger"].startswith("alembic")] == []
