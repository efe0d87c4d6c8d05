"""The audit log: entries stored and never changed, logged as JSON, pruned, shown to admins."""

import json
import logging
from datetime import timedelta

import pytest
from conftest import sign_in
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from lepsite.audit import AuditEvent, record
from lepsite.extensions import db
from lepsite.models import User, utcnow


def entries(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def add_entry(app, action="login.failure", age_days=0, **fields) -> int:
    """Store one entry, ``age_days`` old; return its id."""
    with app.app_context():
        entry = record(action, **fields)
        entry.created_at = utcnow() - timedelta(days=age_days)
        db.session.commit()
        return entry.id


@pytest.fixture
def admin(app, client, make_user):
    """An admin, signed in on ``client``; returns the account's id."""
    user_id = make_user("admin@example.org", role="admin")
    assert sign_in(client, "admin@example.org").status_code == 303
    return user_id


# ---------------------------------------------------------------- recording


def test_an_entry_is_stored_with_its_actor_address_and_details(app, make_user):
    user_id = make_user("Boss@Example.org", role="admin")
    with app.test_request_context(
        "/admin/", environ_base={"REMOTE_ADDR": "192.0.2.7"}, headers={"User-Agent": "Test/1.0"}
    ):
        actor = db.session.get(User, user_id)
        record(
            "user.changed",
            actor=actor,
            subject="user:7",
            details={"role": {"before": "coordinator", "after": "admin"}},
        )
        db.session.commit()
    [entry] = entries(app)
    assert entry.action == "user.changed"
    assert (entry.actor_id, entry.actor_email) == (user_id, "boss@example.org")
    assert (entry.address, entry.user_agent) == ("192.0.2.7", "Test/1.0")
    assert entry.subject == "user:7"
    assert json.loads(entry.details) == {"role": {"before": "coordinator", "after": "admin"}}
    assert entry.created_at is not None


def test_an_anonymous_entry_keeps_the_address_typed_and_says_cli_outside_requests(app):
    with app.app_context():
        record("login.failure", email="  Nobody@Example.ORG ", details={"reason": "unknown"})
        db.session.commit()
    [entry] = entries(app)
    assert (entry.actor_id, entry.actor_email, entry.email) == (None, "", "nobody@example.org")
    assert entry.address == "cli"


def test_nothing_is_stored_or_logged_when_the_caller_rolls_back(app, caplog):
    caplog.set_level(logging.INFO, logger="lepsite.audit")
    with app.app_context():
        record("application.approve", subject="application:1")
        db.session.rollback()
        db.session.commit()
    assert entries(app) == []
    assert not [r for r in caplog.records if r.name == "lepsite.audit"]


def test_each_entry_is_one_json_log_line_when_it_is_stored(app, make_user, caplog):
    caplog.set_level(logging.INFO, logger="lepsite.audit")
    user_id = make_user("admin@example.org", role="admin")
    with app.app_context():
        record(
            "export.csv",
            actor=db.session.get(User, user_id),
            details={"filter": {"state": "submitted"}, "rows": 12},
        )
        assert not [r for r in caplog.records if r.name == "lepsite.audit"]  # not yet stored
        db.session.commit()
    [line] = [r for r in caplog.records if r.name == "lepsite.audit"]
    logged = json.loads(line.getMessage())
    assert logged["action"] == "export.csv"
    assert (logged["actor_id"], logged["actor_email"]) == (user_id, "admin@example.org")
    assert logged["details"] == {"filter": {"state": "submitted"}, "rows": 12}
    assert logged["address"] == "cli" and logged["time"]


# ---------------------------------------------------------------- append-only


def test_the_database_refuses_to_change_an_entry(app):
    entry_id = add_entry(app, subject="application:1")
    with app.app_context():
        for statement in (
            "UPDATE audit_events SET action = 'login.success'",
            "UPDATE audit_events SET details = '{}', actor_email = 'x@example.org'",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        entry = db.session.get(AuditEvent, entry_id)
        entry.subject = "application:2"
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
    [entry] = entries(app)
    assert (entry.action, entry.subject) == ("login.failure", "application:1")


def test_the_migration_makes_the_same_rule(app):
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    runner = app.test_cli_runner()
    for step in (["upgrade"], ["downgrade", "b8f5693c5169"], ["upgrade"]):
        result = runner.invoke(args=["db", *step])
        assert result.exit_code == 0, (step, result.output, repr(result.exception))
    add_entry(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("UPDATE audit_events SET action = 'logout'"))
        db.session.rollback()
        db.session.execute(text("DELETE FROM audit_events"))  # retention may delete
        db.session.commit()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))


def test_deleting_an_account_keeps_its_entries_with_the_email(app, make_user):
    user_id = make_user("gone@example.org")
    with app.app_context():
        record("password.changed", actor=db.session.get(User, user_id))
        db.session.commit()
        db.session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
        db.session.commit()
    [entry] = entries(app)
    assert (entry.actor_id, entry.actor_email) == (None, "gone@example.org")


# ---------------------------------------------------------------- retention


