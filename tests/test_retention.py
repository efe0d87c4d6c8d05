"""Retention: rejected and withdrawn applications are anonymised once RETENTION_DAYS are over."""

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import csrf_token, outbox, sign_in
from sqlalchemy import select, update

from lepsite.admin.operations import act
from lepsite.extensions import db
from lepsite.mail import send_pending
from lepsite.membership.operations import answer_question, withdraw_application
from lepsite.membership.retention import anonymise_expired
from lepsite.models import Application, ApplicationEvent, OutgoingMail, User, utcnow

# name: (how it ends, days since the closing step)
CASES = {
    "old-rejected": ("reject", 400),
    "old-withdrawn": ("withdraw", 366),
    "recent-rejected": ("reject", 10),
    "old-approved": ("approve", 400),
    "old-submitted": (None, 400),
}
EXPIRED = {"old-rejected", "old-withdrawn"}
KEPT = set(CASES) - EXPIRED


@pytest.fixture
def cases(app, apply, make_user):
    """One application per case, closed (or not) that many days ago; returns name -> status URL.

    The rejected one went through a question and the applicant's answer, so its history holds
    text the applicant wrote.
    """
    admin_id = make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    links = {}
    for name in CASES:
        response = apply(
            organisation_name=f"Org {name}",
            contact_name=f"Person {name}",
            email=f"{name}@example.org",
            phone="+380 44 123 45 67",
            contribution=f"Contribution of {name}",
            motivation=f"Motivation of {name}",
        )
        links[name] = response.headers["Location"]
    # The workflow builds status and admin links, which need a request.
    with app.test_request_context():
        admin = db.session.get(User, admin_id)
        for name, (ending, days) in CASES.items():
            application = by_name(name)
            if name == "old-rejected":
                act(application, admin, "request_info", "Who is Person old-rejected?")
                answer_question(application, "I am Person old-rejected, call me on my mobile.")
            if ending == "withdraw":
                withdraw_application(application)
            elif ending:
                act(application, admin, ending, f"Decision about Person {name}.")
            then = utcnow() - timedelta(days=days)
            db.session.execute(
                update(ApplicationEvent)
                .where(ApplicationEvent.application_id == application.id)
                .values(created_at=then)
            )
            # The decision's time as the workflow recorded it then (retention counts from it).
            db.session.execute(
                update(Application)
                .where(Application.id == application.id)
                .values(created_at=then, updated_at=then, decided_at=then if ending else None)
            )
        db.session.commit()
        send_pending()
    return links


def by_name(name: str) -> Application:
    return db.session.scalars(
        select(Application).where(Application.organisation_name == f"Org {name}")
    ).one()


def case_rows() -> dict[str, Application]:
    """Every application by its case name (they were made in the order of CASES)."""
    rows = db.session.scalars(select(Application).order_by(Application.id)).all()
    return dict(zip(CASES, rows, strict=True))


def snapshot(app) -> dict[str, Application]:
    """Every application with its history, detached, by case name."""
    with app.app_context():
        rows = case_rows()
        for row in rows.values():
            for event in row.events:
                db.session.expunge(event)
            db.session.expunge(row)
    return rows


def mail_text(app) -> str:
    """Everything the mail queue holds, for searching."""
    with app.app_context():
        return "\n".join(
            f"{mail.recipient}\n{mail.subject}\n{mail.body}"
            for mail in db.session.scalars(select(OutgoingMail))
        )


def test_old_rejected_and_withdrawn_applications_are_anonymised(app, cases):
    before = snapshot(app)
    with app.app_context():
        assert anonymise_expired() == 2
    after = snapshot(app)

    for name in EXPIRED:
        old, new = before[name], after[name]
        assert new.anonymised_at is not None
        for field in ("organisation_name", "website", "contact_name", "contact_role", "email"):
            assert getattr(new, field) == "", field
        assert (new.phone, new.contribution, new.motivation) == ("", "", "")
        assert all(event.note == "" for event in new.events)
        # What statistics and the record of decisions need stays.
        for field in ("reference", "state", "partnership_key", "organisation_type", "language"):
            assert getattr(new, field) == getattr(old, field), field
        assert new.created_at == old.created_at
        assert [(e.action, e.state, e.created_at) for e in new.events] == [
            (e.action, e.state, e.created_at) for e in old.events
        ]
        assert new.token != old.token

    queued = mail_text(app)
    written = "\n".join(str(message) for message in outbox(app))
    for name in EXPIRED:
        assert name not in queued
        assert name not in written
        assert before[name].reference not in queued
    for name in KEPT:
        assert f"{name}@example.org" in queued
        assert f"Org {name}" in written


