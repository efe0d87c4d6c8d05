"""Steps that several browser tests take."""

import re


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
