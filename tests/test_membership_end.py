"""Memberships that end: by the coordinators or by the organisation, off the public list at once,
the other side told in its language, and anonymised a retention period after the end."""

import csv
import html
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from conftest import csrf_token, outbox, sign_in
from flask_babel import force_locale, format_date
from sqlalchemy import Date, DateTime, column, func, inspect, select, table, text, update
from sqlalchemy.orm.attributes import set_committed_value

from lepsite.admin import queries as admin_queries
from lepsite.admin.operations import act
from lepsite.audit import AuditEvent
from lepsite.extensions import db
from lepsite.membership import ending
from lepsite.membership import queries as membership_queries
from lepsite.membership.operations import withdraw_application
from lepsite.membership.retention import anonymise_expired
from lepsite.models import Application, ApplicationEvent, OutgoingMail, User
from lepsite.review_clock import reminders

# Noon UTC, after the test's users are made: the same calendar day in the site's time zones.
APPROVED_AT = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)
ENDED_AT = APPROVED_AT + timedelta(days=100)
REASON = "The organisation closed its office in Kyiv."
ENDING_AUDIT = ("application.end", "application.left")


@pytest.fixture
def people(make_user):
    """Two Kyiv coordinators (BHS and English), an Odesa one (Ukrainian), an admin."""
    return {
        "oksana": make_user("oksana@example.org", partnerships=["kyiv"], language="bs"),
        "taras": make_user("taras@example.org", partnerships=["kyiv"], language="en"),
        "iryna": make_user("odesa@example.org", partnerships=["odesa"], language="uk"),
        "admin": make_user("admin@example.org", role="admin", language="en"),
    }


@pytest.fixture
def member(app, client, apply, people):
    """Return a function: an application to Kyiv, in ``language``, approved by the admin;
    gives back (id, status URL)."""

    def make(language="bs", name="Kyiv Bakery Ltd", email="bakery@example.org", **fields):
        response = apply(organisation_name=name, email=email, language=language, **fields)
        status = response.headers["Location"]
        with app.app_context():
            application_id = db.session.scalar(
                select(Application.id).where(Application.organisation_name == name)
            )
        admin = app.test_client()
        sign_in(admin, "admin@example.org")
        page = f"/admin/applications/{application_id}"
        data = {"csrf_token": csrf_token(admin, page), "note": ""}
        assert admin.post(f"{page}/approve", data=data).status_code == 303
        return application_id, status

    return make


def row(app, application_id: int) -> Application:
    with app.app_context():
        application = db.session.get(Application, application_id)
        db.session.expunge(application)
        return application


def steps(app, application_id: int, action: str) -> list[ApplicationEvent]:
    with app.app_context():
        found = db.session.scalars(
            select(ApplicationEvent).where(
                ApplicationEvent.application_id == application_id, ApplicationEvent.action == action
            )
        ).all()
        for event in found:
            db.session.expunge(event)
        return list(found)


def audit_entries(app, application_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_email)
            .where(AuditEvent.subject == f"application:{application_id}")
            .order_by(AuditEvent.id)
        )
        return [tuple(entry) for entry in rows]


def mail_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutgoingMail))


