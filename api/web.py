"""The web page at /: upload videos or paste URLs, follow each job live, browse and download
its slides, search every slide. One server-rendered page (api/templates/index.html) and a
little plain JavaScript (api/static/app.js) that talks to the JSON API; no build step and
nothing loaded from another site."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
# The page runs only its own script and style (an injected <script> or inline handler does not
# run), shows images it fetched itself (blob: URLs, the API key is a header), and is never shown
# inside another site's frame (clickjacking). X-Content-Type-Options is on every answer (api/__init__.py).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@bp.after_request
def _page_headers(response):
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.route("/")
def index():
    """The page; the limits it shows are the server's own settings."""
    return render_template("index.html", max_upload_mb=current_app.config["MAX_UPLOAD_MB"])
