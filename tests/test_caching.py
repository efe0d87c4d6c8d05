"""HTTP caching: pages from memory with ETags and 304s, fingerprinted static files."""

import re

import markdown
import pytest
from conftest import valid_application
from sqlalchemy import update

from lepsite import content
from lepsite.extensions import db
from lepsite.models import Application

PUBLIC_PAGES = [
    "/en/",
    "/bs/about",
    "/uk/news/",
    "/en/news/feed.xml",
    "/uk/partnerships/",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_carry_a_validator_and_revalidate_with_304(client, url):
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["ETag"]
    assert "public" in first.headers["Cache-Control"]
    assert "max-age=300" in first.headers["Cache-Control"]
    assert "Set-Cookie" not in first.headers
    assert "Cookie" not in first.headers.get("Vary", "")

    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""

    assert "Date" not in again.headers  # the server adds the one Date header
    changed = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200
    assert changed.data == first.data


def test_pages_are_served_without_parsing_markdown_or_reading_files(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("content was read or parsed during a request")

    monkeypatch.setattr(markdown.Markdown, "convert", refuse)
    monkeypatch.setattr(content, "render_file", refuse)
    monkeypatch.setattr(content.Path, "read_text", refuse)
    for url in PUBLIC_PAGES + ["/en/news/kyiv-lep-launch", "/bs/partnerships/kyiv"]:
        assert client.get(url).status_code in (200, 404), url
    assert client.get("/uk/about").status_code == 200


def test_the_second_request_sends_the_stored_bytes(client, app, monkeypatch):
    client.get("/en/about")
    monkeypatch.setattr(
        "lepsite.public.views.render_template",
        lambda *args, **kwargs: pytest.fail("the page was rendered again"),
    )
    assert client.get("/en/about").status_code == 200


def test_query_values_that_change_nothing_share_one_cached_page(client, app):
    client.get("/en/about")
    client.get("/en/about?utm_source=x")
    client.get("/en/about?junk=1&more=2")
    assert len(app.extensions["lepsite.page_cache"]._entries) == 1


def test_the_news_page_number_is_part_of_the_key(app_factory, client):
    app = app_factory(NEWS_PER_PAGE=1)
    client = app.test_client()
    one = client.get("/en/news/")
    two = client.get("/en/news/?page=2")
    assert one.status_code == two.status_code == 200
    assert one.headers["ETag"] != two.headers["ETag"]


def test_missing_pages_are_404_every_time_and_never_stored(client, app):
    for _ in range(2):
        response = client.get("/en/no-such-page")
        assert response.status_code == 404
        assert "public" not in response.headers.get("Cache-Control", "")
    assert not app.extensions["lepsite.page_cache"]._entries


def test_the_cache_has_a_ceiling(client, app):
    cache = app.extensions["lepsite.page_cache"]
    cache.max_entries = 3
    for page in range(1, 6):
        assert client.get(f"/en/about?page={page}").status_code == 200
    assert len(cache._entries) == 3


def test_partnership_page_etag_changes_when_a_member_is_approved(app, client, apply):
    before = client.get("/en/partnerships/kyiv")
    assert before.headers["ETag"]
    unchanged = {"If-None-Match": before.headers["ETag"]}
    assert client.get("/en/partnerships/kyiv", headers=unchanged).status_code == 304

    apply(organisation_name="Listed Bakery Ltd")
    with app.app_context():
        db.session.execute(update(Application).values(state="approved"))
        db.session.commit()
    after = client.get("/en/partnerships/kyiv", headers=unchanged)
    assert after.status_code == 200
    assert "Listed Bakery Ltd" in after.get_data(as_text=True)


def test_private_pages_are_not_cached(client):
    for url in ("/en/apply", "/admin/login"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store"
        assert "ETag" not in response.headers


def test_static_urls_are_fingerprinted_and_cached_for_a_year(client):
    html = client.get("/en/about").get_data(as_text=True)
    href = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(href)
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    assert "max-age=31536000" in cache_control
    assert "immutable" in cache_control
    assert "Date" not in response.headers  # the server adds the one Date header
    response.close()


def test_a_stale_or_missing_fingerprint_is_not_cached_for_long(client):
    for url in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")
        response.close()


def test_pages_stay_small_and_need_no_javascript(client, app):
    """A phone on a slow link gets each page in a few kilobytes: no framework CSS, no scripts."""
    store = app.extensions["lepsite.content"]
    for page in store.all_pages():
        if page.section or page.path == "index":
            continue
        html = client.get(f"/{page.lang}/{page.path}").data
        assert len(html) < 40_000, (page, len(html))
        assert b"<script" not in html
    stylesheet = client.get("/static/css/site.css")
    assert len(stylesheet.data) < 16_000
    stylesheet.close()


# ---------------------------------------------------------------- the application form

FORM_SECRETS = re.compile(r'(name="(?:csrf_token|submission_key)"[^>]*value=")([^"]+)"')


def form_secrets(page: str) -> dict:
    """The form's CSRF token and one-time key."""
    found = {}
    for match in re.finditer(r'<input[^>]*name="(csrf_token|submission_key)"[^>]*>', page):
        found[match[1]] = re.search(r'value="([^"]+)"', match[0])[1]
    return found


def test_the_form_is_rendered_once_and_every_visitor_gets_fresh_secrets(app, monkeypatch):
    first = app.test_client().get("/en/apply")
    monkeypatch.setattr(
        "lepsite.membership.views.render_template",
        lambda *args, **kwargs: pytest.fail("the form was rendered again"),
    )
    second = app.test_client().get("/en/apply")
    assert first.status_code == second.status_code == 200
    assert second.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" in second.headers  # the session that holds the CSRF secret
    pages = [response.get_data(as_text=True) for response in (first, second)]
    secrets_ = [form_secrets(page) for page in pages]
    assert set(secrets_[0]) == set(secrets_[1]) == {"csrf_token", "submission_key"}
    assert secrets_[0]["csrf_token"] != secrets_[1]["csrf_token"]
    assert secrets_[0]["submission_key"] != secrets_[1]["submission_key"]
    # Apart from the secrets, the very page a fresh rendering gives.
    assert FORM_SECRETS.sub(r"\1-", pages[0]) == FORM_SECRETS.sub(r"\1-", pages[1])


def test_a_stored_form_page_equals_a_fresh_rendering(app):
    from lepsite import partnerships
    from lepsite.membership import views

    client = app.test_client()
    stored = client.get("/uk/apply?partnership=kyiv").get_data(as_text=True)
    stored = client.get("/uk/apply?partnership=kyiv").get_data(as_text=True)  # from the cache
    values = form_secrets(stored)
    with app.test_request_context("/uk/apply?partnership=kyiv"):
        app.preprocess_request()
        fresh = views._blank_form(partnerships.choices("uk", open_only=True), "kyiv", **values)
    assert stored == fresh
    assert re.search(r'<option selected value="kyiv">|<option value="kyiv" selected', fresh)


def test_a_form_from_the_stored_page_is_accepted_once(app):
    client = app.test_client()
    client.get("/en/apply")  # fills the cache
    page = client.get("/en/apply").get_data(as_text=True)
    data = {**form_secrets(page), **valid_application()}
    first = client.post("/en/apply", data=data)
    assert first.status_code == 303
    # The same form again (a double click): the one stored application, not a second.
    again = client.post("/en/apply", data=data)
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        assert db.session.query(Application).count() == 1
    # The token is bound to the visitor's session, as before: another browser's is refused.
    other = app.test_client()
    other.get("/en/apply")
    data = {**data, "submission_key": form_secrets(other.get("/en/apply").text)["submission_key"]}
    assert other.post("/en/apply", data=data).status_code == 400


def test_an_unknown_partnership_in_the_address_shares_the_plain_page(app):
    client = app.test_client()
    for query in ("", "?partnership=nowhere", "?partnership=%3Cscript%3E"):
        page = client.get(f"/en/apply{query}").get_data(as_text=True)
        chosen = re.findall(r"<option selected[^>]*>", page)
        assert '<option selected value="">' in chosen, query  # "Choose one"
        assert "nowhere" not in page and "<script" not in page
    assert len(app.extensions["lepsite.form_pages"]._entries) == 1