def utc(moment: datetime | None) -> datetime | None:
    """SQLite gives stored UTC times back without their zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def end_by_staff(client, application_id: int, reason: str = REASON):
    page = f"/admin/applications/{application_id}"
    data = {"csrf_token": csrf_token(client, "/admin/"), "reason": reason}
    return client.post(f"{page}/end", data=data)


def leave(client, status: str, **fields):
    data = {"csrf_token": csrf_token(client, status), "confirm": "y", **fields}
    return client.post(f"{status}/leave", data=data)


def listed_on_kyiv_page(client, name: str, etag: str | None = None):
    headers = {"If-None-Match": etag} if etag else {}
    response = client.get("/en/partnerships/kyiv", headers=headers)
    return response, name in text_of(response)


def long_date(app, lang: str, moment: datetime) -> str:
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return format_date(moment, "long")


# ---------------------------------------------------------------- the life of a membership


def test_the_life_of_a_membership_from_approval_to_anonymisation(app, client, member, runner):
    """Approved, ended 100 days later, anonymised a retention period after the end (not after
    the approval): the day before it is kept, the day after it is gone."""
    days = app.config["RETENTION_DAYS"]
    with time_machine.travel(APPROVED_AT, tick=False):
        application_id, status = member(consent_listing="y")
        assert utc(row(app, application_id).decided_at) == APPROVED_AT
        response, listed = listed_on_kyiv_page(client, "Kyiv Bakery Ltd")
        assert listed

    with time_machine.travel(ENDED_AT, tick=False):
        oksana = signed_in(app, "oksana@example.org")
        assert end_by_staff(oksana, application_id).status_code == 303
        ended = row(app, application_id)
        assert ended.state == "ended"
        assert (utc(ended.ended_at), utc(ended.decided_at)) == (ENDED_AT, APPROVED_AT)
        assert not listed_on_kyiv_page(client, "Kyiv Bakery Ltd")[1]
        page = text_of(client.get(status))
        assert "Membership ended" in page and long_date(app, "en", ENDED_AT) in page

    # Long after the approval, but within the retention period after the end: kept.
    with time_machine.travel(ENDED_AT + timedelta(days=days - 1), tick=False):
        assert (
            "would anonymise 0 application(s)"
            in runner.invoke(args=["applications", "anonymise-expired", "--dry-run"]).output
        )
        with app.app_context():
            assert anonymise_expired() == 0
        assert row(app, application_id).anonymised_at is None
        assert client.get(status).status_code == 200

    # One day after the period: anonymised, by the daily command.
    after = ENDED_AT + timedelta(days=days + 1)
    with time_machine.travel(after, tick=False):
        result = runner.invoke(args=["applications", "anonymise-expired"])
        assert result.exit_code == 0 and "anonymised 1 application(s)" in result.output
        gone = row(app, application_id)
        assert utc(gone.anonymised_at) == after
        assert (gone.organisation_name, gone.email, gone.contact_name) == ("", "", "")
        assert gone.state == "ended" and utc(gone.ended_at) == ENDED_AT
        assert all(event.note == "" for event in steps(app, application_id, "ended"))
        assert client.get(status).status_code == 404
        with app.app_context():
            assert not db.session.scalars(
                select(OutgoingMail).where(OutgoingMail.application_id == application_id)
            ).all()


def test_an_ended_membership_without_an_end_date_counts_from_its_end_step(app, member):
    """Rows ended by hand (no ``ended_at``) count from the history's end step, not the approval."""
    with time_machine.travel(APPROVED_AT, tick=False):
        application_id, status = member()
    with time_machine.travel(ENDED_AT, tick=False), app.test_request_context():
        application = db.session.get(Application, application_id)
        ending.leave(application)
        db.session.execute(
            update(Application).where(Application.id == application_id).values(ended_at=None)
        )
        db.session.commit()
    days = app.config["RETENTION_DAYS"]
    with time_machine.travel(ENDED_AT + timedelta(days=days - 1)), app.app_context():
        assert anonymise_expired() == 0
    with time_machine.travel(ENDED_AT + timedelta(days=days + 1)), app.app_context():
        assert anonymise_expired() == 1


def test_every_decision_is_dated_when_it_is_made(app, apply, people):
    """Approval (above), rejection, withdrawal and the lapse of a question set ``decided_at``;
    other steps do not."""
    names = ("Rejected Org", "Withdrawn Org", "Lapsed Org", "Reviewed Org")
    with time_machine.travel(APPROVED_AT, tick=False):
        for name in names:
            apply(organisation_name=name, email=f"{name.split()[0].lower()}@example.org")
        with app.test_request_context():
            found = {
                application.organisation_name: application
                for application in db.session.scalars(select(Application))
            }
            admin = db.session.get(User, people["admin"])
            act(found["Rejected Org"], admin, "reject", "Not in Kyiv.")
            withdraw_application(found["Withdrawn Org"])
            act(found["Lapsed Org"], admin, "request_info", "How many places?")
            act(found["Reviewed Org"], admin, "start_review", "")
            act(found["Reviewed Org"], admin, "note", "Called them.")
    lapses_at = APPROVED_AT + timedelta(days=app.config["INFO_REQUEST_LAPSE_DAYS"])
    with time_machine.travel(lapses_at, tick=False), app.app_context():
        assert reminders.run(lapses_at.date()).done["lapsed"] == 1
    with app.app_context():
        dates = dict(
            db.session.execute(select(Application.organisation_name, Application.decided_at)).all()
        )
    assert {name: utc(moment) for name, moment in dates.items()} == {
        "Rejected Org": APPROVED_AT,
        "Withdrawn Org": APPROVED_AT,
        "Lapsed Org": lapses_at,
        "Reviewed Org": None,
    }


