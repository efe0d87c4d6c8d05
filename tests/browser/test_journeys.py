"""End to end: a visitor reads and switches language, organisations apply, coordinators decide."""

import re

from flask_babel import force_locale
from playwright.sync_api import expect

from lepsite.membership.labels import STATE_LABELS

from .helpers import submit_application


def label(live_site, lang: str, text) -> str:
    """A lazy interface string as the site shows it in ``lang``."""
    with live_site.app.test_request_context("/"), force_locale(lang):
        return str(text)


def test_a_visitor_reads_pages_and_switches_language(page, live_site):
    page.goto("/")
    assert page.url.endswith("/en/")
    assert page.locator("h1").count() == 1

    page.locator(".main-nav a").first.click()
    first_section = page.url
    assert re.search(r"/en/[a-z-]+/?$", first_section)

    page.locator('.language-switcher a[hreflang="uk"]').click()
    assert page.url == first_section.replace("/en/", "/uk/")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.locator('.language-switcher a[aria-current="true"]').get_attribute("lang") == "uk"

    # The choice is remembered the next time the visitor comes to the bare address.
    page.goto("/")
    assert page.url.endswith("/uk/")

    page.locator('.language-switcher a[hreflang="bs"]').click()
    assert page.url.endswith("/bs/")
    page.goto("/bs/partnerships/")
    page.locator("main a[href='/bs/partnerships/kyiv']").first.click()
    assert page.url.endswith("/bs/partnerships/kyiv")


def open_application(tab, organisation: str) -> None:
    """Follow the reference link in the row of the list that names the organisation."""
    tab.goto("/admin/applications/")
    tab.locator("tbody tr", has_text=organisation).get_by_role("link").click()
    tab.wait_for_url(re.compile(r"/admin/applications/\d+$"))


def test_organisations_apply_a_coordinator_decides_and_applicants_see_the_outcome(
    page, live_site, sign_in, another_tab
):
    approved_status = submit_application(page, "uk", "ТОВ Київська пекарня", "kyiv")
    assert label(live_site, "uk", STATE_LABELS["submitted"]) in page.inner_text("main")
    rejected_status = submit_application(page, "bs", "Pekara Sarajevo d.o.o.", "kyiv")
    assert label(live_site, "bs", STATE_LABELS["submitted"]) in page.inner_text("main")
    elsewhere = "Odeska Pekarnia"
    submit_application(page, "en", elsewhere, "odesa")

    # The Kyiv coordinator signs in; their account is in Ukrainian, so is the review area.
    coordinator = another_tab()
    sign_in("kyiv", coordinator)
    assert coordinator.locator("html").get_attribute("lang") == "uk"
    coordinator.goto("/admin/applications/")
    listing = coordinator.locator("main").inner_text()
    assert "ТОВ Київська пекарня" in listing and "Pekara Sarajevo d.o.o." in listing
    assert elsewhere not in listing  # routed to Odesa's people, not to Kyiv's

    open_application(coordinator, "ТОВ Київська пекарня")
    coordinator.locator('button[formaction$="/approve"]').click()
    approved = label(live_site, "uk", STATE_LABELS["approved"])
    expect(coordinator.locator("main")).to_contain_text(approved)

    # A rejection needs a reason: the field says so, and the summary leads to it.
    open_application(coordinator, "Pekara Sarajevo d.o.o.")
    coordinator.locator('button[formaction$="/reject"]').click()
    expect(coordinator.locator("#note[aria-invalid=true]")).to_have_count(1)
    coordinator.locator(".error-summary a[href='#note']").click()
    coordinator.keyboard.type("Nažalost, ove godine ne primamo nove pekare.")
    coordinator.locator('button[formaction$="/reject"]').click()
    expect(coordinator.locator("main")).to_contain_text(
        label(live_site, "uk", STATE_LABELS["rejected"])
    )

    # Each applicant sees the outcome on their private page, in their own language.
    page.goto(approved_status)
    assert approved in page.locator("main").inner_text()
    page.goto(rejected_status)
    main = page.locator("main").inner_text()
    assert label(live_site, "bs", STATE_LABELS["rejected"]) in main
    assert "Nažalost, ove godine ne primamo nove pekare." in main


def test_a_coordinator_cannot_open_another_partnerships_application(page, live_site, sign_in):
    submit_application(page, "en", "Kyiv Only Ltd", "kyiv")
    page.context.clear_cookies()
    sign_in("bih")
    page.goto("/admin/applications/")
    assert "Kyiv Only Ltd" not in page.locator("main").inner_text()
    with live_site.app.app_context():
        from sqlalchemy import select

        from lepsite.extensions import db
        from lepsite.models import Application

        application_id = db.session.scalar(
            select(Application.id).where(Application.organisation_name == "Kyiv Only Ltd")
        )
    response = page.goto(f"/admin/applications/{application_id}")
    assert response.status == 404
