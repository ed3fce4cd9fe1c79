"""The documents beyond PDF and notes through the API: chapters, slides.pptx, in the archive; the
talk's deck sent with the video."""

import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from pptx import Presentation
from pypdf import PdfReader

from support.api_checks import assert_nothing_created, assert_problem
from slidecast.transcribe.whisper import WhisperEngine
from support.services import BEAMER_DECK, DECK_TALK_PAGES

NARRATED = Path(__file__).resolve().parents[1] / "data" / "narrated.mp4"  # speech, the bundled recogniser's


def test_pptx_and_chapters_are_served_and_in_the_archive(embedded_client, service_clip, wait_job):
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "pptx": "true"})
    assert response.status_code == 202, response.get_json()
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    base = f"/api/jobs/{job['id']}"
    assert {"pptx", "chapters", "chapters_vtt"} <= set(job["artifacts"])
    assert job["links"]["pptx"].endswith("/pptx") and job["links"]["chapters"].endswith("/chapters.txt")

    deck = Presentation(io.BytesIO(client.get(f"{base}/pptx").data))
    assert len(deck.slides) == 5  # the clip's five distinct slides
    assert all(s.notes_slide.notes_text_frame.text.strip() for s in deck.slides)
    chapters = client.get(f"{base}/chapters.txt")
    assert chapters.mimetype == "text/plain" and chapters.get_data(as_text=True).startswith("00:00 ")
    assert client.get(f"{base}/chapters.vtt").get_data(as_text=True).startswith("WEBVTT")
    names = zipfile.ZipFile(io.BytesIO(client.get(f"{base}/archive.zip").data)).namelist()
    assert {"chapters.txt", "chapters.vtt", "slides.pptx"} <= set(names)


def test_no_pptx_unless_asked_and_the_404_says_so(embedded_client, service_clip, wait_job):
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "ocr": "false"})
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    missing = client.get(f"/api/jobs/{job['id']}/pptx")
    assert missing.status_code == 404 and "not requested" in missing.get_json()["detail"]


def test_subtitles_asked_for_a_silent_video_say_no_narration_was_heard(embedded_client, service_clip, wait_job):
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "ocr": "false",
                                              "transcribe": "true"})
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    missing = client.get(f"/api/jobs/{job['id']}/transcript.srt")
    assert missing.status_code == 404
    assert "no narration was heard" in missing.get_json()["detail"]  # not "it was not requested": it was
    assert any("no sound track" in w for w in job["warnings"]), job["warnings"]


def test_a_transcript_by_the_bundled_recogniser_is_flagged_in_words_an_api_user_can_act_on(
        embedded_client, wait_job):
    if WhisperEngine.available():
        pytest.skip("a whisper model is set up here: auto uses it")
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (NARRATED.open("rb"), "narrated.mp4"), "ocr": "false",
                                              "transcribe": "true", "pdf": "false"})
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    rough = [w for w in job["warnings"] if "pocketsphinx" in w]
    # The deployment's setting, not a request field POST /api/jobs would refuse as unknown.
    assert rough and "SLIDECAST_WHISPER_MODEL" in rough[0] and "deployment setting" in rough[0], rough
    assert "transcribe_engine" not in rough[0] and "--transcribe-engine" not in rough[0]
    base = f"/api/jobs/{job['id']}"
    assert client.get(f"{base}/manifest").get_json()["warnings"] == job["warnings"]
    notes = client.get(f"{base}/notes").get_data(as_text=True)
    assert notes.index("bundled speech recogniser") < notes.index("### What was said")


def test_a_deck_sent_with_the_video_aligns_its_slides_and_the_pdf_holds_its_own_pages(
        embedded_client, deck_talk, wait_job):
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (deck_talk.open("rb"), "talk.mp4"),
                                              "deck": (BEAMER_DECK.open("rb"), "conference-talk.pdf")})
    assert response.status_code == 202, response.get_json()
    created = response.get_json()
    assert created["options"]["deck"] == "sha256:" + hashlib.sha256(BEAMER_DECK.read_bytes()).hexdigest()
    job = wait_job(client, created["id"])
    assert job["status"] == "succeeded", job["error"]
    base = f"/api/jobs/{job['id']}"
    manifest = client.get(f"{base}/manifest").get_json()
    assert [s["deck_page"] for s in manifest["slides"]] == list(DECK_TALK_PAGES)
    assert manifest["options"]["deck"] == created["options"]["deck"]  # no path of the server
    pdf = PdfReader(io.BytesIO(client.get(f"{base}/pdf").data))
    deck = PdfReader(BEAMER_DECK)
    for page, number in zip(pdf.pages, DECK_TALK_PAGES):
        # The deck's own text layer (the frame's OCR would misread the navigation bar's circles).
        assert page.extract_text().split() == deck.pages[number - 1].extract_text().split()
    slides = client.get(f"{base}/slides").get_json()["slides"]
    assert "A haplotype matrix H." in slides[0]["text"]
    assert job["warnings"] == []