# ---------------------------------------------------------------- ending by the coordinators


def test_a_coordinator_ends_a_membership_and_the_organisation_is_told_in_its_language(app, member):
    application_id, status = member(language="bs")
    before = len(outbox(app))
    oksana = signed_in(app, "oksana@example.org")  # writes BHS; the organisation reads BHS too
    page = text_of(oksana.get(f"/admin/applications/{application_id}"))
    assert 'id="end-reason"' in page

    response = end_by_staff(oksana, application_id)
    assert response.status_code == 303
    assert row(app, application_id).state == "ended"
    (step,) = steps(app, application_id, "ended")
    assert (step.note, step.state, step.shown_to_applicant) == (REASON, "ended", True)
    assert audit_entries(app, application_id)[-1] == ("application.end", "oksana@example.org")

    (message,) = outbox(app)[before:]
    assert message["To"] == "bakery@example.org"
    body = message.get_content()
    token = status.rsplit("/", 1)[1]
    assert REASON in body and f"http://lep.test/bs/apply/status/{token}" in body
    # In BHS: the greeting, the partnership's name and the way back to applying.
    assert "Dobar dan, Olena Test," in body and "LPZ Kijev" in body
    assert "Vaša organizacija se može ponovo prijaviti u bilo kojem trenutku:" in body

    # The organisation reads the reason on its status page; the end form is gone for staff.
    assert REASON in text_of(oksana.get(status))
    page = text_of(oksana.get(f"/admin/applications/{application_id}"))
    assert 'id="end-reason"' not in page


def test_admins_end_any_membership_and_coordinators_only_their_own(app, member):
    application_id, _status = member()
    iryna = signed_in(app, "odesa@example.org")
    before = (mail_count(app), audit_entries(app, application_id))
    assert end_by_staff(iryna, application_id).status_code == 404
    assert row(app, application_id).state == "approved"
    assert (mail_count(app), audit_entries(app, application_id)) == before

    with app.test_request_context():
        application = db.session.get(Application, application_id)
        outsider = db.session.scalar(select(User).where(User.email == "odesa@example.org"))
        with pytest.raises(ending.NotEndable):
            ending.end_membership(application, outsider, REASON)
    assert row(app, application_id).state == "approved"

    admin = signed_in(app, "admin@example.org")
    assert end_by_staff(admin, application_id).status_code == 303
    assert row(app, application_id).state == "ended"
    assert audit_entries(app, application_id)[-1] == ("application.end", "admin@example.org")


def test_a_reason_is_required(app, member):
    application_id, _status = member()
    taras = signed_in(app, "taras@example.org")
    response = end_by_staff(taras, application_id, reason="   ")
    assert response.status_code == 400
    assert "Write the reason: it is required to end a membership." in text_of(response)
    assert row(app, application_id).state == "approved"
    with app.test_request_context():
        application = db.session.get(Application, application_id)
        actor = db.session.scalar(select(User).where(User.email == "taras@example.org"))
        with pytest.raises(ending.ReasonRequired):
            ending.end_membership(application, actor, "")


def test_ending_twice_or_a_membership_never_approved_changes_nothing(app, apply, member):
    application_id, status = member()
    taras = signed_in(app, "taras@example.org")
    detail = f"/admin/applications/{application_id}"
    assert end_by_staff(taras, application_id).status_code == 303
    before = (mail_count(app), audit_entries(app, application_id))

    again = end_by_staff(taras, application_id, reason="Once more")
    assert again.status_code == 303 and again.headers["Location"] == detail
    assert "This membership has ended already: nothing was changed." in text_of(taras.get(detail))
    assert len(steps(app, application_id, "ended")) == 1
    assert (mail_count(app), audit_entries(app, application_id)) == before

    # The organisation's own button, sent after the coordinators ended it (a stale page).
    assert leave(taras, status).status_code == 303
    assert "This membership has ended already" in text_of(taras.get(status))
    assert steps(app, application_id, "left") == []

    # Never approved: nothing to end, from either side.
    waiting = apply(organisation_name="Waiting Org", email="waiting@example.org")
    waiting_status = waiting.headers["Location"]
    with app.app_context():
        waiting_id = db.session.scalar(
            select(Application.id).where(Application.organisation_name == "Waiting Org")
        )
    before = (mail_count(app), audit_entries(app, waiting_id))
    end_by_staff(taras, waiting_id)
    message = "Only an approved membership can be ended: nothing was changed."
    assert message in text_of(taras.get(f"/admin/applications/{waiting_id}"))
    leave(taras, waiting_status)
    assert message in text_of(taras.get(waiting_status))
    assert row(app, waiting_id).state == "submitted"
    assert (mail_count(app), audit_entries(app, waiting_id)) == before


