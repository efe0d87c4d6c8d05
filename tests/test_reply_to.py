"""Reply-To: a reply to any mail an applicant gets reaches people (``MAIL_REPLY_TO``)."""

from conftest import csrf_token, outbox, valid_application
from sqlalchemy import select

from lepsite.admin.operations import act
from lepsite.extensions import db
from lepsite.mail import send_pending
from lepsite.mail.outbox import as_email
from lepsite.models import Application, OutgoingMail, User, utcnow

REPLY_TO = "team@lep.example.org"


def applicant_mail(app_factory, **config) -> tuple[dict, list]:
    """Make every kind of mail an applicant gets; return them by kind, and the staff's."""
    app = app_factory(**config)
    client = app.test_client()
    with app.app_context():
        from lepsite.accounts import new_user

        new_user("kyiv@example.org", "Kyiv", "coordinator", "a long enough password", ["kyiv"])
        db.session.commit()
    for name in ("Approved Org", "Rejected Org", "Asked Org"):
        data = {
            "csrf_token": csrf_token(client, "/en/apply"),
            **valid_application(organisation_name=name, language="en"),
        }
        assert client.post("/en/apply", data=data).status_code == 303
    data = {"csrf_token": csrf_token(client, "/en/apply/status"), "email": "olena@example.org"}
    assert client.post("/en/apply/status", data=data).status_code == 303
    with app.test_request_context():
        coordinator = db.session.scalars(select(User)).one()
        for name, action in (
            ("Approved Org", "approve"),
            ("Rejected Org", "reject"),
            ("Asked Org", "request_info"),
        ):
            application = db.session.scalars(
                select(Application).where(Application.organisation_name == name)
            ).one()
            act(application, coordinator, action, "A note for the applicant.")
        send_pending()
    mails = outbox(app)
    to_applicant = [message for message in mails if message["To"] == "olena@example.org"]
    kinds = {
        "received": [m for m in to_applicant if "has been received" in m["Subject"]],
        "status links": [m for m in to_applicant if "links to your applications" in m["Subject"]],
        "approved": [m for m in to_applicant if "approved" in m["Subject"]],
        "rejected": [m for m in to_applicant if m["Subject"].endswith(": decision")],
        "question": [m for m in to_applicant if "question" in m["Subject"]],
    }
    staff = [message for message in mails if message["To"] != "olena@example.org"]
    return kinds, staff


def test_every_mail_to_an_applicant_carries_the_reply_to_address(app_factory):
    kinds, staff = applicant_mail(app_factory, MAIL_REPLY_TO=REPLY_TO)
    for kind, messages in kinds.items():
        assert messages, f"no {kind} mail was made"
        for message in messages:
            assert message["Reply-To"] == REPLY_TO, kind
            assert message["From"] == "lep@localhost"  # the sender stays the site's
    # Staff replies reach the same people.
    assert staff and all(message["Reply-To"] == REPLY_TO for message in staff)


def test_without_the_setting_no_reply_to_header(app_factory):
    kinds, staff = applicant_mail(app_factory)
    assert app_factory().config["MAIL_REPLY_TO"] is None  # the default
    messages = [message for found in kinds.values() for message in found] + staff
    assert len(messages) >= 8
    assert all(message["Reply-To"] is None for message in messages)


def test_the_address_comes_from_the_environment(app_factory, monkeypatch):
    monkeypatch.setenv("LEPSITE_MAIL_REPLY_TO", "LEP team <team@lep.example.org>")
    app = app_factory()
    with app.app_context():
        message = OutgoingMail(
            id=7, recipient="olena@example.org", subject="S", body="B\n", created_at=utcnow()
        )
        assert as_email(message)["Reply-To"] == "LEP team <team@lep.example.org>"
