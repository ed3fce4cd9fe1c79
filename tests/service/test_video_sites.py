"""A video_url that is a page or an HLS stream is fetched with yt-dlp, under the address rule of
direct downloads: every connection it opens is checked (infra/url_guard.py, jobs/video_sites.py)."""

from __future__ import annotations

import pytest

from support.hls import make_hls
from support.http_servers import serve_folder


@pytest.fixture(scope="module")
def hls_folder(service_clip, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hls")
    make_hls(service_clip, folder)
    return folder


def test_an_hls_stream_is_fetched_and_turned_into_slides(app, client, hls_folder, wait_job):
    app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True  # the stream is served from this machine
    with serve_folder(hls_folder) as (base, seen):
        accepted = client.post("/api/jobs", json={"video_url": f"{base}/index.m3u8", "ocr": False})
        assert accepted.status_code == 202, accepted.get_json()
        job = wait_job(client, accepted.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["slide_count"] == 5 and job["video"]["duration"] == pytest.approx(30, abs=0.5)
    assert {"/index.m3u8", "/seg000.ts", "/seg001.ts", "/seg002.ts"} <= set(seen)


def test_a_playlist_whose_segments_lead_to_a_private_address_fails_the_job(app, client, hls_folder, tmp_path,
                                                                        wait_job, monkeypatch):
    """127.0.0.1 stands in for a public server (the test machine has no public address of its
    own); its playlist names segments on 127.0.0.2. No segment is requested, and the job fails
    saying where the stream led."""
    from infra import url_guard
    real_kind = url_guard.address_kind
    monkeypatch.setattr(url_guard, "address_kind", lambda a: None if a == "127.0.0.1" else real_kind(a))
    with serve_folder(hls_folder, host="127.0.0.2") as (inner_base, inner_seen):
        playlist = (hls_folder / "index.m3u8").read_text().replace("seg", f"{inner_base}/seg")
        outer = tmp_path / "outer"
        outer.mkdir()
        (outer / "index.m3u8").write_text(playlist)
        with serve_folder(outer) as (base, seen):
            accepted = client.post("/api/jobs", json={"video_url": f"{base}/index.m3u8"})
            assert accepted.status_code == 202, accepted.get_json()
            job = wait_job(client, accepted.get_json()["id"])
    assert job["status"] == "failed" and job["error"].startswith("video_url leads to 127.0.0.2"), job["error"]
    assert "(loopback)" in job["error"] and inner_seen == [] and "/index.m3u8" in seen
    assert job["message"].startswith("failed: video_url leads to") and job["stage"] is None


def test_a_page_without_a_video_fails_with_a_reason(app, client, tmp_path, wait_job):
    app.config["ALLOW_PRIVATE_VIDEO_URLS"] = True
    (tmp_path / "talk.html").write_text("<html><body><p>The recording will be online next week.</p></body></html>")
    with serve_folder(tmp_path) as (base, _):
        job = wait_job(client, client.post("/api/jobs", json={"video_url": f"{base}/talk.html"}).get_json()["id"])
    assert job["status"] == "failed"
    assert job["error"] == "video_url is neither a video file nor a page or stream yt-dlp knows how to read"
    assert job["message"] == f"failed: {job['error']}"
