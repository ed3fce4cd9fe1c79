"""The web page at /: served by the app itself, complete without any other site."""

import re


def test_the_page_offers_upload_search_and_a_slide_viewer_with_only_local_assets(embedded_client):
    page = embedded_client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for element in ('id="files"', 'multiple', 'id="urls"', 'id="search-q"', 'id="viewer"', 'name="viewport"'):
        assert element in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/assets/") for a in assets), assets  # nothing from a CDN
    for asset in assets:
        served = embedded_client.get(asset)
        assert served.status_code == 200 and b"http://" not in served.data and b"https://" not in served.data
    script = embedded_client.get("/assets/app.js")
    assert "javascript" in script.mimetype
    assert b"/api/jobs/" in script.data and b"Last-Event-ID" in script.data and b"Bearer" in script.data


def test_the_page_states_the_servers_upload_limit(embedded_app):
    embedded_app.config["MAX_UPLOAD_MB"] = 123
    assert "up to 123 MB" in embedded_app.test_client().get("/").get_data(as_text=True)


def test_the_page_runs_only_its_own_assets_and_is_never_framed(embedded_client):
    page = embedded_client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    html = page.get_data(as_text=True)
    assert not re.search(r"<script>|<style>| on[a-z]+=| style=", html)  # nothing inline the policy would block
    for path in ("/", "/assets/app.js", "/api/jobs", "/api/jobs/not-a-uuid"):
        assert embedded_client.get(path).headers["X-Content-Type-Options"] == "nosniff", path