def test_a_forged_post_without_the_csrf_token_changes_nothing(app, member):
    application_id, status = member()
    taras = signed_in(app, "taras@example.org")
    url = f"/admin/applications/{application_id}/end"
    assert taras.post(url, data={"reason": REASON}).status_code == 400
    assert app.test_client().post(f"{status}/leave", data={"confirm": "y"}).status_code == 400
    assert row(app, application_id).state == "approved"


# ---------------------------------------------------------------- the organisation leaves


def test_the_organisation_leaves_and_each_coordinator_is_told_in_their_language(app, member):
    application_id, status = member(language="uk")
    visitor = app.test_client()
    page = text_of(visitor.get(status))
    assert 'action="' + status + '/leave"' in page and 'id="leave-confirm"' in page
    before = len(outbox(app))

    # Without the tick: asked again, nothing changed.
    data = {"csrf_token": csrf_token(visitor, status), "reason": "Too far away."}
    refused = visitor.post(f"{status}/leave", data=data)
    assert refused.status_code == 400
    assert "Tick the box to confirm that you want to end the membership." in text_of(refused)
    assert row(app, application_id).state == "approved"

    response = leave(visitor, status, reason="Too far away.")
    assert response.status_code == 303 and response.headers["Location"] == status
    ended = row(app, application_id)
    assert ended.state == "ended" and ended.ended_at is not None
    (step,) = steps(app, application_id, "left")
    assert (step.note, step.actor_id, step.state) == ("Too far away.", None, "ended")
    assert audit_entries(app, application_id)[-1] == ("application.left", "")
    page = text_of(visitor.get(status))
    assert "Your organisation's membership has ended." in page
    assert 'id="leave-confirm"' not in page

    messages = {message["To"]: message for message in outbox(app)[before:]}
    assert set(messages) == {"oksana@example.org", "taras@example.org"}  # not Odesa's
    oksana, taras = messages["oksana@example.org"], messages["taras@example.org"]
    assert "Kyiv Bakery Ltd" in taras["Subject"] and "Too far away." in taras.get_content()
    assert "Hello Taras," in taras.get_content()
    assert "Dobar dan, Oksana," in oksana.get_content()
    assert "LPZ Kijev" in oksana.get_content()
    assert f"/admin/applications/{application_id}" in oksana.get_content()


def test_with_no_one_left_to_tell_the_admins_are_told(app, member):
    application_id, status = member()
    with app.app_context():
        db.session.execute(update(User).where(User.role == "coordinator").values(active=False))
        db.session.commit()
    before = len(outbox(app))
    assert leave(app.test_client(), status).status_code == 303
    assert [message["To"] for message in outbox(app)[before:]] == ["admin@example.org"]


def test_the_public_list_drops_an_ended_membership_at_once(app, client, member):
    application_id, status = member(consent_listing="y")
    first, listed = listed_on_kyiv_page(client, "Kyiv Bakery Ltd")
    assert listed
    # Browsers and shared caches must ask again each time, or they would show it a while.
    assert "no-cache" in first.headers["Cache-Control"]
    assert "max-age=60" not in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    assert client.get("/en/partnerships/kyiv", headers={"If-None-Match": etag}).status_code == 304

    assert leave(app.test_client(), status).status_code == 303
    response, listed = listed_on_kyiv_page(client, "Kyiv Bakery Ltd", etag)
    assert response.status_code == 200 and not listed


