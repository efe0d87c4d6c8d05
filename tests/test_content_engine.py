"""The content engine: loading, checks that stop start-up, fallback and path safety."""

import pytest

from lepsite.content import ContentError, ContentStore


@pytest.fixture
def small_app(app_factory, small_site):
    return app_factory(CONTENT_DIR=str(small_site))


def test_page_missing_in_the_language_falls_back_to_english_with_a_notice(small_app):
    html = small_app.test_client().get("/bs/contact").get_data(as_text=True)
    assert '<html lang="bs"' in html
    assert '<h1 lang="en">Contact</h1>' in html
    assert 'class="notice" role="note"' in html
    assert '<div class="prose" lang="en">' in html


def test_page_in_the_language_has_no_notice(app_factory, small_site, write_content):
    from lepsite.content import ContentStore

    version = ContentStore(small_site).get("en", "about").version
    write_content(
        "uk/about.md",
        "---\ntitle: Про нас\nsummary: Про нас.\nnav: main\norder: 1\n"
        f"translates: {version}\n---\nТекст.\n",
    )
    html = app_factory(CONTENT_DIR=str(small_site)).test_client().get("/uk/about")
    html = html.get_data(as_text=True)
    assert "<h1>Про нас</h1>" in html
    assert 'role="note"' not in html


def test_page_missing_everywhere_is_a_localised_404(small_app):
    response = small_app.test_client().get("/uk/nowhere")
    assert response.status_code == 404
    assert '<html lang="uk"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/en/..%2F..%2Fpyproject.toml",
        "/en/%2e%2e/secret",
        "/en/about.md",
        "/en/About",
        "/en/news/..%2Findex",
        "/en/partnerships/%2e%2e",
        "/en/index",
        "/en/news/index",
        "/en/partnerships/index",
    ],
)
def test_path_tricks_are_404(small_app, path):
    assert small_app.test_client().get(path).status_code == 404


def test_menus_come_from_front_matter(small_app):
    html = small_app.test_client().get("/uk/").get_data(as_text=True)
    assert '<a href="/uk/about">Про нас</a>' in html
    assert '<a href="/uk/contact">Contact</a>' in html


def test_site_links_get_the_reader_language(write_content, tmp_path):
    root = write_content("uk/about.md", "---\ntitle: A\nsummary: B\n---\nSee [why](/why-join).\n")
    page = ContentStore(root).get("uk", "about")
    assert '<a href="/uk/why-join">why</a>' in page.html
    assert page.links == ("/why-join",)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\ntitle: A\nsummary: [unclosed\n---\n", 3, "broken front matter"),
        ("no front matter\n", 1, "front matter missing"),
        ("---\ntitle: A\n---\nBody\n", 2, "'summary'"),
        ("---\ntitle: A\nsummary: B\n---\n\nIntro\n\n# Second h1\n", 8, "only h1"),
        ("---\ntitle: A\nsummary: B\nnav: side\norder: 1\n---\n", 2, "'nav'"),
    ],
)
def test_broken_files_stop_loading_naming_file_and_line(write_content, text, line, message):
    root = write_content("en/broken.md", text)
    with pytest.raises(ContentError, match=message) as caught:
        ContentStore(root)
    assert f"broken.md:{line}:" in str(caught.value)


def test_news_needs_a_date(write_content):
    root = write_content("en/news/x.md", "---\ntitle: A\nsummary: B\n---\n")
    with pytest.raises(ContentError, match="date"):
        ContentStore(root)


def test_news_says_what_its_date_is(write_content):
    """A reader must tell the day a report was published from a project's own date."""
    root = write_content("en/news/x.md", "---\ntitle: A\nsummary: B\ndate: 2026-01-01\n---\n")
    with pytest.raises(ContentError, match="date_is"):
        ContentStore(root)


def test_partnership_front_matter_is_checked(write_content):
    text = (
        "---\ntitle: A\nsummary: B\nkey: other\ncountry: UA\nregion: R\n"
        "status: launched\naccepts_applications: true\n---\n"
    )
    root = write_content("en/partnerships/kyiv.md", text)
    with pytest.raises(ContentError, match="'key' must equal"):
        ContentStore(root)


def test_broken_content_stops_the_app(app_factory, write_content):
    root = write_content("en/index.md", "---\ntitle: [a, b\n---\n")
    with pytest.raises(ContentError, match="index.md:2:"):
        app_factory(CONTENT_DIR=str(root))


def test_changes_are_picked_up_when_auto_reloading(write_content, monkeypatch):
    root = write_content("en/about.md", "---\ntitle: Old\nsummary: B\n---\n")
    store = ContentStore(root, auto_reload=True)
    assert store.get("en", "about").title == "Old"
    write_content("en/about.md", "---\ntitle: New title\nsummary: B\n---\n")
    monkeypatch.setattr(store, "_checked_at", 0.0)
    assert store.get("en", "about").title == "New title"


def test_pages_are_not_reread_per_request(write_content):
    root = write_content("en/about.md", "---\ntitle: Old\nsummary: B\n---\n")
    store = ContentStore(root)
    write_content("en/about.md", "---\ntitle: Changed\nsummary: B\n---\n")
    assert store.get("en", "about").title == "Old"
