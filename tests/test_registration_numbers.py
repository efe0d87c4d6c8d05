"""Registration numbers: EDRPOU (Ukraine) and ID number / JIB (Bosnia and Herzegovina), checked
by the country of the chosen partnership, on the form and the correction page."""

import re

import pytest
from conftest import csrf_token
from flask_babel import force_locale
from sqlalchemy import select

from lepsite.extensions import db
from lepsite.membership import registration
from lepsite.membership.registration import (
    RegistrationNumberError,
    check,
    is_valid_edrpou,
    is_valid_jib,
)
from lepsite.models import Application

# Published EDRPOU codes: PrivatBank, Naftogaz of Ukraine, a Chernivtsi lyceum (on their pages
# and payment details), and python-stdnum's documented example.
EDRPOU_PUBLISHED = ["14360570", "20077720", "21431106", "32855961"]
# Published ID numbers (JIB): org-id.guide's BA-JIB examples (two are 12-digit VAT numbers, the
# JIB without its leading 4), and numbers organisations print on letterheads and invoices; the
# last has remainder 1 and check digit 0 (see lepsite.membership.registration).
JIB_PUBLISHED = [
    "4402093280003",
    "4" + "200318240004",
    "4" + "504047220001",
    "4403258750006",
    "4202206190007",
    "4363863550009",
    "4201731140006",
    "4236743350004",
    "4203144510090",
]


def other_last_digits(number: str) -> list[str]:
    """The number with each other last digit: all must fail the check."""
    return [number[:-1] + digit for digit in "0123456789" if digit != number[-1]]


@pytest.mark.parametrize("number", EDRPOU_PUBLISHED)
def test_published_edrpou_codes_pass_and_any_other_check_digit_fails(number):
    assert is_valid_edrpou(number)
    assert check(number, ["UA"]) == number
    for wrong in other_last_digits(number):
        assert not is_valid_edrpou(wrong), wrong


@pytest.mark.parametrize("number", JIB_PUBLISHED)
def test_published_id_numbers_pass_and_any_other_check_digit_fails(number):
    assert is_valid_jib(number)
    assert check(number, ["BA"]) == number
    wrong_ones = other_last_digits(number)
    # Remainder 1 has no real check digit: 0 is accepted there, so no other digit may pass.
    assert not any(is_valid_jib(wrong) for wrong in wrong_ones)


def iso7064_mod_11_10(first: str) -> int:
    """The Croatian OIB's check digit, which one third-party page claims for the JIB."""
    remainder = 10
    for digit in first:
        remainder = ((remainder + int(digit)) % 10 or 10) * 2 % 11
    return (11 - remainder) % 10


def test_the_published_id_numbers_refute_iso_7064():
    """Why the module does not use ISO 7064 MOD 11,10: the published numbers do not follow it
    (one of them does by chance, as one in ten would)."""
    valid = [
        number for number in JIB_PUBLISHED if iso7064_mod_11_10(number[:12]) == int(number[12])
    ]
    assert valid == ["4201731140006"]


def test_id_numbers_catch_a_swap_of_neighbouring_digits():
    number = "4402093280003"
    swapped = number[:3] + number[4] + number[3] + number[5:]
    assert swapped != number and not is_valid_jib(swapped)


@pytest.mark.parametrize(
    "typed, countries, digits",
    [
        ("1436 0570", ["UA"], "14360570"),
        ("1436-0570", ["UA"], "14360570"),
        (" 14\u00a036\u202f05\u201370 ", ["UA"], "14360570"),
        ("4402 0932 8000 3", ["BA"], "4402093280003"),
        ("4402093280003", [], "4402093280003"),  # not sure: either country
        ("14360570", [], "14360570"),
    ],
)
def test_spaces_and_dashes_between_digits_are_accepted_and_dropped(typed, countries, digits):
    assert check(typed, countries) == digits


@pytest.mark.parametrize(
    "typed, countries, reason",
    [
        ("1436057O", ["UA"], "letters"),  # a letter O for a zero
        ("ЄДРПОУ 14360570", ["UA"], "letters"),
        ("14360570/1", ["UA"], "characters"),
        ("143605700", ["UA"], "length"),
        ("2978904693", ["UA"], "length"),  # a sole trader's personal tax number
        ("4402093280003", ["UA"], "length"),  # a Bosnian number for a Ukrainian partnership
        ("14360570", ["BA"], "length"),
        ("123456789", [], "length"),
        ("14360571", ["UA"], "check_digit"),
        ("4402093280004", ["BA"], "check_digit"),
        ("4402093280004", [], "check_digit"),
    ],
)
def test_what_is_wrong_is_named(typed, countries, reason):
    with pytest.raises(RegistrationNumberError) as caught:
        check(typed, countries)
    assert caught.value.reason == reason


def message(app, lang: str, error: RegistrationNumberError) -> str:
    """The error's message as the app says it in ``lang``."""
    with app.test_request_context(), force_locale(lang):
        return error.message()


def field_errors(page: str) -> list[str]:
    """The fields' error messages, without the "Error:" said to screen readers."""
    found = re.findall(r'class="field-error"[^>]*>(.*?)</p>', page, re.S)
    return [" ".join(re.sub(r"<span.*?</span>", " ", error).split()) for error in found]


def stored(app) -> list[Application]:
    with app.app_context():
        return list(db.session.scalars(select(Application).order_by(Application.id)))


