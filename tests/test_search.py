"""Site search: inflected and diacritic-free words find the real pages; ranking, snippets,
escaping, the page around the results, and the search box in the header."""

import os
import re
from html import unescape

import pytest

from lepsite.search import text
from lepsite.search.index import MAX_QUERY_LENGTH

RESULT_LINK = re.compile(r'<h2><a href="([^"]+)">')
SNIPPET = re.compile(r"</h2>\s*<p>(.*?)</p>", re.DOTALL)


def result_links(response) -> list[str]:
    """The result links on a search page, in their order."""
    assert response.status_code == 200
    return RESULT_LINK.findall(response.get_data(as_text=True))


def search(client, lang: str, query: str):
    return client.get(f"/{lang}/search", query_string={"q": query})


# ---------------------------------------------------------------- the real content


@pytest.mark.parametrize(
    ("lang", "query", "page"),
    [
        # English: plural and singular, -ing forms.
        ("en", "partnerships", "/en/partnerships/"),
        ("en", "question", "/en/faq"),
        ("en", "Resilient", "/en/jobs-for-peace-and-resilience"),
        # BHS: inflected, without diacritics, đ typed as dj or d.
        ("bs", "zaposljavanja", "/bs/"),  # "Lokalna partnerstva za zapošljavanje"
        ("bs", "partnerstava", "/bs/partnerships/"),  # "Partnerstva"
        ("bs", "clanstva", "/bs/membership"),  # "Članstvo u partnerstvu"
        ("bs", "vijest", "/bs/news/"),  # "Vijesti"
        ("bs", "pitanje", "/bs/faq"),  # "Česta pitanja"
        # Ukrainian: other case forms, proper names, the start of a longer name.
        ("uk", "партнерств", "/uk/partnerships/"),  # "Партнерства"
        ("uk", "членства", "/uk/membership"),  # "Членство в партнерстві"
        ("uk", "новина", "/uk/news/"),  # "Новини"
        ("uk", "запитання", "/uk/faq"),  # "Поширені запитання"
        ("uk", "херсон", "/uk/partnerships/kherson"),  # "… на Херсонщині"
    ],
)
def test_a_word_in_another_form_finds_the_page_first(client, lang, query, page):
    assert result_links(search(client, lang, query))[0] == page


@pytest.mark.parametrize(
    ("lang", "typed", "written"),
    [
        ("en", "partnerships", "partnership"),
        ("bs", "zaposljavanja", "zapošljavanje"),
        ("bs", "partnerstava", "partnerstvo"),
        ("bs", "medjunarodne", "međunarodna"),
        ("bs", "medunarodne", "međunarodna"),
        ("bs", "žena", "žene"),
        ("uk", "партнерства", "партнерство"),
        ("uk", "зайнятість", "зайнятості"),
        ("uk", "києві", "Київ"),
    ],
)
def test_every_form_finds_the_same_pages(client, lang, typed, written):
    found = result_links(search(client, lang, typed))
    assert found
    assert set(found) == set(result_links(search(client, lang, written)))


def test_the_typed_word_is_marked_in_its_written_form(client):
    html = search(client, "bs", "zaposljavanja").get_data(as_text=True)
    assert "<mark>zapošljavanje</mark>" in html or "<mark>zapošljavanja</mark>" in html
    html = search(client, "uk", "партнерства").get_data(as_text=True)
    assert "<mark>партнерство</mark>" in html


@pytest.mark.parametrize("apostrophe", ["'", "\u02bc", "\u2019", "\u2018", "`"])
def test_every_ukrainian_apostrophe_is_the_same(client, apostrophe):
    found = result_links(search(client, "uk", f"зв{apostrophe}язатися"))
    assert "/uk/contact" in found  # written there with U+2019
    assert found == result_links(search(client, "uk", "зв'язатися"))


@pytest.mark.parametrize(
    ("lang", "query", "without"),
    [
        ("en", "the partnership in Kherson", "partnership Kherson"),
        ("bs", "šta je Herson", "Herson"),
        ("uk", "що в Херсоні", "Херсоні"),
    ],
)
def test_common_words_do_not_count(client, lang, query, without):
    found = result_links(search(client, lang, query))
    assert found == result_links(search(client, lang, without))
    assert found[0] == f"/{lang}/partnerships/kherson"


def test_a_query_of_common_words_only_is_still_searched(client):
    assert result_links(search(client, "en", "the"))


def test_a_word_found_nowhere_gives_no_results(client):
    assert result_links(search(client, "bs", "xqzvw")) == []


# ---------------------------------------------------------------- ranking and snippets


