"""The documents beyond PDF and notes through the API: chapters, slides.pptx, in the archive."""

import io
import zipfile

from pptx import Presentation

from support.api_checks import assert_nothing_created, assert_problem


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


def test_a_deck_sent_to_the_api_is_refused_not_silently_ignored(embedded_client, embedded_app, service_clip):
    response = embedded_client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"),
                                                       "deck": (io.BytesIO(b"%PDF-1.4"), "deck.pdf")})
    assert_problem(response, 422, "deck", "--deck")
    assert_nothing_created(embedded_app)
