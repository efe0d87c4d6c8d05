"""Health check, sitemap, robots, error pages and security headers."""

import xml.etree.ElementTree as ET

import pytest
from flask import Blueprint
from sqlalchemy.exc import OperationalError

from lepsite.extensions import db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture
def small_app(app_factory, small_site):
    return app_factory(CONTENT_DIR=str(small_site))


def test_healthz_answers_ok_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"


def test_healthz_fails_when_the_database_does_not(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) != "ok"


def test_sitemap_lists_every_page_in_every_language_with_alternates(small_app):
    root = ET.fromstring(small_app.test_client().get("/sitemap.xml").data)
    urls = root.findall(f"{SITEMAP}url")
    locs = {url.find(f"{SITEMAP}loc").text for url in urls}
    for lang in ("en", "bs", "uk"):
        assert f"http://lep.test/{lang}/" in locs
        assert f"http://lep.test/{lang}/about" in locs
        assert f"http://lep.test/{lang}/news/" in locs
        assert f"http://lep.test/{lang}/partnerships/" in locs
    for url in urls:
        hreflangs = {link.get("hreflang") for link in url.findall(f"{XHTML}link")}
        assert hreflangs == {"en", "bs", "uk", "x-default"}


def test_robots_points_to_the_sitemap_and_keeps_out_of_admin(client):
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /admin/" in body
    assert "Sitemap: http://lep.test/sitemap.xml" in body


def test_404_for_a_language_free_path_uses_the_visitor_language(client):
    response = client.get("/no/such/page", headers={"Accept-Language": "uk"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="uk"' in html
    assert "<h1>" in html


def test_500_reveals_nothing(app_factory, small_site):
    app = app_factory(CONTENT_DIR=str(small_site))
    broken = Blueprint("broken", __name__)

    @broken.route("/<lang:lang>/boom")
    def boom():
        raise RuntimeError("secret detail")

    app.register_blueprint(broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/bs/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert '<html lang="bs"' in html
    assert "secret detail" not in html and "Traceback" not in html


def test_security_headers_on_every_response(client):
    for path in ("/en/about", "/healthz", "/", "/en/missing"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]
        assert "Strict-Transport-Security" not in headers


def test_hsts_over_https(client):
    response = client.get("/en/about", base_url="https://lep.test")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_pages_have_one_h1_skip_link_and_landmarks(small_app):
    html = small_app.test_client().get("/en/about").get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<a class="skip-link" href="#main">' in html
    for landmark in ("<header", '<main id="main"', "<footer", '<nav class="main-nav"'):
        assert landmark in html
