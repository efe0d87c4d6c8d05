"""Security headers on every kind of response, cookie flags, and pages that work under the CSP."""

import re

import pytest
from conftest import CSRF_PATTERN, csrf_token, sign_in, valid_application

# One of each kind of response the site gives.
RESPONSES = [
    ("GET", "/"),  # redirect
    ("GET", "/en/about"),  # cached content page
    ("GET", "/uk/partnerships/kyiv"),  # page that reads the database
    ("GET", "/bs/apply"),  # form
    ("GET", "/en/news/feed.xml"),
    ("GET", "/sitemap.xml"),
    ("GET", "/robots.txt"),
    ("GET", "/healthz"),
    ("GET", "/static/css/site.css"),
    ("GET", "/admin/login"),
    ("GET", "/admin/"),  # redirect to login
    ("GET", "/en/no-such-page"),  # 404
    ("GET", "/en/apply/status/" + "x" * 43),  # 404 for a wrong token
    ("POST", "/en/apply"),  # 400: no CSRF token
    ("POST", "/en/about"),  # 405
]


@pytest.mark.parametrize(("method", "path"), RESPONSES)
def test_every_response_carries_the_security_headers(client, method, path):
    response = client.open(path, method=method)
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    # Private pages (forms, status pages, the admin) send no Referer at all: their addresses
    # can hold an applicant's key, and no click may carry it into another server's log.
    private = path.startswith(("/admin/", "/en/apply/"))
    expected = "no-referrer" if private else "strict-origin-when-cross-origin"
    assert headers["Referrer-Policy"] == expected
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain http: HSTS would be ignored
    for banner in ("Server", "X-Powered-By", "X-Runtime", "X-Version"):
        assert banner not in headers
    response.close()


def test_hsts_is_sent_over_https(client):
    response = client.get("/en/about", base_url="https://lep.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("path", ["/en/missing", "/admin/applications/999999"])
def test_error_pages_reveal_nothing(client, path):
    html = client.get(path).get_data(as_text=True)
    for leak in ("Traceback", "werkzeug", "Werkzeug", "sqlalchemy", "lepsite/", "Flask"):
        assert leak not in html


def test_method_not_allowed_is_the_sites_own_page(client):
    response = client.post("/uk/about")
    assert response.status_code == 405
    html = response.get_data(as_text=True)
    assert '<html lang="uk"' in html and "werkzeug" not in html.lower()
    assert response.headers["Allow"]


def test_csrf_failure_is_explained_not_dumped(client):
    response = client.post("/bs/apply", data={"organisation_name": "x"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<html lang="bs"' in html
    assert "CSRF" not in html and "Traceback" not in html


@pytest.mark.parametrize(
    "path", ["/en/", "/uk/about", "/bs/apply", "/en/news/", "/uk/partnerships/", "/admin/login"]
)
def test_pages_need_nothing_the_policy_forbids(client, path):
    """No inline scripts, style attributes or event handlers: the strict CSP would block them."""
    html = client.get(path).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style\b", html)
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


@pytest.fixture
def production_client(app_factory):
    """The app as in production: not debug, not testing, so cookies default to Secure."""
    return app_factory(TESTING=False).test_client()


def test_session_cookie_is_secure_httponly_and_samesite_in_production(production_client):
    (cookie,) = set_cookies(production_client.get("/en/apply"))
    # __Host-: only over HTTPS, for the whole site, never shared with another (sub)domain.
    assert cookie.startswith("__Host-session=")
    assert "Domain=" not in cookie and "; Path=/" in cookie
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_language_cookie_is_secure_httponly_and_samesite_in_production(production_client):
    (cookie,) = set_cookies(production_client.get("/uk/language?next=/uk/about"))
    assert cookie.startswith("lang=uk")
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_operators_may_turn_secure_cookies_off_for_a_plain_http_trial(app_factory):
    client = app_factory(TESTING=False, SESSION_COOKIE_SECURE=False).test_client()
    (cookie,) = set_cookies(client.get("/en/apply"))
    assert "Secure" not in cookie


def test_sign_in_sets_a_fresh_httponly_session(client, make_user):
    make_user("admin@example.org", role="admin")
    client.get("/admin/login")
    before = client.get_cookie("session", domain="lep.test").value
    response = sign_in(client, "admin@example.org")
    cookies = set_cookies(response)
    assert {cookie.split("=", 1)[0] for cookie in cookies} == {"session", "lepsite_device"}
    for cookie in cookies:
        assert "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get_cookie("session", domain="lep.test").value != before


def test_public_pages_set_no_cookies(client):
    for path in ("/en/", "/uk/about", "/bs/news/", "/en/partnerships/kyiv", "/healthz"):
        assert not set_cookies(client.get(path)), path


def test_a_form_sent_from_another_site_is_refused(client, make_user):
    make_user("admin@example.org", role="admin")
    token = csrf_token(client, "/admin/login")
    data = {"csrf_token": token, "email": "admin@example.org", "password": "x" * 12}
    response = client.post("/admin/login", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400
    same_site = client.post("/admin/login", data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert same_site.status_code == 401


def test_private_pages_work_over_https_without_a_referer(app_factory):
    """They send no Referer, so the CSRF check must not ask for one (Flask-WTF's SSL_STRICT)."""
    app = app_factory()
    client = app.test_client()
    page = client.get("/en/apply", base_url="https://lep.test").get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)
    response = client.post(
        "/en/apply", base_url="https://lep.test", data={"csrf_token": token, **valid_application()}
    )
    assert response.status_code == 303


def test_a_status_page_leaks_its_address_nowhere(client, apply):
    status_url = apply().headers["Location"]
    token = status_url.rsplit("/", 1)[1]
    response = client.get(status_url)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    for query in re.findall(r'href="[^"]*\?([^"]*)"', html):
        assert token not in query  # the language links go straight to the page
    assert f'href="/uk/apply/status/{token}"' in html


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/admin/applications/99999999999999999999999", 404),
        ("GET", "/admin/users/99999999999999999999999", 404),
        ("POST", "/admin/security/sessions/99999999999999999999999/end", 404),
        ("GET", "/admin/applications/?page=99999999999999999999999", 200),
    ],
)
def test_numbers_too_large_for_the_database_are_not_a_500(
    client, make_user, method, path, expected
):
    make_user("admin@example.org", role="admin")
    sign_in(client, "admin@example.org")
    data = {"csrf_token": csrf_token(client, "/admin/")} if method == "POST" else None
    assert client.open(path, method=method, data=data).status_code == expected


def test_the_form_may_be_indexed_but_not_cached(client):
    response = client.get("/bs/apply")
    assert "X-Robots-Tag" not in response.headers
    assert 'name="robots"' not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    status = client.get("/en/apply/status/" + "x" * 43)
    assert status.headers["X-Robots-Tag"] == "noindex"
