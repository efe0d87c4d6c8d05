"""Steps that several browser tests take."""

import re

import pyotp
from conftest import current_code, enrol_two_factor
from sqlalchemy import select

from lepsite.accounts import new_user
from lepsite.accounts.two_factor import TwoFactor
from lepsite.extensions import db
from lepsite.models import User

PASSWORD = "correct horse battery staple"


def fill_application(page, organisation: str, partnership: str, language: str) -> None:
    """Fill every required field of the application form as a person would."""
    page.fill("#organisation_name", organisation)
    page.select_option("#organisation_type", "employer")
    page.fill("#municipality", "Kyiv" if partnership == "kyiv" else "Odesa")
    page.select_option("#partnership", partnership)
    page.fill("#contribution", "Twenty apprenticeship places a year.")
    page.fill("#motivation", "We need skilled people and want to train them locally.")
    page.fill("#contact_name", "Test Person")
    page.fill("#email", "applicant@example.org")
    page.select_option("#language", language)
    page.check("#consent_processing")
    page.check("#consent_listing")


def submit_application(page, lang: str, organisation: str, partnership: str) -> str:
    """Apply in ``lang``, first sending the empty form; return the private status URL."""
    page.goto(f"/{lang}/apply")
    assert page.locator("html").get_attribute("lang") == lang
    page.locator("form.stacked button[type=submit]").click()
    # The empty form comes back with a summary of what is missing, in the reader's language.
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.locator("[aria-invalid=true]").count() >= 5
    assert page.title().split(":")[0] != "Error" or lang == "en"

    fill_application(page, organisation, partnership, lang)
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url(re.compile(r"/apply/status/[A-Za-z0-9_-]{43}$"))
    assert organisation in page.locator("main").inner_text()
    return page.url


def enrol_everyone(app) -> None:
    """Switch two-factor sign-in on for every account, as if each had set it up."""
    with app.app_context():
        for user_id in db.session.scalars(select(User.id)).all():
            enrol_two_factor(user_id)


def enter_code(page, live_site, email: str) -> None:
    """The code step of sign-in, with the code the account's app shows now.

    The account's last accepted step is forgotten first (``conftest.current_code``), a test
    shortcut so the same account may sign in twice within 30 seconds; replay tests type codes
    themselves.
    """
    page.wait_for_url("**/admin/login/code")
    page.fill("#code", current_code(live_site.app, email))
    page.locator("main form button[type=submit]").click()


def new_account(live_site, email: str, role: str = "admin", language: str = "en") -> int:
    """An account without a second factor yet (its first sign-in leads to the set-up)."""
    with live_site.app.app_context():
        user = new_user(email, email.split("@")[0].title(), role, PASSWORD, (), language)
        db.session.commit()
        return user.id


def pending_code(live_site, user_id: int) -> str:
    """The code for the key the set-up page shows, as the app would after scanning it."""
    with live_site.app.app_context():
        return pyotp.TOTP(db.session.get(TwoFactor, user_id).secret).now()