FORM_CASES = [
    ("1436057O", "kyiv", RegistrationNumberError("letters", ("UA",))),
    ("143605700", "kyiv", RegistrationNumberError("length", ("UA",), digits=9)),
    ("14360571", "kyiv", RegistrationNumberError("check_digit", ("UA",), 8, "UA")),
    (
        "4402 0932 8000 4",
        "not_sure",
        RegistrationNumberError("check_digit", ("UA", "BA"), 13, "BA"),
    ),
    ("1234567890", "not_sure", RegistrationNumberError("length", ("UA", "BA"), digits=10)),
]


@pytest.mark.parametrize("lang", ["en", "bs", "uk"])
@pytest.mark.parametrize("typed, partnership, error", FORM_CASES)
def test_the_form_says_what_is_wrong_in_the_pages_language(
    app, apply, lang, typed, partnership, error
):
    response = apply(lang=lang, partnership=partnership, registration_number=typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    expected = message(app, lang, error)
    assert field_errors(page) == [expected]
    assert f'value="{typed}"' in page  # kept as typed, to be corrected
    if lang != "en":
        assert expected != message(app, "en", error), "not translated"
    assert stored(app) == []


def test_the_number_of_digits_is_in_the_message(app):
    error = RegistrationNumberError("length", ("UA",), digits=9)
    assert "9" in message(app, "en", error) and "8" in message(app, "en", error)
    assert "9" in message(app, "uk", error)


def test_the_form_stores_the_digits_only(app, apply):
    assert apply(registration_number=" 1436-0570 ").status_code == 303
    assert stored(app)[0].registration_number == "14360570"


def test_not_sure_takes_a_number_of_either_country(app, apply):
    assert apply(partnership="not_sure", registration_number="4402-0932-8000-3").status_code == 303
    assert (
        apply(
            partnership="not_sure", registration_number="14360570", email="b@example.org"
        ).status_code
        == 303
    )
    assert [row.registration_number for row in stored(app)] == ["4402093280003", "14360570"]


def test_a_ukrainian_partnership_refuses_a_bosnian_number(app, apply):
    response = apply(partnership="kyiv", registration_number="4402093280003")
    assert response.status_code == 400
    assert "An EDRPOU code has 8 digits; this number has 13 digits." in response.get_data(
        as_text=True
    )


def test_the_form_still_accepts_no_number(app, apply):
    assert apply(registration_number="").status_code == 303
    assert apply(registration_number="   ", email="b@example.org").status_code == 303
    assert apply(registration_number=None, email="c@example.org").status_code == 303
    assert [row.registration_number for row in stored(app)] == ["", "", ""]


def test_the_field_is_labelled_explained_and_numeric(client):
    page = client.get("/en/apply").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="registration_number"[^>]*>', page).group(0)
    assert 'inputmode="numeric"' in field and 'aria-describedby="registration_number-help"' in field
    assert '<label class="label" for="registration_number">Registration number (optional)' in page
    assert "EDRPOU code (8 digits" in page and "JIB, 13 digits" in page


# ---------------------------------------------------------------- the correction page


@pytest.fixture
def bosnian_application(app):
    """An open application to a partnership in Bosnia and Herzegovina; its status token."""
    with app.app_context():
        application = Application(
            token="t" * 43,
            reference="LEP-2026-000001",
            partnership_key="bih-lep2",
            organisation_name="Zelena Energija d.o.o.",
            organisation_type="employer",
            municipality="Sarajevo",
            contact_name="Amra Test",
            email="amra@example.org",
            language="bs",
            contribution="Training.",
            motivation="Jobs.",
            consent_processing=True,
        )
        db.session.add(application)
        db.session.commit()
    return "t" * 43


def correct(client, token: str, lang: str = "bs", **overrides):
    url = f"/{lang}/apply/status/{token}/correct"
    fields = {
        "organisation_name": "Zelena Energija d.o.o.",
        "organisation_type": "employer",
        "municipality": "Sarajevo",
        "contact_name": "Amra Test",
        "email": "amra@example.org",
        "language": "bs",
        "contribution": "Training.",
        "motivation": "Jobs.",
        "consent_processing": "y",
        **overrides,
    }
    return client.post(url, data={"csrf_token": csrf_token(client, url), **fields})


def test_a_correction_checks_by_the_partnerships_country_and_records_the_field(
    app, client, bosnian_application
):
    response = correct(client, bosnian_application, registration_number="14360570")
    assert response.status_code == 400
    expected = message(app, "bs", RegistrationNumberError("length", ("BA",), digits=8))
    assert field_errors(response.get_data(as_text=True)) == [expected]

    response = correct(client, bosnian_application, registration_number="4402 0932 8000 3")
    assert response.status_code == 303
    (application,) = stored(app)
    assert application.registration_number == "4402093280003"
    with app.app_context():
        notes = [event.note for event in db.session.get(Application, application.id).events]
    assert notes == ["registration_number"]


def test_the_correction_page_shows_the_stored_number(app, client, bosnian_application):
    with app.app_context():
        db.session.scalar(select(Application)).registration_number = "4402093280003"
        db.session.commit()
    page = client.get(f"/en/apply/status/{bosnian_application}/correct").get_data(as_text=True)
    assert 'value="4402093280003"' in page


def test_anonymisation_blanks_the_number(app, bosnian_application):
    from lepsite.membership.retention import strip_personal_data
    from lepsite.models import utcnow

    with app.app_context():
        application = db.session.scalar(select(Application))
        application.registration_number = "4402093280003"
        strip_personal_data(application, utcnow())
        db.session.commit()
        assert (application.registration_number, application.name_key) == ("", "")


def test_countries_are_the_partnerships(app):
    assert registration.LENGTHS == {"UA": 8, "BA": 13}
    with app.app_context():
        from lepsite.partnerships import country_of

        assert country_of("kyiv") == "UA" and country_of("bih-lep2") == "BA"