def test_two_ends_at_once_are_recorded_once(app, member, monkeypatch):
    """The organisation and a coordinator both read it approved before either ends it."""
    application_id, status = member()
    visitor, taras = app.test_client(), signed_in(app, "taras@example.org")
    leave_data = {"csrf_token": csrf_token(visitor, status), "confirm": "y"}
    end_data = {"csrf_token": csrf_token(taras, "/admin/"), "reason": REASON}
    barrier = threading.Barrier(2, timeout=10)
    for module, name in (
        (membership_queries, "get_application_by_token_or_404"),
        (admin_queries, "get_application_or_404"),
    ):
        real = getattr(module, name)

        def wrapped(*args, real=real, **kwargs):
            found = real(*args, **kwargs)
            barrier.wait()
            return found

        monkeypatch.setattr(module, name, wrapped)
    results = [None, None]
    posts = (
        lambda: visitor.post(f"{status}/leave", data=leave_data),
        lambda: taras.post(f"/admin/applications/{application_id}/end", data=end_data),
    )

    def run(number):
        results[number] = posts[number]()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [response.status_code for response in results] == [303, 303]
    monkeypatch.undo()
    ends = steps(app, application_id, "ended") + steps(app, application_id, "left")
    assert len(ends) == 1
    audited = [action for action, _actor in audit_entries(app, application_id)]
    assert len([action for action in audited if action in ENDING_AUDIT]) == 1


def test_a_stale_copy_is_claimed_once(app, member):
    """The conditional update decides, whatever the caller's copy of the row says."""
    application_id, _status = member()
    with app.test_request_context():
        stale = db.session.get(Application, application_id)
        db.session.execute(
            update(Application).where(Application.id == application_id).values(state="ended")
        )
        db.session.commit()
        set_committed_value(stale, "state", "approved")  # as read before the other request
        with pytest.raises(ending.NotEndable):
            ending.leave(stale)
    assert steps(app, application_id, "left") == []


# ---------------------------------------------------------------- pages, labels and export


@pytest.mark.parametrize(
    ("lang", "label"),
    [("en", "Membership ended"), ("bs", "Članstvo okončano"), ("uk", "Членство припинено")],
)
def test_the_status_page_shows_the_end_and_its_date_in_each_language(app, member, lang, label):
    application_id, status = member(language=lang)
    assert leave(app.test_client(), status).status_code == 303
    page = text_of(app.test_client().get(status.replace("/en/", f"/{lang}/")))
    assert label in page
    assert long_date(app, lang, row(app, application_id).ended_at) in page


def test_the_admin_lists_filter_and_count_ended_memberships(app, member):
    application_id, status = member()
    leave(app.test_client(), status)
    admin = signed_in(app, "admin@example.org")
    listing = text_of(admin.get("/admin/applications/?state=ended"))
    assert "Kyiv Bakery Ltd" in listing and '<option value="ended" selected>' in listing
    assert "Kyiv Bakery Ltd" not in text_of(admin.get("/admin/applications/?state=approved"))
    assert "Membership ended" in text_of(admin.get("/admin/"))
    audit = text_of(admin.get("/admin/audit"))
    assert "Membership ended by the organisation" in audit


