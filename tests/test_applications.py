"""The membership form: validation, storage, routing, the status page, honeypot and CSRF."""

import re

from conftest import csrf_token, outbox, valid_application
from sqlalchemy import func, select

from lepsite.extensions import db
from lepsite.models import Application, ApplicationRecipient, OutgoingMail


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def stored(app) -> Application:
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        db.session.expunge(application)
        return application


def test_form_is_translated_and_lists_only_open_partnerships(client):
    page = client.get("/uk/apply").get_data(as_text=True)
    assert 'lang="uk"' in page
    assert "Назва організації" in page
    options = re.findall(r'<option value="([^"]*)"', page.split('name="partnership"')[1])
    assert {"kyiv", "odesa", "mykolaiv", "not_sure"} <= set(options)
    assert "kherson" not in options and "bih-lep2" not in options


def test_partnership_can_be_chosen_from_a_link(client):
    page = client.get("/en/apply?partnership=odesa").get_data(as_text=True)
    assert '<option selected value="odesa">' in page


def test_valid_application_is_stored_routed_and_confirmed(app, client, apply, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"], language="uk")
    make_user("odesa@example.org", partnerships=["odesa"])
    response = apply(lang="uk")
    assert response.status_code == 303
    status_url = response.headers["Location"]
    assert re.fullmatch(r"/uk/apply/status/[A-Za-z0-9_-]{43}", status_url)

    application = stored(app)
    assert application.reference == f"LEP-{application.created_at:%Y}-{application.id:06d}"
    assert application.website == "https://example.org"
    assert application.consent_listing is True
    with app.app_context():
        recipients = db.session.scalars(select(ApplicationRecipient)).all()
        assert [r.user.email for r in recipients] == ["kyiv@example.org"]

    page = client.get(status_url).get_data(as_text=True)
    assert application.reference in page
    assert "Отримано" in page  # state "Received" in Ukrainian
    assert "Kyiv Training Centre" in page

    mails = outbox(app)
    assert [m["To"] for m in mails] == ["olena@example.org", "kyiv@example.org"]
    applicant_mail, coordinator_mail = mails
    assert application.reference in applicant_mail["Subject"]
    assert f"http://lep.test{status_url}" in applicant_mail.get_content()
    assert f"/admin/applications/{application.id}" in coordinator_mail.get_content()


def test_not_sure_or_no_coordinator_goes_to_the_admins(app, apply, make_user):
    make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    apply(partnership="not_sure", organisation_name="First")
    apply(partnership="odesa", organisation_name="Second")
    with app.app_context():
        routed = db.session.execute(
            select(Application.organisation_name, ApplicationRecipient.reason)
            .join(ApplicationRecipient)
            .order_by(Application.id)
        ).all()
    assert [tuple(row) for row in routed] == [("First", "fallback"), ("Second", "fallback")]


def test_no_one_to_route_to_still_stores_the_application(app, apply):
    assert apply().status_code == 303
    assert count(app, Application) == 1


def test_errors_are_shown_on_their_fields_and_input_is_kept(app, client):
    data = valid_application(organisation_name="", email="not-an-address", consent_processing=None)
    data["csrf_token"] = csrf_token(client, "/bs/apply")
    response = client.post("/bs/apply", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="organisation_name" aria-invalid="true"' in page or (
        'aria-invalid="true"' in page and 'aria-describedby="organisation_name-error"' in page
    )
    assert 'id="email-error"' in page
    assert 'value="not-an-address"' in page
    assert "Training places for 20 people." in page  # typed text survives
    assert 'href="#consent_processing"' in page  # the summary links to the field
    assert count(app, Application) == 0


def test_too_long_text_is_refused_with_a_plural_message(app, client):
    data = valid_application(motivation="x" * 2001)
    data["csrf_token"] = csrf_token(client, "/uk/apply")
    page = client.post("/uk/apply", data=data).get_data(as_text=True)
    assert "2000 символів" in page
    assert count(app, Application) == 0


def test_unknown_partnership_is_refused(app, apply):
    assert apply(partnership="kherson").status_code == 400
    assert apply(partnership="../etc").status_code == 400
    assert count(app, Application) == 0


def test_honeypot_stores_nothing_and_sends_nothing(app, apply, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    response = apply(fax_number="+1 555 0100")
    assert response.status_code == 200
    assert count(app, Application) == 0
    assert count(app, OutgoingMail) == 0


def test_missing_csrf_token_is_a_translated_400_and_stores_nothing(app, client):
    response = client.post("/uk/apply", data=valid_application())
    assert response.status_code == 400
    assert 'lang="uk"' in response.get_data(as_text=True)
    assert count(app, Application) == 0


def test_oversized_body_gets_the_friendly_413(app, client):
    response = client.post("/en/apply", data={"motivation": "x" * 70_000})
    assert response.status_code == 413
    assert "<h1>" in response.get_data(as_text=True)


def test_status_page_needs_the_exact_token(app, client, apply):
    apply()
    token = stored(app).token
    assert client.get(f"/en/apply/status/{token}").status_code == 200
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:10], "1", "..%2f"):
        assert client.get(f"/en/apply/status/{wrong}").status_code == 404


def test_status_page_is_private(app, client, apply):
    apply()
    response = client.get(f"/en/apply/status/{stored(app).token}")
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_applicant_can_withdraw(app, client, apply, make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    apply()
    url = f"/en/apply/status/{stored(app).token}"
    token = csrf_token(client, url)
    # Without the confirmation box nothing changes.
    assert client.post(url + "/withdraw", data={"csrf_token": token}).status_code == 400
    assert stored(app).state == "submitted"
    response = client.post(url + "/withdraw", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 303
    assert stored(app).state == "withdrawn"
    page = client.get(url).get_data(as_text=True)
    assert "Withdrawn" in page and 'action="' + url + '/withdraw"' not in page
    assert outbox(app)[-1]["To"] == "kyiv@example.org"
    assert "withdrawn" in outbox(app)[-1]["Subject"]


def test_form_is_rate_limited_per_address_with_a_translated_page(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, APPLY_RATE_LIMIT="2 per minute")
    client = app.test_client()
    statuses = []
    for number in range(3):
        data = {
            "csrf_token": csrf_token(client, "/uk/apply"),
            **valid_application(organisation_name=f"Org {number}"),
        }
        response = client.post("/uk/apply", data=data)
        statuses.append(response.status_code)
    assert statuses == [303, 303, 429]
    assert 'lang="uk"' in response.get_data(as_text=True)
    assert count(app, Application) == 2
    assert client.get("/uk/apply").status_code == 200  # reading the form is never limited
