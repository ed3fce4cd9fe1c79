"""GET /api/search: slide text and narration, on PostgreSQL full-text search and SQLite FTS5."""

import re

import pytest
import sqlalchemy as sa

from infra.extensions import db, job_store
from models import ApiKey, Job, Slide, new_id
from support.security import bearer, make_key

MODES = ["client", "embedded_client"]


def finished_job(app, name: str, slides: list[tuple[str, str]], api_key_id: int | None = None) -> str:
    """A job with these (slide text, narration) pairs as its slides, 30 s each."""
    with app.app_context():
        job = Job(id=new_id(), source_filename=name, executor="celery", api_key_id=api_key_id)
        job_id = job_store().create(job)["id"]
        db.session.add_all(Slide(job_id=job_id, index=n, start=30.0 * (n - 1), end=30.0 * n, title=text.split(".")[0],
                                 text=text, transcript=said, keywords=[], image_key=f"k/{n}.png",
                                 thumbnail_key=f"k/{n}.jpg")
                           for n, (text, said) in enumerate(slides, start=1))
        db.session.commit()
    return job_id


@pytest.fixture(params=MODES)
def lectures(request):
    client = request.getfixturevalue(request.param)
    app = client.application
    ml = finished_job(app, "machine-learning.mp4", [
        ("Optimisation. Stochastic gradient descent on mini-batches", "today we look at how models learn"),
        ("Gradients everywhere. The gradient of the loss; a descent direction; gradient norms",
         "each gradient step goes in a descent direction"),
        ("Warm-up", "we use a learning rate schedule that warms up slowly"),
    ])
    rnn = finished_job(app, "sequence-models.mp4", [
        ("Recurrent networks. Backpropagation through time unrolls the network", "this is the hard part"),
        ("Pitfalls: <script>alert(1)</script> exploding gradients", "clip them"),
    ])
    return client, ml, rnn


def test_a_phrase_said_on_only_one_slide_finds_that_slide_by_its_narration(lectures):
    client, ml, _ = lectures
    found = client.get("/api/search?q=learning rate schedule").get_json()
    assert found["count"] == 1
    hit = found["results"][0]
    assert (hit["job_id"], hit["slide"], hit["start"], hit["end"]) == (ml, 3, 60.0, 90.0)
    assert hit["job_name"] == "machine-learning.mp4" and hit["matched_in"] == ["narration"]
    assert "<mark>learning</mark>" in hit["snippet_html"] and "schedule" in hit["snippet"]


def test_a_phrase_shown_on_only_one_slide_finds_that_slide_by_its_text(lectures):
    client, _, rnn = lectures
    found = client.get("/api/search", query_string={"q": "backpropagation through time"}).get_json()
    assert [(h["job_id"], h["slide"], h["matched_in"]) for h in found["results"]] == [(rnn, 1, ["text"])]
    assert found["results"][0]["image_url"] == f"/api/jobs/{rnn}/slides/1/image"


def test_the_exact_phrase_ranks_before_a_slide_that_only_has_the_words_more_often(lectures):
    client, ml, _ = lectures
    results = client.get("/api/search?q=gradient descent").get_json()["results"]
    assert [(h["job_id"], h["slide"]) for h in results][:2] == [(ml, 1), (ml, 2)]
    assert results[0]["exact"] is True and results[1]["exact"] is False


def test_snippets_hold_no_markup_of_the_slide_text_only_the_marks(lectures):
    client, rnn = lectures[0], lectures[2]
    hit = client.get("/api/search?q=exploding").get_json()["results"][0]
    assert hit["job_id"] == rnn and "<mark>exploding</mark>" in hit["snippet_html"]
    assert "<" not in re.sub(r"</?mark>", "", hit["snippet_html"])  # the <script> is escaped or dropped


def test_words_found_nowhere_give_an_empty_list_and_no_words_a_clear_400(lectures):
    client = lectures[0]
    assert client.get("/api/search?q=thermodynamics").get_json() == {"query": "thermodynamics", "count": 0,
                                                                       "results": []}
    empty = client.get("/api/search?q=+")
    assert empty.status_code == 400 and "q=" in empty.get_json()["detail"]


def test_or_a_minus_word_and_a_quoted_phrase_work_on_both_databases(lectures):
    client, ml, rnn = lectures

    def found(q):
        return {(h["job_id"], h["slide"]) for h in client.get("/api/search", query_string={"q": q}).get_json()["results"]}
    assert found("gradient -stochastic") == {(ml, 2), (rnn, 2)}
    assert found("backpropagation or warm") == {(rnn, 1), (ml, 3)}
    assert found('"learning rate" -schedule') == set()
    assert found('"descent direction"') == {(ml, 2)}
    only_minus = client.get("/api/search?q=-gradient")
    assert only_minus.status_code == 400 and "no word to look for" in only_minus.get_json()["detail"]


def test_a_deleted_job_is_no_longer_found(lectures):
    client, _, rnn = lectures
    assert client.delete(f"/api/jobs/{rnn}").status_code == 204
    assert client.get("/api/search?q=backpropagation").get_json()["count"] == 0


def test_search_never_returns_another_keys_jobs(make_app, migrated_pg, redis_url, app):
    secured = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, AUTH_REQUIRED=True)
    keys = {name: make_key(secured, name, admin=name == "root") for name in ("alice", "bob", "root")}
    with secured.app_context():
        ids = dict(db.session.execute(sa.select(ApiKey.name, ApiKey.id)).all())
    jobs = {name: finished_job(secured, f"{name}.mp4", [("Entropy", f"{name} explains entropy")], ids[name])
            for name in ("alice", "bob")}
    client = secured.test_client()

    for name in ("alice", "bob"):
        found = client.get("/api/search?q=entropy", headers=bearer(keys[name])).get_json()["results"]
        assert [hit["job_id"] for hit in found] == [jobs[name]]
    everyone = client.get("/api/search?q=entropy", headers=bearer(keys["root"])).get_json()["results"]
    assert {hit["job_id"] for hit in everyone} == set(jobs.values())  # an admin key sees every job
    assert client.get("/api/search?q=entropy").status_code == 401
