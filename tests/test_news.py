"""News list pagination and the Atom feed."""

import xml.etree.ElementTree as ET

import pytest

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def news_app(app_factory, small_site, write_content):
    for day in range(1, 13):
        write_content(
            f"en/news/item-{day}.md",
            f"---\ntitle: Item {day}\nsummary: About <{day}> & more\n"
            f"date: 2026-01-{day:02d}\ndate_is: published\n---\nBody {day}.\n",
        )
    write_content(
        "uk/news/item-12.md",
        "---\ntitle: Новина 12\nsummary: Коротко\ndate: 2026-01-12\ndate_is: published\n"
        "---\nТекст.\n",
    )
    return app_factory(CONTENT_DIR=str(small_site), NEWS_PER_PAGE=5)


def test_news_is_paginated_newest_first(news_app):
    client = news_app.test_client()
    first = client.get("/en/news/").get_data(as_text=True)
    assert first.index("Item 12") < first.index("Item 11")
    assert "Item 7" not in first
    assert 'rel="next" href="/en/news/?page=2"' in first
    third = client.get("/en/news/?page=3").get_data(as_text=True)
    assert "Item 1<" in third and 'rel="next"' not in third
    assert client.get("/en/news/?page=4").status_code == 404
    assert client.get("/en/news/?page=0").status_code == 404
    assert client.get("/en/news/?page=x").status_code == 404


def test_news_item_shows_its_date_in_the_reader_language(news_app):
    html = news_app.test_client().get("/uk/news/item-12").get_data(as_text=True)
    assert "12 січня 2026" in html
    assert '<time datetime="2026-01-12">' in html


def test_feed_is_valid_atom_per_language(news_app):
    response = news_app.test_client().get("/uk/news/feed.xml")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("title", "id", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 12
    assert entries[0].find(f"{ATOM}title").text == "Новина 12"
    assert entries[1].find(f"{ATOM}summary").text == "About <11> & more"
    for entry in entries:
        for tag in ("title", "id", "updated", "link"):
            assert entry.find(f"{ATOM}{tag}") is not None


def test_pages_link_the_feed_of_their_language(news_app):
    html = news_app.test_client().get("/uk/about").get_data(as_text=True)
    assert 'type="application/atom+xml"' in html and 'href="/uk/news/feed.xml"' in html
