"""The web page in a real browser (Debian's chromium, driven by Selenium through
/usr/bin/chromedriver): a person uploads a recording, watches it progress, opens a slide,
downloads the PDF and finds a phrase through the search box.

Needs `apt-get install -y chromium chromium-driver`; without them the test is skipped (it fails
under CI=true). SLIDECAST_SCREENSHOT=PATH saves the finished gallery there (docs/ holds one).
"""

import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from infra.extensions import db
from models import ApiKey
from support.security import bearer, make_key
from support.services import BEAMER_DECK, DECK_TALK_PAGES, unavailable, wait_until

NARRATED = Path(__file__).resolve().parents[1] / "data" / "narrated.mp4"  # 3 slides, 12 s, spoken
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                "--window-size=1280,900")


@pytest.fixture
def browser(tmp_path):
    if not (shutil.which("chromium") and os.path.exists("/usr/bin/chromedriver")):
        unavailable("the browser test needs Debian's chromium and chromedriver: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations land there
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.downloads = tmp_path / "downloads"
    yield driver
    driver.quit()


@contextmanager
def serving(app):
    """`app` served over HTTP on a free port (threaded: event streams stay open); yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def live_server(embedded_app):
    with serving(embedded_app) as url:
        yield url


def test_upload_watch_progress_open_a_slide_download_the_pdf_and_search(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    find = browser.find_element
    browser.get(live_server + "/")
    find(By.ID, "files").send_keys(str(NARRATED))
    find(By.ID, "pptx").click()  # ask for the PowerPoint file too
    find(By.ID, "start").click()

    rows = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-job]"), "the job on the page",
                      30, 0.05)
    row = rows[0]
    seen = []
    while row.get_attribute("data-status") not in ("succeeded", "failed"):
        seen.append((row.find_element(By.CSS_SELECTOR, ".job-state").text,
                     float(row.find_element(By.TAG_NAME, "progress").get_attribute("value"))))
        time.sleep(0.05)
    assert row.get_attribute("data-status") == "succeeded", row.text
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and len(set(percents)) >= 3, seen  # it moved, never back
    assert any(state.startswith(("decoding", "detecting", "ocr", "transcribing")) for state, _ in seen), seen

    row.find_element(By.CSS_SELECTOR, ".open-job").click()
    slides = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#slides li"), "the gallery", 10)
    assert len(slides) == 3
    wait_until(lambda: all(i.get_attribute("src").startswith("blob:")
                           for i in browser.find_elements(By.CSS_SELECTOR, "#slides img")), "the thumbnails", 10)
    assert "00:00" in slides[0].text and "gradient" in slides[0].text.lower()
    if os.environ.get("SLIDECAST_SCREENSHOT"):
        find(By.ID, "gallery").screenshot(os.environ["SLIDECAST_SCREENSHOT"])

    slides[1].click()
    viewer = find(By.ID, "viewer")
    wait_until(lambda: viewer.is_displayed() and viewer.get_attribute("data-slide") == "2", "slide 2 opened", 5)
    assert "learning rate" in find(By.ID, "viewer-text").text.lower()
    find(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    wait_until(lambda: viewer.get_attribute("data-slide") == "3", "the next slide", 5)
    find(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait_until(lambda: viewer.get_attribute("data-slide") == "2", "the previous slide", 5)
    find(By.ID, "viewer-close").click()

    kinds = [b.get_attribute("data-kind") for b in browser.find_elements(By.CSS_SELECTOR, "#downloads button")]
    assert {"pdf", "notes", "pptx", "chapters", "archive"} <= set(kinds), kinds
    find(By.CSS_SELECTOR, "#downloads button[data-kind=pdf]").click()
    pdf = browser.downloads / f"{NARRATED.stem} - slides.pdf"  # named after the lecture
    wait_until(lambda: pdf.exists() and pdf.stat().st_size > 0, "the PDF download", 20)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    find(By.CSS_SELECTOR, "#downloads button[data-kind=pptx]").click()
    pptx = browser.downloads / f"{NARRATED.stem} - slides.pptx"
    wait_until(lambda: pptx.exists() and pptx.stat().st_size > 0, "the PowerPoint download", 20)
    assert pptx.read_bytes()[:2] == b"PK"  # a zip package

    find(By.ID, "search-q").send_keys("learning rate", Keys.ENTER)
    hits = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#results li[data-slide]"), "search results")
    assert hits[0].get_attribute("data-slide") == "2" and "<mark>" in hits[0].get_attribute("innerHTML").lower()
    hits[0].click()
    wait_until(lambda: viewer.is_displayed() and viewer.get_attribute("data-slide") == "2", "the found slide", 10)
    refused = [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert not refused, refused  # the page's policy (api/web.py) blocks nothing the page does


def test_several_videos_go_in_one_batch_and_each_refusal_is_shown(browser, live_server, tmp_path, service_clip):
    from selenium.webdriver.common.by import By

    notes = tmp_path / "notes.mp4"
    notes.write_bytes(b"%PDF-1.4 these are the lecture notes, not a video\n" * 100)
    browser.get(live_server + "/")
    browser.find_element(By.ID, "transcribe").click()  # off: this clip has no sound
    browser.find_element(By.ID, "files").send_keys(f"{service_clip}\n{notes}")
    browser.find_element(By.ID, "urls").send_keys("ftp://example.org/week3.mp4")
    browser.find_element(By.ID, "start").click()

    error = wait_until(lambda: browser.find_element(By.ID, "submit-error").text.count("\n") == 1
                       and browser.find_element(By.ID, "submit-error"), "both refusals shown", 30)
    assert error.text.count("notes.mp4") == 1 and "notes.mp4: the file is not a readable video" in error.text
    assert "ftp://example.org/week3.mp4:" in error.text and "http:// or https://" in error.text
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-status=succeeded]"),
               "the one good video to succeed", 120)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-job]")) == 1
    sent = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert sum(name.endswith("/api/jobs/batch") for name in sent) == 1  # one request for all three
    assert not any(name.endswith("/api/jobs") for name in sent)


@pytest.fixture
def secured_app(make_app, tmp_path, sqlite_template):
    """An embedded app with AUTH_REQUIRED and a key of it."""
    shutil.copyfile(sqlite_template, tmp_path / "secured.db")
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'secured.db'}", REDIS_URL=None, AUTH_REQUIRED=True)
    return app, make_key(app, "browser")


@pytest.fixture
def secured_server(secured_app):
    """The secured app served over HTTP; yields its URL and the key."""
    app, key = secured_app
    with serving(app) as url:
        yield url, key


def test_with_auth_required_the_page_asks_for_the_key_once_and_keeps_it(browser, secured_server, service_clip):
    from selenium.webdriver.common.by import By

    url, key = secured_server
    browser.get(url + "/")
    prompt = wait_until(lambda: _alert(browser), "the page to ask for the API key", 10)
    assert "API key" in prompt.text
    prompt.send_keys(key)
    prompt.accept()
    assert browser.execute_script("return localStorage.getItem('slidecast.apiKey')") == key

    browser.find_element(By.ID, "transcribe").click()  # off: this clip has no sound
    browser.find_element(By.ID, "files").send_keys(str(service_clip))
    browser.find_element(By.ID, "start").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-status=succeeded]"),
               "the job to succeed, followed with the key", 120)

    browser.refresh()  # the key is kept: no second question, the job is listed again
    rows = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-status=succeeded]"),
                      "the job listed after a reload", 10)
    assert _alert(browser) is None and "cuts.mp4" in rows[0].text


def test_a_key_the_server_refuses_is_said_to_be_refused_when_the_page_asks_again(browser, secured_server):
    url, key = secured_server
    browser.get(url + "/")
    first = wait_until(lambda: _alert(browser), "the page to ask for the API key", 10)
    assert "needs an API key" in first.text and "refused" not in first.text
    first.send_keys("sk-not-a-key-of-this-server")
    first.accept()
    again = wait_until(lambda: _alert(browser), "the page to ask again", 10)
    assert "refused that API key" in again.text and "needs an API key" not in again.text
    again.send_keys(key)
    again.accept()
    wait_until(lambda: browser.execute_script("return localStorage.getItem('slidecast.apiKey')") == key,
               "the right key kept", 10)


def test_a_single_file_that_is_no_video_is_named_once_in_the_error(browser, live_server, tmp_path):
    from selenium.webdriver.common.by import By

    notes = tmp_path / "week 2 notes.mp4"
    notes.write_bytes(b"%PDF-1.4 these are the lecture notes, not a video\n" * 100)
    browser.get(live_server + "/")
    browser.find_element(By.ID, "files").send_keys(str(notes))
    browser.find_element(By.ID, "start").click()
    error = wait_until(lambda: browser.find_element(By.ID, "submit-error").text, "the refusal shown", 30)
    assert error.startswith("week 2 notes.mp4: the file is not a readable video") and error.count("notes") == 1


def test_a_video_sent_with_its_slides_pdf_shows_each_slide_as_its_deck_page(browser, live_server, deck_talk):
    from selenium.webdriver.common.by import By

    browser.get(live_server + "/")
    browser.find_element(By.ID, "transcribe").click()  # off: this talk has no sound
    browser.find_element(By.ID, "files").send_keys(str(deck_talk))
    browser.find_element(By.ID, "deck").send_keys(str(BEAMER_DECK))
    browser.find_element(By.ID, "start").click()
    row = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-status=succeeded]"),
                     "the talk to succeed", 120)[0]
    assert browser.find_element(By.ID, "deck").get_attribute("value") == ""  # cleared for the next video

    row.find_element(By.CSS_SELECTOR, ".open-job").click()
    slides = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#slides li"), "the gallery", 10)
    assert [s.find_element(By.CSS_SELECTOR, ".deck-page").text for s in slides] == [
        f"deck page {page}" for page in DECK_TALK_PAGES]


def test_a_slides_pdf_the_server_refuses_is_named_in_the_error_and_no_job_starts(browser, live_server, tmp_path,
                                                                                 service_clip):
    from selenium.webdriver.common.by import By

    notes = tmp_path / "week3-notes.pdf"
    notes.write_bytes(b"these are my notes, typed, not a PDF\n" * 50)
    browser.get(live_server + "/")
    browser.find_element(By.ID, "files").send_keys(str(service_clip))
    browser.find_element(By.ID, "deck").send_keys(str(notes))
    browser.find_element(By.ID, "start").click()
    error = wait_until(lambda: browser.find_element(By.ID, "submit-error").text, "the refusal shown", 30)
    assert error.startswith("week3-notes.pdf: the deck is not a PDF") and error.count("week3-notes.pdf") == 1
    assert not browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-job]")

    browser.find_element(By.ID, "urls").send_keys("https://example.org/week4.mp4")  # two videos, one deck
    browser.find_element(By.ID, "files").send_keys(str(service_clip))
    browser.find_element(By.ID, "deck").send_keys(str(BEAMER_DECK))
    browser.find_element(By.ID, "start").click()
    wait_until(lambda: "goes with one video" in browser.find_element(By.ID, "submit-error").text,
               "the page to ask for a single video", 10)
    assert not browser.find_elements(By.CSS_SELECTOR, "#jobs li[data-job]")


def test_a_job_is_cancelled_then_deleted_from_the_page_each_after_a_confirmation(browser, secured_app, add_job):
    from selenium.webdriver.common.by import By

    app, key = secured_app
    with app.app_context():
        owner = db.session.scalar(sa.select(ApiKey.id).where(ApiKey.name == "browser"))
    job = add_job(app, source_filename="week 5.mp4", api_key_id=owner)  # queued: no broker takes it
    other = add_job(app, source_filename="week 6.mp4", api_key_id=owner)
    with serving(app) as url:
        browser.get(url + "/")
        prompt = wait_until(lambda: _alert(browser), "the page to ask for the API key", 10)
        prompt.send_keys(key)
        prompt.accept()
        row = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, f"#jobs li[data-job='{job}']"), "the job", 10)[0]
        assert row.get_attribute("data-status") == "queued" and not row.find_elements(By.CSS_SELECTOR, ".delete-job")

        row.find_element(By.CSS_SELECTOR, ".cancel-job").click()
        question = wait_until(lambda: _alert(browser), "the page to ask before cancelling", 10)
        assert "Cancel “week 5.mp4”?" in question.text
        question.dismiss()  # changed my mind: nothing happens
        time.sleep(0.5)
        assert row.get_attribute("data-status") == "queued" and _status(app, key, job) == 200

        row.find_element(By.CSS_SELECTOR, ".cancel-job").click()
        wait_until(lambda: _alert(browser), "the question again", 10).accept()
        wait_until(lambda: row.get_attribute("data-status") == "cancelled", "the row to show the job cancelled", 10)
        assert row.find_element(By.CSS_SELECTOR, ".job-note").text == "Cancelled."
        assert row.find_element(By.CSS_SELECTOR, ".job-state").text == "cancelled"
        assert _job(app, key, job)["status"] == "cancelled"  # on the server, with the page's key

        row.find_element(By.CSS_SELECTOR, ".delete-job").click()
        question = wait_until(lambda: _alert(browser), "the page to ask before deleting", 10)
        assert "Delete “week 5.mp4”" in question.text and "cannot be undone" in question.text
        question.accept()
        wait_until(lambda: not browser.find_elements(By.CSS_SELECTOR, f"#jobs li[data-job='{job}']"), "the row gone", 10)
        assert browser.find_element(By.ID, "jobs-note").text == "Deleted “week 5.mp4”."
        assert _status(app, key, job) == 404
        assert _job(app, key, other)["status"] == "queued"  # the other job is untouched, still listed
        assert browser.find_elements(By.CSS_SELECTOR, f"#jobs li[data-job='{other}'] .cancel-job")


def _job(app, key, job_id):
    response = app.test_client().get(f"/api/jobs/{job_id}", headers=bearer(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _status(app, key, job_id):
    return app.test_client().get(f"/api/jobs/{job_id}", headers=bearer(key)).status_code


def _alert(browser):
    from selenium.common.exceptions import NoAlertPresentException
    try:
        alert = browser.switch_to.alert
        alert.text  # raises when there is none
        return alert
    except NoAlertPresentException:
        return None
