"""The applicant's self-service in a real browser: a lost link mailed again, a correction."""

import email
import email.policy
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect

from lepsite.membership.labels import ACTION_LABELS, FIELD_LABELS

from .helpers import submit_application
from .test_accessibility import LANGUAGES, assert_no_axe_violations

STATUS_LINK = re.compile(r"https?://\S+/apply/status/[A-Za-z0-9_-]{43}")


def label(live_site, lang: str, text) -> str:
    """A lazy interface string as the site shows it in ``lang``."""
    with live_site.app.test_request_context("/"), force_locale(lang):
        return str(text)


def mails_to(live_site, address: str) -> list[email.message.EmailMessage]:
    """Messages the live site wrote to its outbox for ``address``, oldest first."""
    folder = Path(live_site.app.config["MAIL_OUTBOX_DIR"])
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]
    return [message for message in messages if message["To"] == address]


def test_an_applicant_recovers_the_link_and_corrects_the_application(page, live_site, another_tab):
    organisation = "Самообслуговування ТОВ"
    status_url = submit_application(page, "uk", organisation, "kyiv")
    token = status_url.rsplit("/", 1)[1]
    coordinator = live_site.account("kyiv")
    coordinator_mail_before = len(mails_to(live_site, coordinator))

    # Later, on another computer, the e-mail with the link is lost: the form's page says where
    # to have it sent again.
    tab = another_tab()
    tab.goto("/uk/apply")
    tab.locator('main a[href="/uk/apply/status"]').click()
    tab.wait_for_url("**/uk/apply/status")
    tab.locator("form.stacked button[type=submit]").click()  # no address yet
    expect(tab.locator("#email[aria-invalid=true]")).to_have_count(1)
    tab.fill("#email", "Applicant@Example.org")
    tab.locator("form.stacked button[type=submit]").click()
    expect(tab.locator(".flash-success")).to_have_count(1)

    # The mail holds this application's link, on the site's address.
    body = mails_to(live_site, "applicant@example.org")[-1].get_content()
    links = [link for link in STATUS_LINK.findall(body) if link.endswith(token)]
    assert links == [live_site(f"/uk/apply/status/{token}")]

    # The link opens the status page, which offers a correction.
    tab.goto(links[0])
    assert organisation in tab.locator("main").inner_text()
    tab.locator(f'main a[href="/uk/apply/status/{token}/correct"]').click()
    tab.wait_for_url(f"**/uk/apply/status/{token}/correct")
    assert tab.input_value("#organisation_name") == organisation
    assert tab.locator("#partnership").count() == 0  # not correctable here

    # A required answer removed: the same checks as the form, in Ukrainian.
    tab.fill("#organisation_name", "")
    tab.locator("form.stacked button[type=submit]").click()
    expect(tab.locator("#organisation_name[aria-invalid=true]")).to_have_count(1)
    expect(tab.locator(".error-summary")).to_contain_text("Введіть назву вашої організації.")
    tab.fill("#organisation_name", "Самообслуговування ТОВ (виправлено)")
    tab.fill("#phone", "+380 44 222 22 22")
    tab.locator("form.stacked button[type=submit]").click()
    tab.wait_for_url(re.compile(rf"/uk/apply/status/{token}$"))
    expect(tab.locator(".flash-success")).to_have_count(1)

    # The history lists the correction and what changed, in the page's language.
    history = tab.locator("ol.history").inner_text()
    assert label(live_site, "uk", ACTION_LABELS["corrected"]) in history
    assert label(live_site, "uk", FIELD_LABELS["organisation_name"]) in history
    assert label(live_site, "uk", FIELD_LABELS["phone"]) in history
    assert "Самообслуговування ТОВ (виправлено)" in tab.locator("main").inner_text()

    # The Kyiv coordinator was told, in Ukrainian, with a working link to the admin page.
    told = mails_to(live_site, coordinator)[coordinator_mail_before:]
    corrected = [message for message in told if "виправлено" in message.get_content()]
    assert len(corrected) == 1
    body = corrected[0].get_content()
    assert "Назва організації" in body and "Телефон" in body
    assert re.search(re.escape(live_site("/admin/applications/")) + r"\d+", body)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_self_service_pages_pass_axe(page, lang):
    page.goto(f"/{lang}/apply/status")
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_axe_violations(page)
    page.locator("form.stacked button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    page.fill("#email", f"nobody-{lang}@example.org")
    page.locator("form.stacked button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    assert_no_axe_violations(page)

    response = page.goto(f"/{lang}/apply/status/{'A' * 43}")
    assert response.status == 404
    assert_no_axe_violations(page)

    status_url = submit_application(page, lang, f"Correction Check {lang}", "kyiv")
    page.goto(status_url + "/correct")
    assert_no_axe_violations(page)
    page.fill("#email", "")
    page.locator("form.stacked button[type=submit]").click()
    expect(page.locator("#email[aria-invalid=true]")).to_have_count(1)
    assert_no_axe_violations(page)