def test_prune_deletes_old_entries_and_keeps_new_ones(app, runner):
    old = add_entry(app, age_days=731)
    recent = add_entry(app, age_days=729)
    result = runner.invoke(args=["audit", "prune", "--dry-run"])
    assert result.exit_code == 0 and "would delete 1 " in result.output
    assert len(entries(app)) == 2

    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0 and "deleted 1 " in result.output
    kept = entries(app)
    assert old not in [entry.id for entry in kept]
    assert [entry.action for entry in kept] == ["login.failure", "audit.pruned"]
    assert kept[0].id == recent


def test_prune_days_option(app, runner):
    add_entry(app, age_days=10)
    add_entry(app, age_days=2)
    result = runner.invoke(args=["audit", "prune", "--days", "5"])
    assert result.exit_code == 0 and "deleted 1 " in result.output
    assert runner.invoke(args=["audit", "prune", "--days", "-1"]).exit_code != 0


# ---------------------------------------------------------------- the admin page


def test_admins_see_the_entries_newest_first(app, client, admin):
    add_entry(app, "login.failure", age_days=2, email="first@example.org")
    add_entry(app, "application.approve", age_days=1, subject="application:42")
    add_entry(app, "made.up", subject="user:7", details={"role": {"before": "a", "after": "b"}})
    response = client.get("/admin/audit")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    rows = page[page.index("<tbody>") :]
    assert rows.index("made.up") < rows.index("Application approved") < rows.index("Sign-in")
    assert 'href="/admin/applications/42"' in page
    assert 'href="/admin/users/7"' in page
    assert "role: a → b" in page
    assert "first@example.org" in page
    assert 'href="/admin/audit"' in client.get("/admin/").get_data(as_text=True)


def test_the_filters(app, client, admin):
    add_entry(app, "login.failure", age_days=10, email="old@example.org")
    add_entry(app, "login.failure", email="new@example.org")
    add_entry(app, "logout", email="other@example.org")
    today = utcnow().date()

    def shown(query: str) -> set[str]:
        page = client.get("/admin/audit?" + query).get_data(as_text=True)
        page = page.partition("<tbody>")[2]  # not the filter form's own value
        return {name for name in ("old@", "new@", "other@", "admin@") if name in page}

    assert shown("action=login.failure") == {"old@", "new@"}
    assert shown("who=NEW@example.org") == {"new@"}
    assert shown("who=new@example") == set()  # exact, not a search
    assert shown("who=admin@example.org") == {"admin@"}  # the actor (the sign-in above)
    assert shown(f"date_from={today - timedelta(days=1)}") == {"new@", "other@", "admin@"}
    assert shown(f"date_to={today - timedelta(days=1)}") == {"old@"}
    assert shown(f"date_from={today}&date_to={today}&action=logout") == {"other@"}


def test_paging_keeps_the_filters(app, client, admin):
    with app.app_context():
        now = utcnow()
        for number in range(120):
            entry = record("login.failure", email=f"user{number:03d}@example.org")
            entry.created_at = now - timedelta(minutes=number)
        record("logout", email="x@example.org")
        db.session.commit()
    first = client.get("/admin/audit?action=login.failure").get_data(as_text=True)
    assert "120 entries" in first and "Page 1 of 3" in first
    assert "user000@" in first and "user049@" in first and "user050@" not in first
    assert 'href="/admin/audit?page=2&amp;action=login.failure"' in first
    third = client.get("/admin/audit?action=login.failure&page=3").get_data(as_text=True)
    assert "user119@" in third and "user099@" not in third and 'rel="next"' not in third
    beyond = client.get("/admin/audit?action=login.failure&page=99").get_data(as_text=True)
    assert "Page 3 of 3" in beyond


def test_coordinators_get_404_and_visitors_are_sent_to_sign_in(app, client, make_user):
    assert client.get("/admin/audit").headers["Location"].startswith("/admin/login")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    sign_in(client, "kyiv@example.org")
    assert client.get("/admin/audit").status_code == 404
    assert 'href="/admin/audit"' not in client.get("/admin/").get_data(as_text=True)


BAD_QUERIES = (
    "page=-1",
    "page=99999999999999999999999",
    "page=abc",
    "date_from=zzz",
    "date_to=9999-12-31",
    "date_from=0001-01-01",
    "date_to=2026-02-30",
    "action=%3Cscript%3E",
    "who=" + "a" * 10_000,
    "who=a%00b@example.org",
    "action=login.failure%00",
    "date_from=2026-01-01%00",
    "who=%ZZ&action[]=x&page=1&page=2",
)


def test_bad_filter_values_never_fail(app, client, admin):
    add_entry(app)
    for query in BAD_QUERIES:
        response = client.get("/admin/audit?" + query)
        assert response.status_code in (200, 400), query
        assert "<script>" not in response.get_data(as_text=True)


def test_a_bad_date_is_shown_at_its_field(app, client, admin):
    add_entry(app, email="kept@example.org")
    page = client.get("/admin/audit?date_from=zzz&action=nope").get_data(as_text=True)
    assert 'id="date_from-error"' in page and 'aria-invalid="true"' in page
    assert 'value="zzz"' not in page  # a date input may only hold a date
    assert 'id="action-error"' in page
    assert "kept@example.org" in page  # the bad filters filter nothing
