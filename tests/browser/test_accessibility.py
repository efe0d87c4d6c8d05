"""Accessibility in a real browser: axe-core on every page type, keyboard only, small screens."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .helpers import submit_application

LANGUAGES = ("en", "bs", "uk")
PUBLIC_PAGES = (
    "/",
    "/about",
    "/news/",
    "/news/kyiv-lep-launch",
    "/partnerships/",
    "/partnerships/kyiv",
    "/apply",
    "/apply/status",
    "/no-such-page",
)
ADMIN_BY_LANGUAGE = {"en": "admin", "bs": "admin_bs", "uk": "admin_uk"}
AXE = Axe()


def assert_no_axe_violations(page) -> None:
    """Every axe-core rule (WCAG 2.0–2.2 A/AA and best practices) passes on the page as shown."""
    results = AXE.run(page)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_pass_axe(page, lang, path):
    page.goto(f"/{lang}{path}")
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_axe_violations(page)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_form_with_errors_and_the_status_page_pass_axe(page, lang):
    page.goto(f"/{lang}/apply")
    page.locator("form.stacked button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    submit_application(page, lang, "Axe Check Ltd", "kyiv")
    assert_no_axe_violations(page)


def test_language_free_pages_pass_axe(page):
    page.goto("/no/such/page")
    assert_no_axe_violations(page)
    page.goto("/admin/login")
    assert_no_axe_violations(page)
    page.fill("#email", "nobody@example.org")
    page.fill("#password", "wrong password")
    page.locator("form button[type=submit]").click()
    expect(page.locator(".error-summary, .flash")).not_to_have_count(0)
    assert_no_axe_violations(page)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_admin_pages_pass_axe(page, lang, sign_in):
    status_url = submit_application(page, lang, f"Review Check {lang}", "kyiv")
    page.context.clear_cookies()
    sign_in(ADMIN_BY_LANGUAGE[lang])
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_axe_violations(page)  # the dashboard
    for path in (
        "/admin/applications/",
        "/admin/users/",
        "/admin/users/new",
        "/admin/password",
        "/admin/audit",
        "/admin/security",
        "/admin/mail/failed",
    ):
        page.goto(path)
        assert_no_axe_violations(page)
    page.goto("/admin/users/")
    page.locator("main tbody a").first.click()
    assert_no_axe_violations(page)
    page.goto("/admin/users/new")
    page.locator("main form button[type=submit]").click()  # nothing filled in
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)

    page.goto("/admin/applications/?state=submitted")
    page.locator("tbody tr", has_text=f"Review Check {lang}").get_by_role("link").click()
    assert_no_axe_violations(page)
    page.locator('button[formaction$="/reject"]').click()  # without the reason it needs
    expect(page.locator("#note[aria-invalid=true]")).to_have_count(1)
    assert_no_axe_violations(page)
    page.fill("#note", "Please tell us how many places you offer.")
    page.locator('button[formaction$="/request_info"]').click()
    expect(page.locator(".flash")).not_to_have_count(0)
    assert_no_axe_violations(page)

    # The applicant's page now asks for an answer: a second form beside the withdrawal.
    page.goto(status_url)
    expect(page.locator("#answer")).to_be_visible()
    assert_no_axe_violations(page)


def test_a_coordinator_sees_only_their_pages_and_they_pass_axe(page, sign_in):
    sign_in("kyiv")
    assert_no_axe_violations(page)
    page.goto("/admin/applications/")
    assert_no_axe_violations(page)
    assert page.goto("/admin/users/").status == 404  # admins only, and not even hinted at


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pages_behind_mailed_links_pass_axe(page, live_site, lang):
    """Password reset and invitations (issue 14): the form, its errors, the answer, a link's
    page with its errors and a dead link, in the account's language."""
    from datetime import timedelta

    from lepsite.accounts import invitations, tokens
    from lepsite.extensions import db
    from lepsite.models import User

    with live_site.app.app_context():
        email = live_site.account(ADMIN_BY_LANGUAGE[lang])
        user = db.session.scalar(db.select(User).where(User.email == email))
        invited, _ids = invitations.invite(
            f"axe-{lang}@example.org", f"Axe {lang}", "coordinator", {"kyiv"}, lang
        )
        links = {
            "invite": tokens.issue(invited, "invite", timedelta(hours=1)),
            "reset": tokens.issue(user, "reset", timedelta(hours=1)),
        }
        db.session.commit()
    page.goto(f"/{lang}/language?next=/admin/reset")  # the visitor's remembered language
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_axe_violations(page)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    for kind, token in links.items():
        page.goto(f"/admin/{kind}/{token}")
        assert_no_axe_violations(page)
        page.fill("#new_password", "short")
        page.locator("main form button[type=submit]").click()
        expect(page.locator(".error-summary")).to_be_visible()
        assert_no_axe_violations(page)
        assert page.goto(f"/admin/{kind}/{'A' * 43}").status == 404
        assert page.locator("html").get_attribute("lang") == lang
        assert_no_axe_violations(page)
    page.goto("/admin/reset")
    page.fill("#email", "nobody@example.org")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).not_to_have_text("")
    assert_no_axe_violations(page)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_two_factor_pages_pass_axe(page, live_site, lang):
    """Set-up with its QR code, its errors, the recovery codes, the code step and its errors,
    in the account's language; then a recovery code signs in (issue 14)."""
    from .helpers import PASSWORD, new_account, pending_code

    email = f"two-factor-{lang}@example.org"
    user_id = new_account(live_site, email, language=lang)
    page.goto("/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/admin/security")
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.locator("svg[role=img] title")).to_have_count(1)
    assert_no_axe_violations(page)
    turn_on = page.locator('form[action$="/security/two-factor"] button')
    turn_on.click()  # no code typed
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    page.fill("#code", pending_code(live_site, user_id))
    turn_on.click()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    assert_no_axe_violations(page)
    recovery = page.locator(".recovery-codes code").first.inner_text()
    page.locator("main a.button").click()
    expect(page.locator("#confirmation")).to_be_visible()
    assert_no_axe_violations(page)

    page.context.clear_cookies()
    page.goto("/admin/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/admin/login/code")
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_axe_violations(page)
    page.fill("#code", "not a code")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    page.fill("#code", recovery)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/admin/")
