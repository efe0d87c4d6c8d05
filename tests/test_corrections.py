"""The applicant corrects an open application: validated as the form, recorded, told."""

import pytest
from conftest import csrf_token, outbox, valid_application
from sqlalchemy import func, select, update

from lepsite.extensions import db
from lepsite.membership.operations import NotCorrectable, correct_application
from lepsite.models import Application, ApplicationEvent, OutgoingMail


def stored(app) -> Application:
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        db.session.expunge(application)
        return application


def events(app, action: str = "corrected") -> list[ApplicationEvent]:
    with app.app_context():
        found = db.session.scalars(
            select(ApplicationEvent).where(ApplicationEvent.action == action)
        ).all()
        for event in found:
            db.session.expunge(event)
        return list(found)


def mail_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutgoingMail))


def set_state(app, state: str, **values) -> None:
    with app.app_context():
        db.session.execute(update(Application).values(state=state, **values))
        db.session.commit()


@pytest.fixture
def applied(app, apply, make_user):
    """An application to Kyiv (in Ukrainian), routed to two coordinators, in BHS and Ukrainian;
    return its status path in English."""
    make_user("kyiv-bs@example.org", partnerships=["kyiv"], language="bs")
    make_user("kyiv-uk@example.org", partnerships=["kyiv"], language="uk")
    make_user("odesa@example.org", partnerships=["odesa"])
    response = apply()
    assert response.status_code == 303
    return response.headers["Location"].replace("/uk/", "/en/", 1)


def correct(client, status: str, lang: str = "en", **overrides):
    """Send the correction form like a browser, with the application's answers and changes."""
    url = status.replace("/en/", f"/{lang}/", 1) + "/correct"
    data = valid_application(**overrides)
    data.pop("fax_number")
    # The session's token, from a page that has a form in every state.
    data["csrf_token"] = csrf_token(client, "/en/apply/status")
    return client.post(url, data=data)


def test_the_status_page_offers_corrections_only_while_allowed(app, client, applied):
    for state, offered in (
        ("submitted", True),
        ("info_requested", True),
        ("in_review", False),
        ("approved", False),
        ("withdrawn", False),
    ):
        set_state(app, state)
        page = client.get(applied).get_data(as_text=True)
        assert (f'href="{applied}/correct"' in page) is offered, state


def test_the_form_shows_the_answers_and_not_the_partnership(app, client, applied):
    response = client.get(applied + "/correct")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert 'value="Kyiv Training Centre"' in page
    assert "Training places for 20 people." in page
    assert '<option selected value="uk">' in page
    assert 'name="partnership"' not in page and 'name="fax_number"' not in page
    assert "cannot be changed here" in page


