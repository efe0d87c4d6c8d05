"""The canonical address: every absolute link comes from BASE_URL, never from the request.

The site is asked for under a port and scheme of its own host that BASE_URL does not name
(``http://lep.example.org:8443``), so a link built from the request would show it.
"""

import re
from types import SimpleNamespace

import pytest
from conftest import csrf_token, outbox, valid_application
from sqlalchemy import func, select

from lepsite import create_app
from lepsite.accounts import new_user
from lepsite.config import ConfigurationError
from lepsite.extensions import db
from lepsite.membership.operations import admin_url, status_url
from lepsite.models import Application, OutgoingMail
from lepsite.urls import external_url

BASE = "https://lep.example.org"
# The right host, but neither the scheme nor the port of BASE_URL.
ASKED = "http://lep.example.org:8443"
FORGED = "evil.example"
URL = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture
def site(app_factory):
    """The app with its address set (with a trailing slash, which is dropped)."""
    app = app_factory(BASE_URL=BASE + "/")
    with app.app_context():
        new_user("kyiv@example.org", "Kyiv", "coordinator", "a long enough password", ["kyiv"])
        db.session.commit()
    return app


def site_links(body: str) -> list[str]:
    """The absolute links in a page that are not XML namespaces or schemas."""
    return [url for url in URL.findall(body) if "w3.org" not in url and "sitemaps.org" not in url]


