"""The search page in a real browser: axe-core and the Nu Html Checker in every language, with
results, with none and without a query; the header box by keyboard and on a phone."""

import re
import shutil
from urllib.parse import quote

import pytest
from conftest import require
from playwright.sync_api import expect
from test_html_validity import VNU_JAR, vnu_errors

from .test_accessibility import assert_no_axe_violations

# A query with results and one without, in each language.
QUERIES = {
    "en": ("partnerships", "xqzvw"),
    "bs": ("zaposljavanja", "xqzvw"),
    "uk": ("партнерства", "xqzvw"),
}
LANGUAGES = tuple(QUERIES)


def search_paths(lang: str) -> dict[str, str]:
    found, nothing = QUERIES[lang]
    return {
        "results": f"/{lang}/search?q={quote(found)}",
        "no-results": f"/{lang}/search?q={quote(nothing)}",
        "empty": f"/{lang}/search",
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_search_pages_pass_axe(page, lang):
    for kind, path in search_paths(lang).items():
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == lang
        if kind == "results":
            expect(page.locator(".search-results mark").first).to_be_visible()
        assert_no_axe_violations(page)


def test_search_pages_are_valid_html(page, tmp_path):
    require(shutil.which("java") is not None, "Java is not installed (Debian: default-jre)")
    require(
        VNU_JAR.is_file(), f"vnu.jar not found at {VNU_JAR} (npm install --prefix .tools vnu-jar)"
    )
    for lang in LANGUAGES:
        for kind, path in search_paths(lang).items():
            response = page.request.get(path)  # the bytes as sent, not the browser's DOM
            assert response.ok, path
            (tmp_path / f"{lang}-{kind}.html").write_bytes(response.body())
    errors = vnu_errors(tmp_path)
    assert not errors, "\n".join(errors)


def test_the_header_box_searches_with_the_keyboard_only(page):
    page.goto("/bs/about")
    page.keyboard.press("Tab")  # the skip link
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "site-search-q":
            break
    else:
        raise AssertionError("Tab never reached the search box")
    page.keyboard.type("clanstva")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bs/search\?q=clanstva$"))
    expect(page.locator(".search-results h2 a").first).to_have_attribute("href", "/bs/membership")
    expect(page.locator("#site-search-q")).to_have_value("clanstva")


@pytest.mark.parametrize("width", [320, 640])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_search_fits_a_phone_with_big_enough_targets(page, lang, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(search_paths(lang)["results"])
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    for selector in ("#site-search-q", ".site-search button"):
        box = page.locator(selector).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (selector, box)
    for link in page.locator(".search-results h2 a").all():
        assert link.bounding_box()["height"] >= 24  # WCAG 2.5.8