def test_a_correction_is_stored_recorded_and_told_to_each_coordinator_in_their_language(
    app, client, applied
):
    before = mail_count(app)
    response = correct(
        client, applied, organisation_name="Kyiv Training Centre LLC", phone="+380 44 111 11 11"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == applied
    application = stored(app)
    assert application.organisation_name == "Kyiv Training Centre LLC"
    assert application.phone == "+380 44 111 11 11"
    assert application.state == "submitted"

    (event,) = events(app)
    assert event.note == "organisation_name, phone"  # names only: no old or new values
    assert event.state == "submitted" and event.actor_id is None

    mails = {message["To"]: message for message in outbox(app)[before:]}
    assert set(mails) == {"kyiv-bs@example.org", "kyiv-uk@example.org"}
    admin_link = f"http://lep.test/admin/applications/{application.id}"
    bs_body = mails["kyiv-bs@example.org"].get_content()
    assert "Naziv organizacije" in bs_body and "Telefon" in bs_body and admin_link in bs_body
    assert application.reference in mails["kyiv-bs@example.org"]["Subject"]
    uk_body = mails["kyiv-uk@example.org"].get_content()
    assert "Назва організації" in uk_body and "Телефон" in uk_body and admin_link in uk_body
    assert "+380 44 000 00 00" not in bs_body + uk_body  # the old number goes nowhere

    page = client.get(applied).get_data(as_text=True)
    assert "Your corrections have been saved" in page
    assert "You corrected the application (changed: Organisation name, Phone)" in page
    uk_page = client.get(applied.replace("/en/", "/uk/", 1)).get_data(as_text=True)
    assert "Назва організації, Телефон" in uk_page


def test_the_partnership_cannot_be_changed_by_a_correction(app, client, applied):
    assert correct(client, applied, partnership="odesa", municipality="Odesa").status_code == 303
    application = stored(app)
    assert application.partnership_key == "kyiv" and application.municipality == "Odesa"
    with app.app_context():
        recipients = db.session.get(Application, application.id).recipients
        assert {r.user.email for r in recipients} == {"kyiv-bs@example.org", "kyiv-uk@example.org"}
    assert "odesa@example.org" not in [message["To"] for message in outbox(app)]


def test_a_correction_that_changes_nothing_does_nothing(app, client, applied):
    before = (mail_count(app), stored(app).updated_at)
    response = correct(client, applied)
    assert response.status_code == 303
    assert events(app) == []
    assert (mail_count(app), stored(app).updated_at) == before
    assert "nothing needed changing" in client.get(applied).get_data(as_text=True)


def test_the_same_correction_sent_twice_is_recorded_once(app, client, applied):
    before = mail_count(app)
    for _ in range(2):
        assert correct(client, applied, contact_name="Olena Test-Koval").status_code == 303
    assert len(events(app)) == 1
    assert mail_count(app) == before + 2  # one message to each coordinator


def test_a_correction_in_the_answer_state_keeps_the_question_open(app, client, applied):
    set_state(app, "info_requested")
    assert correct(client, applied, email="olena.koval@example.org").status_code == 303
    application = stored(app)
    assert application.email == "olena.koval@example.org"
    assert application.state == "info_requested"
    assert [event.note for event in events(app)] == ["email"]


@pytest.mark.parametrize(
    ("lang", "messages"),
    [
        ("bs", ["Unesite naziv svoje organizacije.", "ime@example.org"]),
        ("uk", ["Введіть назву вашої організації.", "наприклад name@example.org"]),
    ],
)
def test_validation_errors_are_the_forms_and_translated(app, client, applied, lang, messages):
    before = mail_count(app)
    response = correct(client, applied, lang=lang, organisation_name="", email="not-an-address")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    for message in messages:
        assert message in page
    assert 'href="#organisation_name"' in page  # the error summary links to the field
    assert 'value="not-an-address"' in page  # what was typed stays
    assert stored(app).organisation_name == "Kyiv Training Centre"
    assert events(app) == [] and mail_count(app) == before


def test_the_same_limits_as_the_form(app, client, applied):
    response = correct(client, applied, motivation="x" * 2001, consent_processing=None)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Use at most 2000 characters." in page
    assert 'href="#consent_processing"' in page
    assert stored(app).motivation == "We want to help people find work."


@pytest.mark.parametrize("state", ["in_review", "approved", "rejected", "withdrawn"])
def test_a_forged_correction_in_another_state_changes_nothing(app, client, applied, state):
    set_state(app, state)
    before = mail_count(app)
    response = correct(client, applied, lang="uk", organisation_name="Forged")
    assert response.status_code == 303
    assert response.headers["Location"] == applied.replace("/en/", "/uk/", 1)
    application = stored(app)
    assert application.organisation_name == "Kyiv Training Centre"
    assert application.state == state
    assert events(app) == [] and mail_count(app) == before
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash flash-error" role="alert"' in page and '<html lang="uk"' in page
    # The form itself is not offered either.
    assert client.get(applied + "/correct").status_code == 303


def test_an_anonymised_application_cannot_be_corrected(app, client, applied):
    token = csrf_token(client, "/en/apply/status")
    set_state(app, "rejected", anonymised_at=func.now())
    data = {**valid_application(organisation_name="Forged"), "csrf_token": token}
    response = client.post(applied + "/correct", data=data)
    assert response.status_code == 404
    assert stored(app).organisation_name == "Kyiv Training Centre"


def test_without_the_csrf_token_nothing_changes(app, client, applied):
    data = valid_application(organisation_name="Forged")
    assert client.post(applied + "/correct", data=data).status_code == 400
    assert stored(app).organisation_name == "Kyiv Training Centre"


def test_an_application_decided_a_moment_ago_is_not_corrected(app, applied):
    with app.test_request_context():
        application = db.session.scalars(select(Application)).one()  # read as still open
        with db.engine.begin() as other_request:
            other_request.execute(update(Application).values(state="approved"))
        with pytest.raises(NotCorrectable):
            correct_application(application, {"organisation_name": "Too late"})
    assert stored(app).organisation_name == "Kyiv Training Centre"
    assert events(app) == []
