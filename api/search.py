"""GET /api/search?q=: find slides by their text and narration, across the caller's finished jobs
(every job for an admin key, or when AUTH_REQUIRED is off).

PostgreSQL: the weighted `slides.search_vector` (title A, text B, narration C) with its GIN
index, websearch syntax (`"exact phrase"`, `-word`, `or`). SQLite (embedded mode): the FTS5
table `slide_search` (migrations/versions/0004_slide_search.py), the same syntax turned into an
FTS5 query (fts5_query). In both a
slide holding the words as the exact phrase ranks before one that only holds them all, then by
relevance (ts_rank_cd / bm25).
"""

from __future__ import annotations

import html
import re

import sqlalchemy as sa
from flask import jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import owner_filter
from api.errors import problem
from infra.extensions import db

blp = Blueprint("search", __name__, description="Search slide text and narration")
MARK_START, MARK_END = "\x02", "\x03"  # chosen by us, never in stored text: escaped, then marked


class SearchHitSchema(Schema):
    job_id = fields.String()
    job_name = fields.String(allow_none=True, metadata={"description": "the file name or URL of the job's video"})
    slide = fields.Integer(metadata={"description": "the slide's index in the job"})
    start = fields.Float()
    end = fields.Float()
    title = fields.String()
    exact = fields.Boolean(metadata={"description": "the words appear as the phrase"})
    matched_in = fields.List(fields.String(), metadata={"description": "text, narration"})
    snippet = fields.String()
    snippet_html = fields.String(metadata={"description": "escaped text, matches in <mark>"})
    slide_url = fields.String()
    image_url = fields.String()
    thumbnail_url = fields.String()


class SearchResultsSchema(Schema):
    query = fields.String()
    count = fields.Integer()
    results = fields.List(fields.Nested(SearchHitSchema))


class SearchQuerySchema(Schema):
    q = fields.String(load_default="", metadata={"description": "the words or phrase to find"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


_POSTGRES = sa.text("""
WITH q AS (SELECT websearch_to_tsquery('english', :q) AS words, phraseto_tsquery('english', :q) AS phrase)
SELECT s.job_id, s."index", s.start, s."end", s.title, j.source_filename, j.source_url,
       s.search_vector @@ q.phrase AS exact, ts_rank_cd(s.search_vector, q.words) AS rank,
       ts_headline('english', coalesce(s.text, ''), q.words, :options) AS text_snippet,
       ts_headline('english', coalesce(s.transcript, ''), q.words, :options) AS narration_snippet
FROM slides s JOIN jobs j ON j.id = s.job_id, q
WHERE s.search_vector @@ q.words AND (:everyone OR j.api_key_id = :key)
ORDER BY exact DESC, rank DESC, j.created_at DESC, s."index"
LIMIT :limit
""")
_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=8, MaxFragments=2"

_SQLITE = sa.text(f"""
SELECT s.job_id, s."index", s.start, s."end", s.title, j.source_filename, j.source_url,
       s.id IN (SELECT rowid FROM slide_search WHERE slide_search MATCH :phrase) AS exact,
       bm25(slide_search, 4.0, 2.0, 1.0) AS rank,
       snippet(slide_search, 1, '{MARK_START}', '{MARK_END}', ' … ', 16) AS text_snippet,
       snippet(slide_search, 2, '{MARK_START}', '{MARK_END}', ' … ', 16) AS narration_snippet
FROM slide_search JOIN slides s ON s.id = slide_search.rowid JOIN jobs j ON j.id = s.job_id
WHERE slide_search MATCH :words AND (:everyone OR j.api_key_id = :key)
ORDER BY exact DESC, rank, j.created_at DESC, s."index"
LIMIT :limit
""")


@blp.route("/search", methods=["GET"])
@blp.arguments(SearchQuerySchema, location="query")
@blp.response(200, SearchResultsSchema)
@blp.alt_response(400, description="no words given in q")
def search(query):
    """Slides whose text or narration holds the words of `q`, best first: the job, the slide,
    its time, where it matched and a snippet with the matches marked (`snippet_html` holds
    escaped text and <mark> elements only)."""
    words = query["q"].strip()
    if not words:
        problem(400, "say what to find: GET /api/search?q=words (a \"quoted phrase\" must appear as written)")
    if fts5_query(words)[0] is None:
        problem(400, "say what to find: no word to look for in q (a -word only leaves slides with that word out "
                     "of what the other words find)")
    rows = _find(words, query["limit"])
    return jsonify({"query": words, "count": len(rows), "results": [_result(row) for row in rows]})


def _find(words: str, limit: int):
    allowed = owner_filter()  # the caller's own jobs; every job for an admin key or without auth
    whose = {"everyone": allowed is True, "key": None if allowed is True else allowed, "limit": limit}
    if db.engine.dialect.name == "postgresql":
        return db.session.execute(_POSTGRES, {"q": words, "options": _HEADLINE, **whose}).all()
    match, phrase = fts5_query(words)
    return db.session.execute(_SQLITE, {"words": match, "phrase": phrase, **whose}).all()


_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def fts5_query(text: str) -> tuple[str | None, str]:
    """PostgreSQL's websearch syntax as an FTS5 query: every term required, `"a phrase"`, `a or b`,
    `-word` left out; and the positive words as one phrase (the exact match ranked first). None
    when nothing is asked for but what to leave out. Terms are quoted, so no FTS5 operator comes from the user."""
    groups: list[list[str]] = []  # AND of ORs
    excluded: list[str] = []
    wanted: list[str] = []
    either = False
    for minus, quoted, bare in _TERM.findall(text):
        if bare.lower() == "or":
            either = bool(groups)
            continue
        minus = minus or ("-" if bare.startswith("-") else "")
        words = re.findall(r"\w+", quoted or bare)
        if not words:
            continue
        term = '"' + " ".join(words) + '"'
        if minus:
            excluded.append(term)
        elif either:
            groups[-1].append(term)
        else:
            groups.append([term])
        wanted += [] if minus else words
        either = False
    if not groups:
        return None, ""
    match = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
    for term in excluded:
        match = f"({match}) NOT {term}"
    return match, '"' + " ".join(wanted) + '"'


def _result(row) -> dict:
    found = {"text": row.text_snippet or "", "narration": row.narration_snippet or ""}
    matched = [where for where, snippet in found.items() if MARK_START in snippet]
    snippet = found[matched[0]] if matched else found["text"] or found["narration"]
    base = f"/api/jobs/{row.job_id}"
    return {"job_id": row.job_id, "job_name": row.source_filename or row.source_url, "slide": row.index,
            "start": row.start, "end": row.end, "title": row.title or "", "exact": bool(row.exact),
            "matched_in": matched, "snippet": snippet.replace(MARK_START, "").replace(MARK_END, ""),
            "snippet_html": html.escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"),
            "slide_url": f"{base}/slides", "image_url": f"{base}/slides/{row.index}/image",
            "thumbnail_url": f"{base}/slides/{row.index}/thumbnail"}