def test_recent_approved_and_open_applications_are_untouched(app, cases):
    before = snapshot(app)
    with app.app_context():
        anonymise_expired()
    after = snapshot(app)
    for name in KEPT:
        old, new = before[name], after[name]
        assert new.anonymised_at is None
        assert (new.email, new.contact_name, new.token) == (old.email, old.contact_name, old.token)
        assert [e.note for e in new.events] == [e.note for e in old.events]


def test_anonymising_twice_changes_nothing_more(app, cases):
    with app.app_context():
        assert anonymise_expired() == 2
    first = snapshot(app)
    with app.app_context():
        assert anonymise_expired() == 0
    second = snapshot(app)
    for name in EXPIRED:
        assert second[name].anonymised_at == first[name].anonymised_at
        assert second[name].token == first[name].token


def test_retention_days_come_from_the_setting_or_the_argument(app, cases):
    app.config["RETENTION_DAYS"] = 500
    with app.app_context():
        assert anonymise_expired() == 0
        assert anonymise_expired(days=5) == 3


def test_status_page_is_gone_once_anonymised(app, client, cases):
    assert client.get(cases["old-rejected"]).status_code == 200
    with app.app_context():
        anonymise_expired()
    assert client.get(cases["old-rejected"]).status_code == 404
    assert client.get(cases["old-withdrawn"]).status_code == 404
    assert client.get(cases["recent-rejected"]).status_code == 200


def test_command_dry_run_counts_and_changes_nothing(app, runner, cases):
    before = snapshot(app)
    result = runner.invoke(args=["applications", "anonymise-expired", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would anonymise 2 application(s)" in result.output
    after = snapshot(app)
    for name in CASES:
        assert after[name].anonymised_at is None
        assert after[name].email == before[name].email

    result = runner.invoke(args=["applications", "anonymise-expired", "--dry-run", "--days", "5"])
    assert "would anonymise 3 application(s)" in result.output


def test_command_anonymises_and_reports(app, runner, cases):
    result = runner.invoke(args=["applications", "anonymise-expired"])
    assert result.exit_code == 0, result.output
    assert "anonymised 2 application(s)" in result.output
    result = runner.invoke(args=["applications", "anonymise-expired", "--days", "5"])
    assert "anonymised 1 application(s)" in result.output
    result = runner.invoke(args=["applications", "anonymise-expired"])
    assert "anonymised 0 application(s)" in result.output


def test_outbox_copies_of_its_mail_are_removed(app, cases):
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    count = len(list(folder.glob("*.eml")))
    with app.app_context():
        gone = db.session.scalar(
            select(OutgoingMail.id).where(OutgoingMail.recipient == "old-withdrawn@example.org")
        )
        anonymise_expired()
    assert not (folder / f"{gone:08d}.eml").exists()
    assert 0 < len(list(folder.glob("*.eml"))) < count


def test_an_admin_can_still_open_an_anonymised_application(app, client, cases):
    """Out of the lists, but the record of the decision opens by its address, for admins."""
    with app.app_context():
        anonymise_expired()
        item = case_rows()["old-rejected"]
        item_id, reference = item.id, item.reference
    assert sign_in(client, "admin@example.org").status_code == 303
    assert reference not in client.get("/admin/applications/").get_data(as_text=True)
    response = client.get(f"/admin/applications/{item_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<h1>{reference}</h1>" in page
    assert 'href="mailto:"' not in page
    assert "Personal data removed on" in page
    assert "None" not in page
    assert "Person old-rejected" not in page
    assert "/note" not in page  # no actions: a note could bring personal data back


def test_no_one_can_write_to_an_anonymised_application(app, client, cases):
    with app.app_context():
        anonymise_expired()
        item_id = case_rows()["old-rejected"].id
        events = len(db.session.get(Application, item_id).events)
    assert sign_in(client, "admin@example.org").status_code == 303
    token = csrf_token(client, "/admin/")
    client.post(
        f"/admin/applications/{item_id}/note",
        data={"csrf_token": token, "note": "Called Person old-rejected again"},
    )
    with app.app_context():
        assert len(db.session.get(Application, item_id).events) == events


def test_coordinators_cannot_open_an_anonymised_application(app, client, cases):
    with app.app_context():
        anonymise_expired()
        item_id = case_rows()["old-rejected"].id
    assert sign_in(client, "kyiv@example.org").status_code == 303
    assert client.get(f"/admin/applications/{item_id}").status_code == 404
