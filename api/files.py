"""What a finished job produced: slides, their images, the documents, metrics."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from api.errors import problem, problem_response
from api.jobs import find_job, read_limit
from api.schemas import ChapterListSchema, MetricsSchema, ProblemSchema, SlideListSchema
from infra.extensions import db, storage
from models import ACTIVE_STATES, Artifact, JobMetrics, Slide

blp = Blueprint("files", __name__, description="Slides, documents and metrics of a job")

# URL path -> (artifact kind, name used in messages, download file name)
DOCUMENTS = {
    "manifest": ("manifest", "manifest", "manifest.json"),
    "pdf": ("pdf", "PDF", "slides.pdf"),
    "notes": ("notes", "notes", "notes.md"),
    "transcript.srt": ("srt", "SRT transcript", "transcript.srt"),
    "transcript.vtt": ("vtt", "VTT transcript", "transcript.vtt"),
    "chapters.txt": ("chapters", "chapters", "chapters.txt"),
    "chapters.vtt": ("chapters_vtt", "WebVTT chapters", "chapters.vtt"),
    "pptx": ("pptx", "PowerPoint deck", "slides.pptx"),
    "archive.zip": ("archive", "archive", "slidecast.zip"),
}
MAX_SLIDE_INDEX = 1_000_000
_NOT_FOUND = {404: {"description": "no such job or artifact", "content": {
    "application/problem+json": {"schema": ProblemSchema}}}, 409: {"description": "job not finished"}}


def finished_job(job_id: str, what: str) -> dict:
    """The job document if it has finished; 409 while queued/running, 404 if it is unknown."""
    doc = find_job(job_id)
    if doc["status"] in ACTIVE_STATES:
        problem(409, f"job {doc['id']} is {doc['status']}; its {what} is available once it has finished",
                job_status=doc["status"])
    return doc


def how_it_ended(doc: dict) -> str:
    return {"cancelled": "it was cancelled", "failed": "it failed"}.get(doc["status"], f"it {doc['status']}")


def _succeeded_job(job_id: str, what: str) -> dict:
    doc = finished_job(job_id, what)
    if doc["status"] != "succeeded":
        problem(404, f"job {doc['id']} has no {what}: {how_it_ended(doc)}", job_status=doc["status"])
    return doc


@blp.route("/jobs/<job_id>/slides", methods=["GET"])
@read_limit
@blp.response(200, SlideListSchema)
@blp.doc(responses=_NOT_FOUND)
def list_slides(job_id):
    """Every slide appearance in time order, with its text, narration and image URLs."""
    doc = _succeeded_job(job_id, "slides")
    rows = db.session.scalars(sa.select(Slide).where(Slide.job_id == doc["id"]).order_by(Slide.index)).all()
    base = f"/api/jobs/{doc['id']}/slides"
    slides = [{"index": s.index, "start": s.start, "end": s.end, "same_as": s.same_as, "title": s.title,
               "text": s.text, "transcript": s.transcript, "keywords": s.keywords or [],
               "deck_page": s.deck_page, "image_url": f"{base}/{s.index}/image", "thumbnail_url": f"{base}/{s.index}/thumbnail"}
              for s in rows]
    return jsonify({"job_id": doc["id"], "count": len(slides), "slides": slides})


# max: a larger number is no slide (404), and would overflow the database's integer column.
@blp.route(f"/jobs/<job_id>/slides/<int(max={MAX_SLIDE_INDEX}):index>/<any(image, thumbnail):variant>",
           methods=["GET"])
@read_limit
@blp.doc(responses={200: {"description": "PNG image or JPEG thumbnail", "content": {
    "image/png": {}, "image/jpeg": {}}}, **_NOT_FOUND})
def slide_image(job_id, index, variant):
    """One slide's full image (PNG) or thumbnail (JPEG); `index` starts at 1."""
    doc = _succeeded_job(job_id, "slides")
    slide = db.session.scalar(sa.select(Slide).where(Slide.job_id == doc["id"], Slide.index == index))
    if slide is None:
        count = db.session.scalar(sa.select(sa.func.count()).where(Slide.job_id == doc["id"]))
        problem(404, f"job {doc['id']} has no slide {index}; it has {count} (numbered from 1)")
    key = slide.image_key if variant == "image" else slide.thumbnail_key
    mimetype = "image/png" if variant == "image" else "image/jpeg"
    return _send(key, mimetype, f"slide-{index:03d}{'.png' if variant == 'image' else '.jpg'}", variant)


def _missing_reason(doc: dict, kind: str) -> str:
    """Why a finished job has no such document, in words that say what to change."""
    if doc["status"] != "succeeded":
        return how_it_ended(doc)
    options = doc.get("options") or {}
    if kind in ("srt", "vtt") and options.get("transcribe"):
        return "no narration was heard (the video has no audio track, or nothing in it was recognised as speech)"
    if kind in ("chapters", "chapters_vtt") and options.get("chapters", True):
        return "no slide titles were read to make chapters from"
    return "it was not requested"


