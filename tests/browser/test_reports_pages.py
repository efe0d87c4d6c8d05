"""``/admin/reports`` in a real browser: axe-core in all three languages, with figures and with
a form error, for an admin and for a coordinator; the charts shown, nothing blocked by the CSP."""

import pytest
from playwright.sync_api import expect

from .helpers import submit_application
from .test_accessibility import ADMIN_BY_LANGUAGE, LANGUAGES, assert_no_axe_violations

FIGURES = 7


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_reports_pass_axe_in_every_language(page, lang, sign_in):
    submit_application(page, lang, f"Report Check {lang}", "kyiv")
    page.context.clear_cookies()
    sign_in(ADMIN_BY_LANGUAGE[lang])
    page.locator("nav.main-nav a[href='/admin/reports']").click()
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.locator("svg.chart[role=img]")).to_have_count(FIGURES)
    expect(page.locator("main table.data")).to_have_count(FIGURES)
    assert page.locator("nav.main-nav a[aria-current=page]").get_attribute("href") == (
        "/admin/reports"
    )
    # Drawn at a readable size, not collapsed by the strict CSP.
    assert page.locator("svg.chart").first.bounding_box()["height"] > 100
    assert_no_axe_violations(page)

    # Filters by hand; then a period that ends before it starts: the errors, linked.
    page.select_option("#partnership", "kyiv")
    page.fill("#date_from", "2026-01-01")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("svg.chart")).to_have_count(FIGURES)
    assert_no_axe_violations(page)
    page.fill("#date_from", "2026-06-01")
    page.fill("#date_to", "2026-01-01")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#date_to[aria-invalid=true]")).to_have_count(1)
    assert_no_axe_violations(page)


def test_a_coordinators_reports_pass_axe(page, sign_in):
    sign_in("kyiv")
    page.goto("/admin/reports")
    expect(page.locator("svg.chart")).to_have_count(FIGURES)
    assert page.locator("#partnership option").count() == 2  # all (theirs) and Kyiv
    assert_no_axe_violations(page)
