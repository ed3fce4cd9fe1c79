"""Health, statistics and the human-readable API page."""

from __future__ import annotations

import functools
import html
import re

import sqlalchemy as sa
from flask import current_app, jsonify
from flask_smorest import Blueprint

from api.auth import is_operator
from api.schemas import HealthSchema, StatsSchema
from infra.extensions import db, executor, job_store, storage
from infra.settings import ROOT
from infra.storage import StorageError

blp = Blueprint("system", __name__, description="Health and statistics")


def _database() -> dict:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        return {"status": "down", "detail": f"database unreachable: {str(exc).splitlines()[0][:200]}"}
    problem = _schema_problem()
    if problem:
        return {"status": "down", "backend": db.engine.dialect.name,
                "detail": f"{problem}: run `flask db upgrade` (./deploy_scalable.sh migrate)"}
    return {"status": "ok", "backend": db.engine.dialect.name}


def _schema_problem() -> str | None:
    """Why the database's schema is not the one this code's migrations end at; None if it is."""
    try:
        found = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return "the database has not been migrated"
    wanted = _migration_heads()
    if found != wanted:
        return (f"the database schema is at {', '.join(sorted(found)) or 'no revision'}, "
                f"this code needs {', '.join(sorted(wanted))}")
    return None


@functools.cache
def _migration_heads() -> frozenset[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _storage() -> dict:
    try:
        return {"status": storage().check(), "backend": storage().describe()}
    except StorageError as exc:
        return {"status": "down", "detail": str(exc)}


# A component's state as the public sees it with AUTH_REQUIRED (an operator sees the detail).
_PUBLIC_STATES = {"ok": "up", "not configured": "up", "degraded": "degraded", "unknown": "degraded",
                  "down": "down", "none": "down"}


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="the database is down or not migrated")
def health():
    """Each component: database, cache, broker, workers, storage. 503 when the database is down
    or its schema is not the one this code's migrations end at (the detail says which);
    "degraded" when the service works with less (Redis down: answers come from the database).
    With AUTH_REQUIRED only an admin key or METRICS_TOKEN sees each component's detail; anyone
    else sees its state: up, degraded or down."""
    components = {"database": _database(), "cache": job_store().cache.status(),
                  "broker": executor().describe(), "workers": executor().workers(), "storage": _storage()}
    states = {c["status"] for c in components.values()}
    if components["database"]["status"] != "ok":
        overall = "down"
    elif states & {"degraded", "down", "none", "unknown"}:
        overall = "degraded"
    else:
        overall = "ok"
    if not is_operator():  # the public sees states only: no paths, addresses or versions
        components = {name: {"status": _PUBLIC_STATES.get(c["status"], "degraded")}
                      for name, c in components.items()}
    response = jsonify({"status": overall, "components": components})
    response.status_code = 503 if overall == "down" else 200
    return response


@blp.route("/stats", methods=["GET"])
@blp.response(200, StatsSchema)
def stats():
    """Jobs by status (all time and the last 24 h), mean processing time, slides extracted."""
    return jsonify(job_store().stats())


def docs_page():
    """/api/docs: the OpenAPI document as a plain HTML page (no scripts, works offline): each
    route with its parameters, the fields its request body takes and its responses."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    parts = [f"<h1>{html.escape(spec['info']['title'])} API</h1>",
             "<p>Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a>. "
             "Errors are <code>application/problem+json</code>.</p>"]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            parts.append(f"<h3><code>{method.upper()} {html.escape(path)}</code></h3>")
            parts.append(f"<p>{_prose(op.get('summary', ''))}</p><p>{_prose(op.get('description', ''))}</p>")
            params = [p["name"] for p in op.get("parameters", []) if "name" in p]
            if params:
                parts.append(f"<p>Parameters: {html.escape(', '.join(params))}</p>")
            parts.extend(_body_parts(spec, op.get("requestBody", {})))
            codes = ", ".join(f"{code} {_prose(op['responses'][code].get('description', ''))}"
                              for code in sorted(op["responses"], key=str))
            parts.append(f"<p>Responses: {codes}</p>")
    body = "\n".join(parts)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Slidecast API</title>"
            f"<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}h3{{margin-bottom:0}}</style>"
            f"</head><body>{body}</body></html>")


def _prose(text: str) -> str:
    """Escaped text with the descriptions' `code` spans shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _body_parts(spec: dict, request_body: dict) -> list[str]:
    """Per content type of a request body, the fields it takes, each with its description."""
    parts = []
    for kind, media in request_body.get("content", {}).items():
        fields = _fields(spec, media.get("schema", {}))
        if not fields:
            continue
        items = "".join(f"<li><code>{html.escape(name)}</code> {_prose(field.get('description', ''))}</li>"
                        for name, field in fields.items())
        parts.append(f"<p>Body as <code>{html.escape(kind)}</code>:</p><ul>{items}</ul>")
    return parts


def _fields(spec: dict, schema: dict) -> dict:
    """The properties of `schema`, its $ref and allOf parts resolved in the document."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    fields = {}
    for part in schema.get("allOf", []):
        fields.update(_fields(spec, part))
    fields.update(schema.get("properties", {}))
    return fields