@pytest.fixture
def fruit_app(app_factory, write_content):
    """Pages about fruit: titles, bodies and summaries that say different things."""
    pages = {
        "en/index.md": ("Home", "Welcome.", "Hello."),
        "en/orchard.md": ("Orchard", "Trees.", "Apples apples apples and pears grow here."),
        "en/apples.md": ("Apples", "About one fruit.", "A page about the fruit."),
        "en/basket.md": ("Basket", "A basket.", "One apple and one pear."),
        "en/crate.md": ("Crate", "A crate.", "One apple, no other fruit."),
        "en/box.md": ("Box", "A box.", "One apple, no other fruit."),
        "en/unsafe.md": (
            "Kitchen",
            "Cooking.",
            'Fish & chips <span class="x">are</span> **tasty** <script>alert("body")</script>.',
        ),
        "en/news/index.md": ("News", "What is new.", ""),
        "en/partnerships/index.md": ("Partnerships", "All.", ""),
    }
    for path, (title, summary, body) in pages.items():
        root = write_content(path, f"---\ntitle: {title}\nsummary: {summary}\n---\n{body}\n")
    return app_factory(CONTENT_DIR=str(root))


def test_a_title_match_ranks_above_body_matches(fruit_app):
    found = result_links(search(fruit_app.test_client(), "en", "apple"))
    assert found[0] == "/en/apples"  # title only, against three mentions in a body


def test_more_words_found_rank_above_fewer(fruit_app):
    found = result_links(search(fruit_app.test_client(), "en", "apple pear"))
    assert found[:2] == ["/en/orchard", "/en/basket"]  # both words, more mentions first


def test_equal_pages_come_in_title_order(fruit_app):
    found = result_links(search(fruit_app.test_client(), "en", "other"))
    assert found == ["/en/box", "/en/crate"]


def test_the_snippet_is_plain_text_with_the_words_marked(fruit_app):
    html = search(fruit_app.test_client(), "en", "tasty chips").get_data(as_text=True)
    snippet = SNIPPET.search(html).group(1)
    assert snippet == "Fish &amp; <mark>chips</mark> are <mark>tasty</mark> ."
    assert "alert" not in html


def test_a_page_found_by_its_title_shows_its_summary(fruit_app):
    html = search(fruit_app.test_client(), "en", "kitchen").get_data(as_text=True)
    assert SNIPPET.search(html).group(1) == "Cooking."


def test_the_snippet_is_cut_around_a_late_match(app_factory, write_content):
    words = " ".join(f"word{n}" for n in range(200))
    root = write_content("en/long.md", f"---\ntitle: Long\nsummary: S.\n---\n{words} needle end\n")
    html = search(app_factory(CONTENT_DIR=str(root)).test_client(), "en", "needle")
    snippet = unescape(SNIPPET.search(html.get_data(as_text=True)).group(1))
    assert snippet.startswith("…word19")
    assert snippet.endswith("<mark>needle</mark> end")
    assert len(snippet) < 250


# ---------------------------------------------------------------- the page


def test_the_query_is_escaped_everywhere(client):
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)> kyiv'
    html = search(client, "en", attack).get_data(as_text=True)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; kyiv" in html
    assert 'value="&#34;&gt;&lt;script&gt;' in html  # the box: no way out of the attribute
    assert "/en/partnerships/kyiv" in result_links(search(client, "en", attack))


def test_the_query_comes_back_in_the_box(client):
    html = search(client, "uk", "партнерства").get_data(as_text=True)
    assert 'name="q" maxlength="200" value="партнерства"' in html


def test_results_are_counted_in_the_right_form(fruit_app):
    client = fruit_app.test_client()
    assert "1 page found for “kitchen”." in search(client, "en", "kitchen").get_data(as_text=True)
    assert "5 pages found for “apple”." in search(client, "en", "apple").get_data(as_text=True)


@pytest.mark.parametrize(
    ("count", "expected"), [(1, "1 сторінку"), (3, "3 сторінки"), (5, "5 сторінок")]
)
def test_ukrainian_counts_use_three_plural_forms(app_factory, write_content, count, expected):
    write_content("uk/index.md", "---\ntitle: Головна\nsummary: Вітаємо.\n---\nТекст.\n")
    for number in range(count):
        root = write_content(
            f"uk/page-{number}.md", f"---\ntitle: Сторінка {number}\nsummary: С.\n---\nЯблука.\n"
        )
    client = app_factory(CONTENT_DIR=str(root)).test_client()
    assert f"Знайдено {expected} за запитом «яблуко»." in unescape(
        search(client, "uk", "яблуко").get_data(as_text=True)
    )


@pytest.mark.parametrize("lang", ["en", "bs", "uk"])
@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_explains_what_to_type(client, lang, query):
    response = search(client, lang, query)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "search-results" not in html and "search-suggestions" not in html
    if lang == "en":
        assert "Type a word or two in the search box" in html


@pytest.mark.parametrize("lang", ["en", "bs", "uk"])
def test_no_results_say_so_and_link_the_main_pages(client, lang):
    html = search(client, lang, "xqzvw").get_data(as_text=True)
    assert "search-results" not in html
    if lang == "en":
        assert "Nothing on this site matched “xqzvw”." in html
    suggestions = re.search(r'<ul class="search-suggestions">(.*?)</ul>', html, re.DOTALL)
    links = re.findall(r'href="([^"]+)"', suggestions.group(1))
    assert links == [
        f"/{lang}/",
        f"/{lang}/about",
        f"/{lang}/how-it-works",
        f"/{lang}/partnerships/",
        f"/{lang}/news/",
        f"/{lang}/apply",
    ]


