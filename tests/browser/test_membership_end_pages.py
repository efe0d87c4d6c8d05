"""Ending a membership in a real browser, keyboard-free but without JavaScript tricks: the
admin's form and the status page's, with and without errors, pass axe-core in every language."""

import pytest
from playwright.sync_api import expect

from .helpers import submit_application
from .test_accessibility import ADMIN_BY_LANGUAGE, LANGUAGES, assert_no_axe_violations


@pytest.mark.parametrize("lang", LANGUAGES)
def test_ending_a_membership_passes_axe_on_both_sides(page, lang, sign_in):
    first = submit_application(page, lang, f"Leaving Org {lang}", "kyiv")
    second = submit_application(page, lang, f"Ended Org {lang}", "kyiv")
    page.context.clear_cookies()
    sign_in(ADMIN_BY_LANGUAGE[lang])
    for name in (f"Leaving Org {lang}", f"Ended Org {lang}"):
        page.goto("/admin/applications/?state=submitted")
        page.locator("tbody tr", has_text=name).get_by_role("link").first.click()
        page.locator('button[formaction$="/approve"]').click()
        expect(page.locator("#end-reason")).to_be_visible()
    assert_no_axe_violations(page)  # the approved application, with the form to end it

    # The admin ends the second one: first without the reason it needs.
    page.locator("#end-reason").locator("xpath=ancestor::form").locator("button").click()
    expect(page.locator("#end-reason[aria-invalid=true]")).to_have_count(1)
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    page.fill("#end-reason", "The organisation has closed.")
    page.locator("#end-reason").locator("xpath=ancestor::form").locator("button").click()
    expect(page.locator(".flash")).not_to_have_count(0)
    expect(page.locator("#end-reason")).to_have_count(0)
    assert_no_axe_violations(page)

    # The organisation's side: the ended one, then the approved one leaving by itself.
    page.context.clear_cookies()
    page.goto(second)
    expect(page.locator("#leave-confirm")).to_have_count(0)
    assert "The organisation has closed." in page.locator("main").inner_text()
    assert_no_axe_violations(page)
    page.goto(first)
    expect(page.locator("#leave-confirm")).to_be_visible()
    assert_no_axe_violations(page)
    button = page.locator("#leave-confirm").locator("xpath=ancestor::form").locator("button")
    button.click()  # not confirmed
    expect(page.locator("#leave-confirm[aria-invalid=true]")).to_have_count(1)
    assert_no_axe_violations(page)
    page.fill("#leave-reason", "We are moving.")
    page.check("#leave-confirm")
    page.locator("#leave-confirm").locator("xpath=ancestor::form").locator("button").click()
    expect(page.locator(".flash")).not_to_have_count(0)
    expect(page.locator("#leave-confirm")).to_have_count(0)
    assert_no_axe_violations(page)