def _artifact(doc: dict, kind: str, label: str) -> Artifact:
    """The finished job's file of this kind; 404 saying why when it has none."""
    row = db.session.scalar(sa.select(Artifact).where(Artifact.job_id == doc["id"], Artifact.kind == kind))
    if row is None:
        problem(404, f"job {doc['id']} has no {label}: {_missing_reason(doc, kind)}", artifact=kind)
    return row


def _document_view(path: str):
    kind, label, filename = DOCUMENTS[path]

    def view(job_id):
        doc = finished_job(job_id, label)
        row = _artifact(doc, kind, label)
        return _send(row.key, row.content_type, filename, label, as_attachment=kind in ("pdf", "pptx", "archive"))

    view.__name__ = f"get_{kind}"
    view.__doc__ = f"The job's {label} ({filename}); 404 names it when the job has none."
    return view


for _path in DOCUMENTS:
    _view = read_limit(blp.doc(responses=_NOT_FOUND)(_document_view(_path)))
    blp.route(f"/jobs/<job_id>/{_path}", methods=["GET"])(_view)


@blp.route("/jobs/<job_id>/chapters", methods=["GET"])
@read_limit
@blp.response(200, ChapterListSchema)
@blp.doc(responses=_NOT_FOUND)
def list_chapters(job_id):
    """The chapters of chapters.txt as JSON: each one's start and end (seconds) and title."""
    doc = finished_job(job_id, "chapters")
    row = _artifact(doc, "chapters", "chapters")
    try:
        with storage().open(row.key) as reader:
            text = reader.read().decode("utf-8")
    except FileNotFoundError:
        problem(404, f"the chapters file is missing from storage ({row.key}); the job may have been deleted")
    chapters = [_chapter(line) for line in text.splitlines() if line.strip()]
    ends = [c["start"] for c in chapters[1:]] + [doc.get("duration") or (chapters[-1]["start"] if chapters else 0)]
    chapters = [dict(c, end=max(end, c["start"])) for c, end in zip(chapters, ends)]
    return jsonify({"job_id": doc["id"], "count": len(chapters), "chapters": chapters})


def _chapter(line: str) -> dict:
    """`mm:ss Title` or `h:mm:ss Title` (slidecast.output.chapters) as {"start": seconds, "title"}."""
    clock, _, title = line.partition(" ")
    seconds = 0
    for part in clock.split(":"):
        seconds = seconds * 60 + int(part)
    return {"start": seconds, "title": title.strip()}


@blp.route("/jobs/<job_id>/metrics", methods=["GET"])
@read_limit
@blp.response(200, MetricsSchema)
@blp.doc(responses=_NOT_FOUND)
def job_metrics(job_id):
    """Seconds per stage, time queued, total time, video duration and speed of a finished job."""
    doc = finished_job(job_id, "metrics")
    row = db.session.get(JobMetrics, doc["id"])
    if row is None:
        problem(404, f"job {doc['id']} has no metrics: {how_it_ended(doc)} before any were recorded")
    return jsonify({"job_id": row.job_id, "stage_seconds": row.stage_seconds or {}, "queue_seconds": row.queue_seconds,
                    "total_seconds": row.total_seconds, "video_duration": row.video_duration, "speed": row.speed})


def _send(key: str, mimetype: str, filename: str, label: str, as_attachment: bool = False):
    """The stored file, from any backend, with what a browser or download tool relies on: an
    ETag and Last-Modified (304 on a match), byte ranges (206; 416 outside the file), the
    content type exactly as stored (one charset), and `private, no-cache`: a job's files are
    its owner's and can be deleted, so no shared cache keeps them and each use revalidates."""
    store = storage()
    try:
        info = store.stat(key)
        reader = store.open(key)
    except FileNotFoundError:
        problem(404, f"the {label} file is missing from storage ({key}); the job may have been deleted")
    response = current_app.response_class(wrap_file(request.environ, reader), direct_passthrough=True)
    response.content_type = mimetype
    response.content_length = info.size
    response.set_etag(info.etag)
    response.last_modified = info.modified
    response.headers.set("Content-Disposition", "attachment" if as_attachment else "inline", filename=filename)
    response.headers["Cache-Control"] = "private, no-cache"
    try:
        return response.make_conditional(request, accept_ranges=True, complete_length=info.size)
    except RequestedRangeNotSatisfiable:
        reader.close()
        answer = problem_response(416, "Range Not Satisfiable",
                                  f"the {label} has {info.size} bytes; the range asked for lies outside it")
        answer.headers["Content-Range"] = f"bytes */{info.size}"
        return answer
