"""A video_url may only lead to a public address unless ALLOW_PRIVATE_VIDEO_URLS is set: refused
at submit (422, nothing created), again before the download, and for every connection the
download actually opens (a name that resolves elsewhere by then, a redirect)."""

from __future__ import annotations

import http.server
from contextlib import contextmanager

import pytest
from infra.extensions import job_store
from infra.settings import ConfigError, load_settings
from support.api_checks import assert_nothing_created, assert_problem
from infra.url_guard import BlockedAddress, address_kind, guarded_session, url_problem
from support.http_servers import http_server, serve_folder

# (url, what the refusal says about where it leads)
NOT_PUBLIC = [
    ("http://127.0.0.1:8000/talk.mp4", "127.0.0.1, which is not a public address (loopback)"),
    ("http://localhost/talk.mp4", "localhost (127.0.0.1), which is not a public address (loopback)"),
    ("http://169.254.169.254/latest/meta-data/", "(link-local)"),  # cloud metadata endpoint
    ("http://10.1.2.3/talk.mp4", "(private)"),
    ("http://172.16.0.9/talk.mp4", "(private)"),
    ("https://192.168.1.20/talk.mp4", "(private)"),
    ("http://100.64.0.1/talk.mp4", "(not public)"),  # carrier-grade NAT
    ("http://0.0.0.0:5000/talk.mp4", "(unspecified)"),
    ("http://2130706433/talk.mp4", "(loopback)"),  # 127.0.0.1 written as one number
    ("http://user:secret@127.0.0.1/talk.mp4", "(loopback)"),
    ("http://[::1]/talk.mp4", "(loopback)"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "(private)"),  # fc00::/7
    ("http://[fe80::1]/talk.mp4", "(link-local)"),
    ("http://[::ffff:127.0.0.1]/talk.mp4", "(loopback)"),  # IPv4-mapped
    ("http://[64:ff9b::a01:203]/talk.mp4", "(private)"),  # NAT64 of 10.1.2.3
    ("http://[::ffff:0:7f00:1]/talk.mp4", "(loopback)"),  # IPv4-translated (::ffff:0:0:0/96) 127.0.0.1
    ("http://[::ffff:0:a9fe:a9fe]/latest/meta-data/", "(link-local)"),  # ... of 169.254.169.254
    ("http://[64:ff9b:1::a01:203]/talk.mp4", "(private)"),  # local-use NAT64 of 10.1.2.3
    ("http://[2002:a9fe:a9fe::1]/talk.mp4", "(link-local)"),  # 6to4 of 169.254.169.254
    ("http://[::a9fe:a9fe]/talk.mp4", "(link-local)"),  # deprecated IPv4-compatible
    ("http://[fe80::1%25eth0]/talk.mp4", "(link-local address with zone %eth0, a network link of the server)"),
]


@pytest.mark.parametrize("url, where", NOT_PUBLIC)
def test_a_url_on_a_non_public_address_is_refused_at_submit(client, app, url, where):
    body = assert_problem(client.post("/api/jobs", json={"video_url": url}), 422, where)
    assert body["invalid_fields"] == ["video_url"]
    assert "upload the file" in body["detail"] and "ALLOW_PRIVATE_VIDEO_URLS=true" in body["detail"]
    assert_problem(client.post("/api/extract", json={"url": url}), 422, where)
    assert_nothing_created(app)


def test_a_host_that_does_not_exist_is_refused_at_submit(client, app):
    assert_problem(client.post("/api/jobs", json={"video_url": "https://no-such-host.invalid/talk.mp4"}),
                   422, "no-such-host.invalid, does not exist")
    assert_nothing_created(app)


def test_public_addresses_pass_the_check():
    for url in ("http://8.8.8.8/talk.mp4", "https://[2001:4860:4860::8888]:8443/talk.mp4"):
        assert url_problem(url) is None
    assert address_kind("93.184.215.14") is None and address_kind("::ffff:8.8.8.8") is None
    assert address_kind("::ffff:0:808:808") is None and address_kind("64:ff9b::808:808") is None
    assert url_problem("http://127.0.0.1/talk.mp4", allow_private=True) is None
    assert url_problem("ftp://8.8.8.8/talk.mp4", allow_private=True) == "video_url must be an http:// or https:// URL"


