"""Assertions the API tests share: problem+json answers, nothing left behind by a refusal."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from infra.extensions import db
from models import Job


def assert_problem(response, status, *words):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    for word in words:
        assert word in body["detail"] or word in body.get("invalid_fields", []), body
    return body


def assert_nothing_created(app):
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    data = Path(app.config["STORAGE_URL"])
    assert not [p for p in data.rglob("*") if p.is_file()] if data.exists() else True


def upload(client, content: bytes, name="talk.mp4", headers=None, **fields):
    """POST /api/jobs with `content` as the multipart `file` named `name`, and `fields`."""
    return client.post("/api/jobs", data={"file": (io.BytesIO(content), name), **fields},
                       content_type="multipart/form-data", headers=headers)
