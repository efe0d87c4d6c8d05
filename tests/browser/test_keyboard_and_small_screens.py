"""Keyboard-only use of the application form and the review; pages at 320 px and at 200% zoom."""

import re

import pytest
from conftest import current_code
from playwright.sync_api import expect

from .helpers import submit_application

# The keys a person without a mouse uses; nothing here clicks.
MAX_TABS = 60


def focused_matches(page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement.matches(s)", selector)


def tab_to(page, selector: str) -> None:
    """Press Tab until the focus reaches ``selector``, checking the focus can be seen each time."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if focused_matches(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def assert_focus_visible(page) -> None:
    """The focused element shows an outline (WCAG 2.4.7), not ``outline: none``."""
    style = page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return {tag: document.activeElement.tagName, outline: s.outlineStyle,
                    width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
        }"""
    )
    if style["tag"] == "BODY":
        return
    assert (style["outline"] != "none" and style["width"] >= 2) or style["shadow"] != "none", style


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def choose_with_keys(page, selector: str, value: str) -> None:
    """Move through a closed select with the arrow keys until it shows ``value``."""
    tab_to(page, selector)
    for _ in range(40):
        if page.eval_on_selector(selector, "e => e.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{selector} never reached {value}")


def test_the_skip_link_is_first_and_moves_focus_to_the_content(page):
    page.goto("/uk/about")
    page.keyboard.press("Tab")
    assert focused_matches(page, "a.skip-link")
    expect(page.locator("a.skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_an_organisation_applies_with_the_keyboard_only(page):
    page.goto("/bs/apply")
    type_into(page, "#organisation_name", "Tastatura d.o.o.")
    choose_with_keys(page, "#organisation_type", "ngo")
    type_into(page, "#municipality", "Odesa")
    choose_with_keys(page, "#partnership", "odesa")
    type_into(page, "#contribution", "Mentori za mlade.")
    type_into(page, "#motivation", "Želimo pomoći lokalnom zapošljavanju.")
    type_into(page, "#contact_name", "Amra Tastatura")
    type_into(page, "#email", "amra@example.org")
    tab_to(page, "#consent_processing")
    page.keyboard.press("Space")
    tab_to(page, "form.stacked button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bs/apply/status/"))
    expect(page.locator("main")).to_contain_text("Tastatura d.o.o.")


def test_errors_are_reachable_from_the_summary_with_the_keyboard(page):
    page.goto("/uk/apply")
    tab_to(page, "form.stacked button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_be_visible()
    tab_to(page, ".error-summary a[href='#organisation_name']")
    page.keyboard.press("Enter")
    # Following the link lands on the field, ready to type.
    page.keyboard.type("Виправлено")
    assert page.input_value("#organisation_name") == "Виправлено"


def test_a_coordinator_reviews_with_the_keyboard_only(page, live_site):
    submit_application(page, "uk", "Клавіатура ТОВ", "kyiv")
    page.context.clear_cookies()
    page.goto("/admin/login")
    type_into(page, "#email", live_site.account("kyiv"))
    type_into(page, "#password", "correct horse battery staple")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/login/code")
    type_into(page, "#code", current_code(live_site.app, live_site.account("kyiv")))
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/")
    page.goto("/admin/applications/?state=submitted")
    row_link = page.locator("tbody tr", has_text="Клавіатура ТОВ").get_by_role("link")
    tab_to(page, f"a[href='{row_link.get_attribute('href')}']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/applications/\d+$"))
    type_into(page, "#note", "Ласкаво просимо.")
    tab_to(page, 'button[formaction$="/approve"]')
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).not_to_have_count(0)
    expect(page.locator("main")).to_contain_text("Схвалено")


# WCAG 1.4.10: content reflows at 320 CSS px (400% zoom of 1280 px) and at 640 px (200% zoom),
# with no sideways scrolling and nothing cut off.
@pytest.mark.parametrize("width", [320, 640])
@pytest.mark.parametrize(
    "path", ["/uk/", "/bs/about", "/en/news/", "/uk/partnerships/", "/bs/apply", "/admin/login"]
)
def test_pages_reflow_without_sideways_scrolling(page, width, path):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(path)
    overflow = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const wide = [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .filter(e => getComputedStyle(e).position !== 'absolute')
                .map(e => e.tagName + '.' + e.className);
            return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
        }"""
    )
    assert overflow["scroll"] <= overflow["width"], overflow
    assert not overflow["wide"], overflow


def test_text_can_be_enlarged_to_200_percent(page):
    """Text spacing and size follow the user's settings: a doubled root font still fits."""
    page.set_viewport_size({"width": 640, "height": 800})
    page.goto("/uk/apply")
    # Through the CSSOM, which the Content-Security-Policy allows, unlike a <style> element.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