def test_the_setting_is_off_by_default_and_validated():
    assert load_settings({})["ALLOW_PRIVATE_VIDEO_URLS"] is False
    assert load_settings({"ALLOW_PRIVATE_VIDEO_URLS": "true"})["ALLOW_PRIVATE_VIDEO_URLS"] is True
    with pytest.raises(ConfigError) as error:
        load_settings({"ALLOW_PRIVATE_VIDEO_URLS": "sometimes"})
    assert str(error.value) == "SLIDECAST config error: ALLOW_PRIVATE_VIDEO_URLS must be true or false, got 'sometimes'"


@contextmanager
def local_site(tmp_path, service_clip):
    """An HTTP server on 127.0.0.1 serving the clip as /talk.mp4; yields (base URL, requests seen)."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "talk.mp4").write_bytes(service_clip.read_bytes())
    with serve_folder(folder) as site:
        yield site


def test_an_intranet_server_is_fetched_only_when_allowed(app, client, tmp_path, service_clip, wait_job):
    with local_site(tmp_path, service_clip) as (base, seen):
        assert_problem(client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4"}), 422, "loopback")
        assert seen == []
        app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True
        accepted = client.post("/api/jobs", json={"video_url": f"{base}/talk.mp4", "ocr": False})
        assert accepted.status_code == 202
        assert wait_job(client, accepted.get_json()["id"])["status"] == "succeeded"
        assert seen == ["/talk.mp4"]


def test_the_download_checks_again_when_the_address_changed_after_submit(app, add_job, tmp_path, service_clip):
    """A job whose host resolved to a public address at submit and to this machine now (DNS
    rebinding), stood in for by a job row written directly: the task refuses it, fetching nothing."""
    from jobs.pipeline import process_job
    with local_site(tmp_path, service_clip) as (base, seen):
        job_id = add_job(app, source_url=f"{base}/talk.mp4", options={}, executor="thread")
        with app.app_context():
            assert process_job(job_id) == "failed"
            job = job_store().get(job_id)
        assert job["status"] == "failed" and "(loopback)" in job["error"], job["error"]
        assert seen == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_every_connection_of_the_download_is_checked(tmp_path, service_clip, host):
    """The session checks the address it actually connected to, whatever name or redirect led
    there, and refuses before sending the request; with private addresses allowed it fetches."""
    with local_site(tmp_path, service_clip) as (base, seen):
        url = base.replace("127.0.0.1", host) + "/talk.mp4"
        with pytest.raises(BlockedAddress, match=r"\(loopback\)"), guarded_session() as session:
            session.get(url, timeout=5)
        assert seen == []
        with guarded_session(allow_private=True) as session:
            assert session.get(url, timeout=5).content == service_clip.read_bytes()
        assert seen == ["/talk.mp4"]


def test_a_redirect_to_a_private_address_fails_the_job(app, client, wait_job, monkeypatch):
    """127.0.0.1 stands in for a public server (the test machine has no public address of its
    own): it redirects to 127.0.0.2. The download refuses the second connection before sending
    anything, and the job fails saying where the URL led."""
    from infra import url_guard
    real_kind = url_guard.address_kind
    monkeypatch.setattr(url_guard, "address_kind", lambda a: None if a == "127.0.0.1" else real_kind(a))
    inner_seen: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", f"{inner}/admin/video.mp4")
            self.end_headers()

    class Inner(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            inner_seen.append(self.path)
            self.send_response(200)
            self.end_headers()

    with http_server(Inner, "127.0.0.2") as inner, http_server(Redirect) as outer:
        accepted = client.post("/api/jobs", json={"video_url": f"{outer}/talk.mp4"})
        assert accepted.status_code == 202, accepted.get_json()
        job = wait_job(client, accepted.get_json()["id"])
    assert job["status"] == "failed" and job["error"].startswith("video_url leads to 127.0.0.2"), job["error"]
    assert "(loopback)" in job["error"] and inner_seen == []