def test_a_deck_of_another_talk_is_named_in_the_jobs_answer(embedded_client, deck_talk, wait_job):
    client = embedded_client
    other = BEAMER_DECK.with_name("verona-default.pdf")
    response = client.post("/api/jobs", data={"file": (deck_talk.open("rb"), "talk.mp4"), "ocr": "false",
                                              "deck": (other.open("rb"), "verona.pdf")})
    job = wait_job(client, response.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert len(job["warnings"]) == 1, job
    assert "matches only 0 of" in job["warnings"][0] and "this talk's deck" in job["warnings"][0]
    assert "deck.pdf" not in job["warnings"][0]  # not the server's own name for the stored file
    assert client.get(f"/api/jobs/{job['id']}").get_json()["warnings"] == job["warnings"]


@pytest.mark.parametrize("deck, limits, words", [
    (b"these are my slides", {}, ("not a PDF", "deck")),
    (b"", {}, ("not a PDF", "deck")),
    (b"%PDF-1.4 but then nothing", {}, ("cannot be opened", "deck")),
    (None, {"MAX_DECK_PAGES": 30}, ("31 pages", "MAX_DECK_PAGES", "deck")),
    (b"%PDF-1.4" + b" " * (1024 * 1024 + 1), {"MAX_DECK_MB": 1}, ("1.0 MB", "MAX_DECK_MB", "deck")),
])
def test_a_deck_that_is_no_usable_pdf_or_too_large_is_refused_and_nothing_is_created(
        make_app, tmp_path, sqlite_template, service_clip, deck, limits, words):
    shutil.copyfile(sqlite_template, tmp_path / "slidecast.db")
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'slidecast.db'}", REDIS_URL=None, **limits)
    data = deck if deck is not None else BEAMER_DECK.read_bytes()
    response = app.test_client().post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"),
                                                         "deck": (io.BytesIO(data), "slides.pdf")})
    body = assert_problem(response, 422, *words)
    # The sent file named once, then the reason ("slides.pdf: the deck is not a PDF ..."), as for
    # a video; not "deck: deck slides.pdf is not a PDF".
    assert body["detail"].startswith("slides.pdf: the deck "), body["detail"]
    assert body["detail"].count("slides.pdf") == 1 and "deck: " not in body["detail"], body["detail"]
    assert_nothing_created(app)


def test_a_deck_sent_as_a_plain_field_is_refused_with_how_to_send_it(embedded_client, embedded_app, service_clip):
    response = embedded_client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"),
                                                       "deck": "slides.pdf"})
    assert_problem(response, 422, "deck", "send it as a file")
    assert_nothing_created(embedded_app)


def test_chapters_as_json_match_chapters_txt(embedded_client, service_clip, wait_job):
    """/chapters is what a program reading the job wants (the link /chapters.txt is for video sites)."""
    client = embedded_client
    job = wait_job(client, client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4")}).get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    listed = client.get(f"/api/jobs/{job['id']}/chapters")
    assert listed.status_code == 200 and listed.mimetype == "application/json"
    chapters = listed.get_json()["chapters"]
    lines = client.get(f"/api/jobs/{job['id']}/chapters.txt").get_data(as_text=True).splitlines()
    assert [c["title"] for c in chapters] == [line.split(" ", 1)[1] for line in lines] and chapters
    assert chapters[0]["start"] == 0 and [c["end"] for c in chapters[:-1]] == [c["start"] for c in chapters[1:]]
    assert chapters[-1]["end"] == pytest.approx(job["video"]["duration"])


def test_chapters_of_a_job_without_them_is_a_404_that_says_why(embedded_client, service_clip, wait_job):
    client = embedded_client
    response = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"), "chapters": "false",
                                              "ocr": "false"})
    job = wait_job(client, response.get_json()["id"])
    missing = client.get(f"/api/jobs/{job['id']}/chapters")
    assert missing.status_code == 404 and "not requested" in missing.get_json()["detail"]
