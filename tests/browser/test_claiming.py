"""Claiming and bulk work in a real browser: tick rows, start their review, take them; a
colleague sees who has one and takes it over. No JavaScript is needed: the page has none."""

import re

from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from lepsite.extensions import db
from lepsite.membership.labels import STATE_LABELS
from lepsite.models import Application

from .helpers import submit_application
from .test_accessibility import assert_no_axe_violations


def said(live_site, lang: str, text, **values) -> str:
    """An interface string as the site shows it in ``lang``."""
    with live_site.app.test_request_context("/"), force_locale(lang):
        return gettext(text, **values) if isinstance(text, str) else str(text)


def reference(live_site, organisation: str) -> str:
    with live_site.app.app_context():
        return db.session.scalar(
            select(Application.reference).where(Application.organisation_name == organisation)
        )


def holder(live_site, organisation: str) -> str | None:
    with live_site.app.app_context():
        row = db.session.scalar(
            select(Application).where(Application.organisation_name == organisation)
        )
        return row.assigned_to.email if row.assigned_to else None


def test_a_coordinator_starts_and_takes_several_a_colleague_takes_one_over(
    page, live_site, sign_in, another_tab
):
    first, second = "Bulk Bakery One", "Bulk Bakery Two"
    for organisation in (first, second):
        submit_application(page, "en", organisation, "kyiv")

    # The Kyiv coordinator (Ukrainian) ticks both rows and starts their review in one go.
    coordinator = another_tab()
    sign_in("kyiv", coordinator)
    coordinator.goto("/admin/applications/?state=submitted")
    for organisation in (first, second):
        row = coordinator.locator("tbody tr", has_text=organisation)
        row.get_by_role("checkbox").check()
    coordinator.locator('button[name="action"][value="start_review"]').click()
    coordinator.wait_for_url(re.compile(r"/admin/applications/\?state=submitted$"))
    for organisation in (first, second):
        expect(coordinator.locator(".flash-success")).to_contain_text(
            reference(live_site, organisation)
        )
    coordinator.goto("/admin/applications/?state=in_review")
    in_review = said(live_site, "uk", STATE_LABELS["in_review"])
    for organisation in (first, second):
        expect(coordinator.locator("tbody tr", has_text=organisation)).to_contain_text(in_review)

    # Then takes both: the list says they are the coordinator's.
    for organisation in (first, second):
        coordinator.locator("tbody tr", has_text=organisation).get_by_role("checkbox").check()
    coordinator.locator('button[name="action"][value="take"]').click()
    coordinator.wait_for_url(re.compile(r"/admin/applications/\?state=in_review$"))
    me = said(live_site, "uk", "Me")
    for organisation in (first, second):
        expect(coordinator.locator("tbody tr", has_text=organisation)).to_contain_text(me)
        assert holder(live_site, organisation) == live_site.account("kyiv")
    assert_no_axe_violations(coordinator)

    # An admin (English) sees who has the first one and takes it over.
    admin = another_tab()
    sign_in("admin", admin)
    admin.goto("/admin/applications/?state=in_review")
    admin.locator("tbody tr", has_text=first).get_by_role("link").click()
    expect(admin.locator("main")).to_contain_text("Оксана Координатор, since")
    admin.get_by_role("button", name="Take it over from Оксана Координатор").click()
    expect(admin.locator(".flash-success")).to_contain_text(
        "You took the application over from Оксана Координатор."
    )
    assert_no_axe_violations(admin)
    assert holder(live_site, first) == live_site.account("admin")

    # The coordinator's list shows the new holder.
    coordinator.reload()
    expect(coordinator.locator("tbody tr", has_text=first)).to_contain_text("Ada Admin")
    expect(coordinator.locator("tbody tr", has_text=second)).to_contain_text(me)
