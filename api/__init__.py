"""The HTTP API: flask-smorest blueprints under /api, errors as application/problem+json
(api/errors.py), schemas that serialize what is sent (api/schemas.py).

`register_api(app)` wires everything. OpenAPI is served at /api/openapi.json and a readable page
at /api/docs.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Api

from api import batch, events, files, jobs, ops, queues, search, system, web
from api.auth import init_auth
from api.errors import SlidecastApi, database_unavailable
from api.openapi import document_truthfully
from api.uploads import UploadRequest


def register_api(app: Flask) -> Api:
    """Attach the API blueprints, the OpenAPI document and the error handlers to `app`."""
    app.request_class = UploadRequest

    app.config.setdefault("API_TITLE", "Slidecast")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = SlidecastApi(app, spec_kwargs={"info": {"description": "Lecture videos in, slide decks out."}})
    for blueprint in (jobs.blp, batch.blp, events.blp, files.blp, search.blp, system.blp, queues.blp):
        api.register_blueprint(blueprint, url_prefix="/api")
    api.register_blueprint(ops.blp)  # /metrics and /api/cache/stats: its routes carry their paths
    app.register_error_handler(sa.exc.OperationalError, database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, database_unavailable)
    app.add_url_rule("/api/docs", "api_docs", system.docs_page)
    events.init_streams(app)
    app.register_blueprint(web.bp)  # the page at /, outside the OpenAPI document
    init_auth(app)
    document_truthfully(api)
    app.after_request(_no_sniffing)
    return api


def _no_sniffing(response):
    """Every answer is taken as the type it says (a transcript or a name echoed in an error is
    never run as HTML or script by a browser that guesses)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