def test_a_very_long_query_is_cut_not_refused(client):
    response = search(client, "en", "partnership " * 1000)
    assert response.status_code == 200
    value = re.search(r'name="q" maxlength="200" value="([^"]*)"', response.get_data(as_text=True))
    assert len(unescape(value.group(1))) <= MAX_QUERY_LENGTH
    assert result_links(response)


def test_a_made_up_word_longer_than_any_real_one_is_not_looked_up(client, monkeypatch):
    """simplemma would spend milliseconds taking it apart, for nothing."""
    looked_up = []

    class Recorder:
        def lemmatize(self, word, lang):
            looked_up.append(word)
            return word

    monkeypatch.setattr(text, "_lemmatizer", Recorder())
    text.keys_for.cache_clear()
    try:
        response = search(client, "uk", "абвгґдеєжз" * 3 + " слово")
    finally:
        text.keys_for.cache_clear()  # nothing learnt without lemmas may stay
    assert response.status_code == 200
    assert looked_up and all(len(word) < 30 for word in looked_up)


def test_control_characters_in_the_query_are_refused(client):
    assert search(client, "en", "kyiv\x00").status_code == 400
    assert search(client, "en", "kyiv\x1b[31m").status_code == 400


def test_search_pages_are_noindex_cacheable_and_not_in_the_sitemap(client):
    response = search(client, "en", "kyiv")
    html = response.get_data(as_text=True)
    assert '<meta name="robots" content="noindex, follow">' in html
    assert '<link rel="canonical"' not in html  # every query is another page
    assert response.cache_control.public and response.cache_control.max_age == 300
    assert response.headers["ETag"]
    again = client.get("/en/search?q=kyiv", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert "/search" not in client.get("/sitemap.xml").get_data(as_text=True)


def test_a_page_named_like_the_search_still_goes_to_the_search(client):
    assert "search-results" in search(client, "en", "kyiv").get_data(as_text=True)


# ---------------------------------------------------------------- the box in the header

HEADER_FORM = re.compile(
    r'<header class="site-header">.*?<form class="site-search" role="search" method="get" '
    r'action="(?P<action>[^"]+)">\s*<label class="visually-hidden" for="(?P<for>[^"]+)">'
    r"(?P<label>[^<]+)</label>\s*<input type=\"search\" id=\"(?P<id>[^\"]+)\" name=\"q\"[^>]*>"
    r'\s*<button type="submit" class="button">(?P<button>[^<]+)</button>',
    re.DOTALL,
)


@pytest.mark.parametrize(
    ("lang", "label", "button"),
    [("en", "Search this site", "Search"), ("bs", None, None), ("uk", None, None)],
)
@pytest.mark.parametrize("path", ["/about", "/news/kyiv-lep-launch", "/no-such-page"])
def test_every_page_has_a_labelled_search_box(client, lang, path, label, button):
    html = client.get(f"/{lang}{path}").get_data(as_text=True)
    form = HEADER_FORM.search(html)
    assert form, "no search form in the header"
    assert form["action"] == f"/{lang}/search"
    assert form["for"] == form["id"]
    assert form["label"].strip() and form["button"].strip()
    if label:
        assert (form["label"], form["button"]) == (label, button)
    assert html.count('id="site-search-q"') == 1


def test_in_debug_an_edited_page_is_searched_as_it_now_reads(app_factory, write_content):
    root = write_content("en/index.md", "---\ntitle: Home\nsummary: Welcome.\n---\nHello.\n")
    write_content("en/fruit.md", "---\ntitle: Fruit\nsummary: S.\n---\nApples.\n")
    app = app_factory(CONTENT_DIR=str(root), DEBUG=True)
    client = app.test_client()
    assert result_links(search(client, "en", "apple")) == ["/en/fruit"]

    edited = write_content("en/fruit.md", "---\ntitle: Fruit\nsummary: S.\n---\nBananas.\n")
    stat = (edited / "en/fruit.md").stat()
    os.utime(edited / "en/fruit.md", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    app.extensions["lepsite.content"]._checked_at = float("-inf")  # its once-a-second check
    assert result_links(search(client, "en", "apple")) == []
    assert result_links(search(client, "en", "banana")) == ["/en/fruit"]


def test_pages_are_searched_as_readers_see_them_with_settings_filled_in(app_factory):
    """The reply promise is a placeholder in Markdown; snippets show the phrase, never it."""
    client = app_factory(REPLY_WORKING_DAYS=7).test_client()
    for lang, query, phrase in (
        ("en", "working days", "within 7 working days"),
        ("bs", "radnih dana", "u roku od 7 radnih dana"),
        ("uk", "робочих днів", "протягом 7 робочих днів"),
    ):
        html = client.get(f"/{lang}/search", query_string={"q": query}).get_data(as_text=True)
        assert "{reply-time}" not in html
        text = re.sub(r"</?mark>", "", html)
        assert phrase in text, lang


def test_the_language_switcher_keeps_the_search(client):
    html = client.get("/en/search?q=partnership").get_data(as_text=True)
    assert "next=/bs/search?q%3Dpartnership" in html
