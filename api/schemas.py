"""marshmallow schemas of every request and response (they also make the OpenAPI document)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, pre_dump, validate

from jobs.reuse import reused
from models import ALL_STATES, FINAL_STATES, SUCCEEDED

# Artifact kinds a client can download as a whole file (per-slide images are served per slide),
# and the path of each under /api/jobs/<id>/.
DOWNLOADS = {"manifest": "manifest", "pdf": "pdf", "notes": "notes", "srt": "transcript.srt",
             "vtt": "transcript.vtt", "chapters": "chapters.txt", "chapters_vtt": "chapters.vtt",
             "pptx": "pptx", "archive": "archive.zip"}


# A value out of range says the range (a 422's detail shows it).
_RANGE = "must be from {min} to {max}, got {input}"
# A number too large for a float (5000 digits) reads as infinity: say what was wrong with it.
_FINITE = "is too large or not a number: must be from {min} to {max}"


# A bad value names the ones accepted ("Not a valid boolean." left a user guessing the spelling).
_FORM_BOOLEAN = "must be true or false (also accepted: 1 or 0, yes or no, on or off)"
_JSON_BOOLEAN = "must be the JSON boolean true or false, not a string or a number"
_NUMBER = "must be a number from {min} to {max}"


class FormBoolean(fields.Boolean):
    """A form or query value: true/false and the spellings marshmallow accepts for them."""

    default_error_messages = {"invalid": _FORM_BOOLEAN}


class StrictBoolean(fields.Boolean):
    """JSON booleans only: "yes" or 1 is a type error in a JSON body."""

    truthy = {True}
    falsy = {False}
    default_error_messages = {"invalid": _JSON_BOOLEAN}


class RegionSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"type": "a region is an object {\"x\", \"y\", \"w\", \"h\"}, each a fraction of the frame "
                              "from 0 to 1, such as {\"x\": 0.75, \"y\": 0.7, \"w\": 0.25, \"h\": 0.3}"}

    x = fields.Float(required=True, validate=validate.Range(0, 1, error=_RANGE))
    y = fields.Float(required=True, validate=validate.Range(0, 1, error=_RANGE))
    w = fields.Float(required=True, validate=validate.Range(0, 1, error=_RANGE))
    h = fields.Float(required=True, validate=validate.Range(0, 1, error=_RANGE))


def _options(boolean: type[fields.Boolean]) -> dict:
    flag = {"load_default": None}
    return {
        "ocr": boolean(**flag, metadata={"description": "read each slide's text (default true)"}),
        "transcribe": boolean(**flag, metadata={"description": "align the narration (default false)"}),
        "pdf": boolean(**flag, metadata={"description": "make a searchable PDF (default true)"}),
        "notes": boolean(**flag, metadata={"description": "make Markdown notes (default true)"}),
        "subtitles": boolean(**flag, metadata={"description": "make SRT/VTT subtitles (default true)"}),
        "chapters": boolean(**flag, metadata={"description": "make chapters.txt/.vtt (default true)"}),
        "pptx": boolean(**flag, metadata={"description": "make slides.pptx, notes with text and narration (default false)"}),
        "keep_builds": boolean(**flag, metadata={"description": "keep each incremental build step"}),
        "pdf_all_appearances": boolean(**flag, metadata={"description": "PDF holds every appearance"}),
        "sensitivity": fields.Float(validate=validate.Range(0, 1, error=_RANGE), load_default=None,
                                    error_messages={"special": _FINITE.format(min=0, max=1),
                                                    "invalid": _NUMBER.format(min=0, max=1)},
                                    metadata={"description": "0..1, higher finds smaller changes (0.5)"}),
        "min_slide_duration": fields.Float(validate=validate.Range(0, 600, error=_RANGE), load_default=None,
                                           error_messages={"special": _FINITE.format(min=0, max=600),
                                                           "invalid": _NUMBER.format(min=0, max=600)},
                                           metadata={"description": "seconds a slide must stay (1.0)"}),
    }


# What a job's `options` shows: what a submission may set (the option fields, ignore_regions in
# JSON, the deck part's mark), not the engines and workers a client cannot choose.
ECHOED_OPTIONS = frozenset(_options(FormBoolean)) | {"ignore_regions", "deck"}

# Not an extraction option: where the job goes in the queue (docs/distributed.md).
PRIORITY = fields.Integer(validate=validate.Range(0, 9, error=_RANGE), load_default=None,
                          error_messages={"invalid": "must be a whole number from 0 to 9"},
                          metadata={"description": "0..9, 9 runs first (default 5); above 5 needs an admin key when keys are required"})


class SubmitFormSchema(Schema.from_dict(_options(FormBoolean))):
    """multipart/form-data fields beside `file` (form values are strings: "true", "0.7")."""

    class Meta:
        unknown = RAISE

    video_url = fields.String(validate=validate.Length(max=2048), metadata={
        "description": "instead of `file`: an http(s) address of the video (a file, a video site's page or an "
                       "HLS stream)"})
    priority = PRIORITY


class SubmitJsonSchema(Schema.from_dict(_options(StrictBoolean))):
    """application/json body: {"video_url": "https://...", "ocr": true, ...}."""

    class Meta:
        unknown = RAISE

    video_url = fields.String(required=True, validate=validate.Length(min=1, max=2048), metadata={
        "description": "an http(s) address of the video (a file, a video site's page or an HLS stream)"})
    priority = PRIORITY
    ignore_regions = fields.List(fields.Nested(RegionSchema), load_default=None,
                                 metadata={"description": "rectangles to ignore, fractions of the frame"})


class RepeatJsonSchema(Schema.from_dict(_options(StrictBoolean))):
    """POST /api/jobs/repeat: {"video_sha256": "<64 hex digits>", options as for a submission}."""

    class Meta:
        unknown = RAISE

    video_sha256 = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9a-f]{64}$", error="must be the SHA-256 of the video file as 64 lowercase hex digits"))
    ignore_regions = fields.List(fields.Nested(RegionSchema), load_default=None)


class BatchFormSchema(Schema.from_dict(_options(FormBoolean))):
    """POST /api/jobs/batch as multipart: the option fields for every video (beside the `file`
    parts and `video_url` fields)."""

    class Meta:
        unknown = RAISE

    priority = PRIORITY


class BatchJsonSchema(Schema.from_dict(_options(StrictBoolean))):
    """POST /api/jobs/batch as JSON: {"video_urls": ["https://...", ...], options for every video}."""

    class Meta:
        unknown = RAISE

    video_urls = fields.List(fields.String(), required=True,
                             metadata={"description": "the videos' URLs, at most BATCH_MAX (default 20)"})
    priority = PRIORITY
    ignore_regions = fields.List(fields.Nested(RegionSchema), load_default=None)


class SourceSchema(Schema):
    filename = fields.String(allow_none=True)
    url = fields.String(allow_none=True)


class VideoSchema(Schema):
    duration = fields.Float(allow_none=True)
    sha256 = fields.String(allow_none=True)


class JobSchema(Schema):
    """The job document the API sends, made from job_storage.job_record."""

    id = fields.String(metadata={"description": "UUID"})
    status = fields.String(validate=validate.OneOf(ALL_STATES))
    stage = fields.String(allow_none=True, metadata={"description": "downloading, decoding, detecting, ..."})
    progress = fields.Float(metadata={"description": "0-100; never decreases within one run (a re-queued job starts again from 0)"})
    message = fields.String(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why the job failed, for a person"})
    options = fields.Dict(metadata={"description": "the extraction options as the job runs them: the option fields "
                                                   "of a submission (ocr, ..., ignore_regions) and `deck`, the "
                                                   "deck's mark; engines and workers are the deployment's settings"})
    source = fields.Nested(SourceSchema)
    attempts = fields.Integer()
    priority = fields.Integer()
    executor = fields.String(metadata={"description": "celery or thread"})
    video = fields.Nested(VideoSchema)
    slide_count = fields.Integer(allow_none=True, metadata={
        "description": "distinct slides: the pages of the PDF (by default) and of the PPTX, the sections of the notes"})
    appearance_count = fields.Integer(allow_none=True, metadata={
        "description": "the slides' appearances on the video's timeline (the manifest's `slides` and /slides): "
                       "a return to an earlier slide is one more appearance, not one more slide"})
    cached = fields.Boolean(metadata={"description": "true when the slides were not made for this job or answer: "
                                                     "a repeat's answer of a finished job of the same video and "
                                                     "options, or a video_url job that reused such a job's slides"})
    warnings = fields.List(fields.String(), metadata={"description": "what to know about the result, e.g. a deck that matches few slides"})
    artifacts = fields.List(fields.String(), metadata={"description": "downloadable: manifest, pdf, ..."})
    links = fields.Dict(keys=fields.String(), values=fields.String())
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    updated_at = fields.String()

    @pre_dump
    def from_record(self, record: dict, **_kwargs) -> dict:
        base = f"/api/jobs/{record['id']}"
        artifacts = sorted(set(record["artifact_kinds"]) & set(DOWNLOADS))
        links = {"self": base}
        if record["status"] in FINAL_STATES:
            links["metrics"] = f"{base}/metrics"
        if record["status"] == SUCCEEDED:
            links["slides"] = f"{base}/slides"
            links.update({kind: f"{base}/{DOWNLOADS[kind]}" for kind in artifacts})
        return dict(record, artifacts=artifacts, links=links, cached=record.get("cached", reused(record)),
                    options={k: v for k, v in record["options"].items() if k in ECHOED_OPTIONS},
                    source={"filename": record["source_filename"], "url": record["source_url"]},
                    video={"duration": record["duration"], "sha256": record["video_sha256"]})


MAX_PAGE = 1_000_000


class BatchItemSchema(Schema):
    file = fields.String(metadata={"description": "the file part's name, for an uploaded video"})
    video_url = fields.Raw(metadata={"description": "the URL as sent, for a video_url"})
    status = fields.Integer(metadata={"description": "what POST /api/jobs would have answered: 202, 200, 4xx, 503"})
    job = fields.Dict(metadata={"description": "the job (a Job document; `cached` true on a finished repeat)"})
    problem = fields.Dict(metadata={"description": "why this video was refused (a Problem document)"})


class BatchResultSchema(Schema):
    items = fields.List(fields.Nested(BatchItemSchema), metadata={"description": "files first, then URLs, as sent"})
    accepted = fields.Integer()
    refused = fields.Integer()


class JobListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(ALL_STATES))
    # Bounded: a larger page would overflow the database's OFFSET (SQLite: 64-bit integers).
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE, error=_RANGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100, error=_RANGE))


class JobListSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class SlideSchema(Schema):
    index = fields.Integer()
    start = fields.Float()
    end = fields.Float()
    same_as = fields.Integer(allow_none=True)
    title = fields.String()
    text = fields.String()
    transcript = fields.String()
    keywords = fields.List(fields.String())
    deck_page = fields.Integer(allow_none=True, metadata={
        "description": "page (from 1) of the deck sent with the video that this slide shows; null without one"})
    image_url = fields.String()
    thumbnail_url = fields.String()


class SlideListSchema(Schema):
    job_id = fields.String()
    count = fields.Integer()
    slides = fields.List(fields.Nested(SlideSchema))


class ChapterSchema(Schema):
    start = fields.Integer(metadata={"description": "seconds from the start of the video (whole seconds, as in chapters.txt)"})
    end = fields.Float(metadata={"description": "the next chapter's start, or the end of the video"})
    title = fields.String()


class ChapterListSchema(Schema):
    job_id = fields.String()
    count = fields.Integer()
    chapters = fields.List(fields.Nested(ChapterSchema))


class MetricsSchema(Schema):
    job_id = fields.String()
    stage_seconds = fields.Dict(keys=fields.String(), values=fields.Float())
    queue_seconds = fields.Float(allow_none=True)
    total_seconds = fields.Float(allow_none=True)
    video_duration = fields.Float(allow_none=True)
    speed = fields.Float(allow_none=True, metadata={"description": "video seconds per second of work"})


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok, degraded or down"})
    components = fields.Dict(keys=fields.String(), values=fields.Dict())


class StatsSchema(Schema):
    jobs = fields.Dict()
    last_24h = fields.Dict()
    mean_processing_seconds = fields.Float(allow_none=True)
    slides_extracted = fields.Integer()


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    invalid_fields = fields.List(fields.String())
    errors = fields.Dict()
    accepted_fields = fields.List(fields.String(), metadata={
        "description": "on a 422 naming an unknown field: the fields this request may have"})