def test_the_export_carries_the_decision_and_end_dates(app, apply, member):
    with time_machine.travel(APPROVED_AT, tick=False):
        application_id, status = member()
        apply(organisation_name="Open Org", email="open@example.org")
    with time_machine.travel(ENDED_AT, tick=False):
        leave(app.test_client(), status)
        admin = signed_in(app, "admin@example.org")
        body = admin.get("/admin/applications/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    by_name = {entry["organisation_name"]: entry for entry in rows}
    ended = by_name["Kyiv Bakery Ltd"]
    assert ended["state"] == "ended"
    assert ended["decided_at"].startswith(APPROVED_AT.isoformat()[:19])
    assert ended["ended_at"].startswith(ENDED_AT.isoformat()[:19])
    assert by_name["Open Org"]["decided_at"] == by_name["Open Org"]["ended_at"] == ""


# ---------------------------------------------------------------- the migration


def test_the_migration_dates_past_decisions_and_its_downgrade_closes_ended_ones(app_factory):
    """``decided_at`` comes from each application's deciding step; going back, an ended
    membership becomes a withdrawn application (never approved again, so never listed)."""
    app = app_factory()
    runner = app.test_cli_runner()
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    result = runner.invoke(args=["db", "upgrade", "8d3a9c330003"])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    received = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    decided = {
        "approved": ("approve", received + timedelta(days=3)),
        "rejected": ("reject", received + timedelta(days=4)),
        "withdrawn": ("withdrawn", received + timedelta(days=5)),
        "lapsed": ("lapsed", received + timedelta(days=40)),
        "in_review": ("start_review", received + timedelta(days=1)),
    }
    applications = table("applications", *map(typed, OLD_APPLICATION_COLUMNS))
    events = table(
        "application_events",
        *map(typed, ("application_id", "created_at", "action", "state", "note")),
        column("shown_to_applicant"),
    )
    with app.app_context(), db.engine.begin() as connection:
        for number, (state, (action, moment)) in enumerate(decided.items(), 1):
            connection.execute(applications.insert().values(old_row(number, state, received)))
            for step, when in (("submitted", received), (action, moment)):
                connection.execute(
                    events.insert().values(
                        application_id=number, created_at=when, action=step,
                        state=state, note="", shown_to_applicant=False,
                    )
                )  # fmt: skip
        # A note long after the decision: the decision's date is still the deciding step's.
        connection.execute(
            events.insert().values(
                application_id=1, created_at=received + timedelta(days=90), action="note",
                state="approved", note="", shown_to_applicant=False,
            )
        )  # fmt: skip
    result = runner.invoke(args=["db", "upgrade", "9e4b0d440004"])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    with app.app_context():
        found = dict(db.session.execute(select(Application.state, Application.decided_at)).all())
        assert {state: utc(moment) for state, moment in found.items()} == {
            "approved": decided["approved"][1],
            "rejected": decided["rejected"][1],
            "withdrawn": decided["withdrawn"][1],
            "lapsed": decided["lapsed"][1],
            "in_review": None,
        }
        db.session.remove()
    # Through the table, not the ORM: the models already know later revisions' tables.
    ended_at = received + timedelta(days=200)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            update(table("applications", column("state"), column("ended_at", DateTime(True))))
            .where(column("state") == "approved")
            .values(state="ended", ended_at=ended_at)
        )

    result = runner.invoke(args=["db", "downgrade", "8d3a9c330003"])
    assert result.exit_code == 0, (result.output, repr(result.exception))
    with app.app_context(), db.engine.connect() as connection:
        state, updated_at = connection.execute(
            text("SELECT state, updated_at FROM applications WHERE id = 1")
        ).one()
        assert state == "withdrawn"
        assert str(updated_at).startswith(ended_at.strftime("%Y-%m-%d %H:%M:%S"))
        columns = {info["name"] for info in inspect(connection).get_columns("applications")}
        assert "decided_at" not in columns and "ended_at" not in columns
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


# What ``applications`` held at revision 8d3a9c330003, before this columns.
OLD_APPLICATION_COLUMNS = (
    "id", "reference", "token", "submission_key", "state", "partnership_key",
    "organisation_name", "organisation_type", "municipality", "website", "contact_name",
    "contact_role", "email", "phone", "language", "contribution", "motivation",
    "consent_processing", "consent_listing", "created_at", "updated_at", "due_on",
)  # fmt: skip


def typed(name: str):
    """A column of the old tables, typed where the value needs converting."""
    if name.endswith("_at"):
        return column(name, DateTime(True))
    return column(name, Date()) if name == "due_on" else column(name)


def old_row(number: int, state: str, received: datetime) -> dict:
    """An application as the schema before this issue stored it."""
    return {
        "id": number,
        "reference": f"LEP-2026-{number:06d}",
        "token": f"token-{number}",
        "submission_key": None,
        "state": state,
        "partnership_key": "kyiv",
        "organisation_name": f"Org {number}",
        "organisation_type": "ngo",
        "municipality": "Kyiv",
        "website": "",
        "contact_name": "Someone",
        "contact_role": "",
        "email": f"org{number}@example.org",
        "phone": "",
        "language": "en",
        "contribution": "Help.",
        "motivation": "Why not.",
        "consent_processing": True,
        "consent_listing": True,
        "created_at": received,
        # The old stand-in for the decision: the last change, here after the decision.
        "updated_at": received + timedelta(days=300),
        "due_on": (received + timedelta(days=14)).date(),
    }
