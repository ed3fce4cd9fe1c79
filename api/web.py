"""The web page at /: upload videos or paste URLs, follow each job live, browse and download
its slides, search every slide. One server-rendered page (api/templates/index.html) and a
little plain JavaScript (api/static/app.js) that talks to the JSON API; no build step and
nothing loaded from another site."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")


@bp.route("/")
def index():
    """The page; the limits it shows are the server's own settings."""
    return render_template("index.html", max_upload_mb=current_app.config["MAX_UPLOAD_MB"])
