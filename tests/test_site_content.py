"""The real content: complete in every language, well-formed, linked, in the right script."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lepsite.content import ContentStore
from lepsite.paths import site_dir

LANGS = ("en", "bs", "uk")
ATOM = "{http://www.w3.org/2005/Atom}"
STORE = ContentStore(site_dir("content"))
PATHS = STORE.paths()
PARTNERSHIP_KEYS = {
    "kyiv",
    "kherson",
    "rivne",
    "lviv",
    "zakarpattia",
    "odesa",
    "mykolaiv",
    "bih-lep1",
    "bih-lep2",
}


def test_the_pages_the_site_promises_exist():
    required = {
        "index",
        "about",
        "why-join",
        "how-it-works",
        "membership",
        "faq",
        "privacy",
        "contact",
        "jobs-for-peace-and-resilience",
        "ilo-projects",
        "partnerships/index",
        "news/index",
        "news/kyiv-lep-launch",
    }
    required |= {f"partnerships/{key}" for key in PARTNERSHIP_KEYS}
    assert required <= set(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_every_page_exists_in_every_language(path):
    missing = [lang for lang in LANGS if STORE.get(lang, path) is None]
    assert not missing, f"{path} is missing in {missing}"


@pytest.mark.parametrize("path", PATHS)
def test_front_matter_is_complete_and_agrees_across_languages(path):
    pages = [STORE.get(lang, path) for lang in LANGS]
    for page in pages:
        assert page.title.strip() and page.meta.get("summary", "").strip()
    for key in (
        "nav",
        "order",
        "date",
        "key",
        "country",
        "status",
        "accepts_applications",
        "period",
    ):
        values = {repr(page.meta.get(key)) for page in pages}
        assert len(values) == 1, f"{path}: '{key}' differs between languages: {values}"
    if path.startswith("news/") and path != "news/index":
        assert pages[0].date is not None


def test_partnerships_match_the_public_contract():
    keys = {page.meta["key"] for page in STORE.section("en", "partnerships")}
    assert keys == PARTNERSHIP_KEYS
    kyiv = STORE.get("en", "partnerships/kyiv").meta
    assert kyiv["status"] == "launched" and kyiv["accepts_applications"] is True


def test_every_internal_link_resolves():
    assert STORE.broken_links() == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_renders_and_its_links_answer(client, lang):
    """Follow every link on every page of the language: none may 404."""
    urls = {f"/{lang}/"} | {
        f"/{lang}/{path[: -len('index')] if path.endswith('index') else path}" for path in PATHS
    }
    seen = set()
    for url in sorted(urls):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert html.count("<h1") == 1, url
        for href in re.findall(r'href="(/[^"#?]*)', html):
            if href.startswith("/static/") or href in seen:
                continue
            seen.add(href)
            status = client.get(href).status_code
            assert status in (200, 302), f"{url} links to {href} ({status})"


def _text_of(path: Path) -> str:
    """The words of a page: without front-matter keys, link targets and addresses."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(
        r"^(nav|order|date|date_is|key|country|status|accepts_applications|period|translates):.*$",
        "",
        text,
        flags=re.MULTILINE,
    )
    text = re.sub(r"^(title|summary|nav_title|region):", "", text, flags=re.MULTILINE)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\S+@\S+|\b(?:https?://|www\.)\S+", "", text)


# Names the sources give only in Latin letters; a Ukrainian page keeps them as they are.
PROPER_NAMES_IN_LATIN = ("E-MINDFUL", "MAP16", "JPR")


@pytest.mark.parametrize("path", sorted(site_dir("content").glob("uk/**/*.md")), ids=str)
def test_ukrainian_is_written_in_cyrillic(path):
    text = _text_of(path).replace("{reply-time}", "")
    for name in PROPER_NAMES_IN_LATIN:
        text = text.replace(name, "")
    latin = set(re.findall(r"[A-Za-z]{2,}", text))
    assert not latin, f"Latin words in {path}: {sorted(latin)}"


@pytest.mark.parametrize("lang", LANGS)
def test_project_names_are_kept_in_every_language(lang):
    """The reviewer found E-MINDFUL and MAP16 dropped from the Ukrainian list of projects."""
    text = (site_dir("content") / lang / "ilo-projects.md").read_text(encoding="utf-8")
    assert "E-MINDFUL" in text and "MAP16" in text


@pytest.mark.parametrize("path", sorted(site_dir("content").glob("bs/**/*.md")), ids=str)
def test_bhs_is_written_in_latin_script(path):
    assert not re.search(r"[\u0400-\u04FF]", path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", LANGS)
def test_real_feed_is_valid_atom(client, lang):
    response = client.get(f"/{lang}/news/feed.xml")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        for required in ("id", "title", "updated", "link"):
            assert entry.find(f"{ATOM}{required}") is not None


def test_glossary_is_kept_with_the_content():
    glossary = (site_dir("content") / "GLOSSARY.md").read_text(encoding="utf-8")
    assert "| English | BHS (bs) | Українська (uk) |" in glossary


@pytest.mark.parametrize("lang", ("bs", "uk"))
def test_menus_use_short_labels_where_english_does(lang):
    """The BHS footer showed whole page titles because its pages had no short label."""
    store = ContentStore(site_dir("content"))
    for page in (p for p in store.all_pages() if p.lang == "en"):
        translated = store.get(lang, page.path)
        if "nav_title" in page.meta and translated is not None:
            assert "nav_title" in translated.meta, f"{lang}/{page.path} has no nav_title"