def stored(app) -> tuple[int, int]:
    """(applications, queued or sent messages) in the database."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Application)),
            db.session.scalar(select(func.count()).select_from(OutgoingMail)),
        )


@pytest.mark.parametrize(
    ("proxies", "forged"),
    [(0, {"Host": FORGED}), (1, {"X-Forwarded-Host": FORGED})],
    ids=["host", "x-forwarded-host"],
)
def test_a_form_sent_for_another_host_is_refused_and_sends_nothing(app_factory, proxies, forged):
    app = app_factory(BASE_URL=BASE, PROXY_COUNT=proxies)
    with app.app_context():
        new_user("kyiv@example.org", "Kyiv", "coordinator", "a long enough password", ["kyiv"])
        db.session.commit()
    client = app.test_client()
    data = {"csrf_token": csrf_token(client, "/uk/apply"), **valid_application()}
    response = client.post("/uk/apply", data=data, headers=forged)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<html lang="uk"' in page  # the site's own page, in the URL's language
    assert FORGED not in page
    assert "Location" not in response.headers
    assert stored(app) == (0, 0)
    assert outbox(app) == []
    # The same form for the right host goes through.
    assert client.post("/uk/apply", data=data).status_code == 303
    assert stored(app) == (1, 2)


def test_mail_links_are_built_from_the_base_url(site):
    client = site.test_client()
    form = client.get("/uk/apply", base_url=ASKED).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', form).group(1)
    data = {"csrf_token": token, **valid_application(language="uk")}
    response = client.post("/uk/apply", data=data, base_url=ASKED)
    assert response.status_code == 303
    with site.app_context():
        application = db.session.scalars(select(Application)).one()
    applicant, coordinator = outbox(site)
    assert applicant["To"] == "olena@example.org"
    assert site_links(applicant.get_content()) == [f"{BASE}/uk/apply/status/{application.token}"]
    assert coordinator["To"] == "kyiv@example.org"
    assert site_links(coordinator.get_content()) == [f"{BASE}/admin/applications/{application.id}"]


@pytest.mark.parametrize(
    "path", ["/robots.txt", "/sitemap.xml", "/en/about", "/uk/news/", "/bs/news/feed.xml"]
)
def test_public_links_are_built_from_the_base_url(site, path):
    # Without PROXY_COUNT a forwarded host is not believed, and must not leak into links.
    response = site.test_client().get(path, base_url=ASKED, headers={"X-Forwarded-Host": FORGED})
    assert response.status_code == 200
    links = site_links(response.get_data(as_text=True))
    assert links
    assert all(link.startswith(BASE + "/") for link in links), links


def test_canonical_and_alternates_name_the_base_url(site):
    page = site.test_client().get("/bs/about", base_url=ASKED).get_data(as_text=True)
    assert f'<link rel="canonical" href="{BASE}/bs/about">' in page
    for lang in ("en", "bs", "uk"):
        assert f'<link rel="alternate" hreflang="{lang}" href="{BASE}/{lang}/about">' in page
    assert f'<link rel="alternate" hreflang="x-default" href="{BASE}/en/about">' in page


def test_robots_txt_points_at_the_sitemap_on_the_base_url(site):
    body = site.test_client().get("/robots.txt", base_url=ASKED).get_data(as_text=True)
    assert f"Sitemap: {BASE}/sitemap.xml\n" in body


def test_a_slash_redirect_goes_to_the_base_url(site):
    client = site.test_client()
    response = client.get("/en/news", base_url=ASKED)
    assert response.status_code == 308
    assert response.headers["Location"] == f"{BASE}/en/news/"
    refused = client.get("/en/news", headers={"Host": FORGED})
    assert refused.status_code == 400
    assert "Location" not in refused.headers


def test_behind_a_proxy_the_forwarded_host_is_checked(app_factory):
    app = app_factory(BASE_URL=BASE, PROXY_COUNT=1)
    client = app.test_client()
    assert client.get("/en/about", headers={"X-Forwarded-Host": FORGED}).status_code == 400
    right = client.get("/en/about", headers={"X-Forwarded-Host": "lep.example.org"})
    assert right.status_code == 200


def test_other_hosts_never_reach_the_page_cache(site):
    client = site.test_client()
    for host in ("a.test", "b.test", "c.test"):
        assert client.get("/en/about", headers={"Host": host}).status_code == 400
    for port in (8001, 8002):
        assert (
            client.get("/en/about", headers={"Host": f"lep.example.org:{port}"}).status_code == 200
        )
    assert len(site.extensions["lepsite.page_cache"]._entries) == 1


def test_the_health_check_answers_only_for_the_sites_name(site):
    client = site.test_client()
    assert client.get("/healthz", headers={"Host": "10.0.0.5:8000"}).status_code == 400
    response = client.get("/healthz", headers={"Host": "lep.example.org"})
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")


def test_the_cli_builds_links_from_the_base_url(site):
    with site.app_context():
        assert external_url("public.home", lang="bs") == f"{BASE}/bs/"
        assert admin_url(SimpleNamespace(id=6)) == f"{BASE}/admin/applications/6"
        application = SimpleNamespace(language="uk", token="t0ken")
        assert status_url(application) == f"{BASE}/uk/apply/status/t0ken"


def test_without_a_base_url_debug_links_to_the_development_server_not_the_request_host(
    app_factory,
):
    app = app_factory(BASE_URL=None)
    for host in ("one.test", "two.test:5001"):
        page = app.test_client().get("/en/about", base_url=f"http://{host}")
        html = page.get_data(as_text=True)
        assert '<link rel="canonical" href="http://127.0.0.1:5000/en/about">' in html
        assert host not in html
    with app.app_context():  # the CLI: the development server's address
        assert external_url("public.home", lang="uk") == "http://127.0.0.1:5000/uk/"


@pytest.fixture
def production(tmp_path, monkeypatch):
    """Return a function that starts the app as in production (no debug, no testing)."""
    monkeypatch.delenv("LEPSITE_BASE_URL", raising=False)

    def start(**settings):
        return create_app(
            {
                "SECRET_KEY": "production-secret-key-0123456789abcdef",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'site.sqlite'}",
                **settings,
            }
        )

    return start


def test_production_refuses_to_start_without_a_base_url(production):
    with pytest.raises(ConfigurationError, match="LEPSITE_BASE_URL is missing"):
        production()


@pytest.mark.parametrize(
    "value",
    [
        "lep.example.org",
        "//lep.example.org",
        "ftp://lep.example.org",
        "https://",
        "https://lep.example.org/lep",
        "https://lep.example.org/?next=/",
        "https://lep.example.org?",
        "https://lep.example.org#top",
        "https://user:pass@lep.example.org",
        "https://lep.example.org:99999",
        "https://lep.example.org:0",
        "https://lep.example.org:port",
        "https://lep example.org",
        "https://lep_example.org",
        "https://lеp.example.org",  # a Cyrillic "е"
        42,
    ],
)
def test_production_refuses_a_malformed_base_url(production, value):
    with pytest.raises(ConfigurationError, match="is not the site's public address"):
        production(BASE_URL=value)


@pytest.mark.parametrize(
    ("value", "base", "server_name"),
    [
        ("HTTPS://Lep.Example.ORG:443/", "https://lep.example.org", "lep.example.org"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://[::1]:80", "http://[::1]", "[::1]"),
    ],
)
def test_the_base_url_is_normalised_and_sets_flasks_url_settings(
    production, value, base, server_name
):
    app = production(BASE_URL=value)
    assert app.config["BASE_URL"] == base
    assert app.config["SERVER_NAME"] == server_name
    assert app.config["PREFERRED_URL_SCHEME"] == base.partition(":")[0]
