"""Language in the URL, the root redirect, the switcher and the alternates."""

import pytest


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("uk-UA,uk;q=0.9,en;q=0.5", "uk"),
        ("hr-HR,hr;q=0.9", "bs"),
        ("sr-Latn", "bs"),
        ("sh", "bs"),
        ("cnr", "bs"),
        ("bs", "bs"),
        ("de-DE,de;q=0.9", "en"),
        ("en;q=0.3,uk;q=0.8", "uk"),
        ("fr;q=1,bs;q=0.2", "bs"),
        ("uk;q=0,en;q=0.1", "en"),
        ("", "en"),
    ],
)
def test_root_follows_accept_language(client, header, expected):
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 302
    assert response.location.endswith(f"/{expected}/")
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_root_prefers_the_remembered_choice(client):
    client.set_cookie("lang", "bs", domain="lep.test")
    response = client.get("/", headers={"Accept-Language": "uk"})
    assert response.location.endswith("/bs/")


def test_choosing_a_language_remembers_it_and_returns_to_the_page(client):
    response = client.get("/uk/language?next=/uk/about")
    assert response.status_code == 302
    assert response.location.endswith("/uk/about")
    cookie = client.get_cookie("lang", domain="lep.test")
    assert cookie.value == "uk"
    assert cookie.http_only
    assert client.get("/", headers={"Accept-Language": "en"}).location.endswith("/uk/")


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x", ""]
)
def test_choosing_a_language_never_redirects_off_site(client, target):
    response = client.get("/bs/language", query_string={"next": target})
    assert response.location.endswith("/bs/")


def test_unknown_language_is_a_404(client):
    assert client.get("/de/").status_code == 404
    assert client.get("/de/about").status_code == 404


@pytest.mark.parametrize("lang", ["en", "bs", "uk"])
def test_page_declares_its_language_and_alternates(client, lang):
    html = client.get(f"/{lang}/about").get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    for code in ("en", "bs", "uk"):
        assert f'hreflang="{code}" href="http://lep.test/{code}/about"' in html
    assert 'hreflang="x-default" href="http://lep.test/en/about"' in html
    assert f'<link rel="canonical" href="http://lep.test/{lang}/about">' in html


def test_switcher_names_each_language_in_itself_and_links_the_same_page(client):
    html = client.get("/en/about").get_data(as_text=True)
    assert 'lang="uk">Українська</a>' in html
    assert 'lang="bs">BHS</a>' in html
    assert "/uk/language?next=/uk/about" in html
    assert 'aria-current="true">English</a>' in html
