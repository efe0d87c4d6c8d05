"""The review clock: reply-by dates in working days, stored, shown, marked and sorted.

A frozen clock (time-machine) sends the applications in on chosen days: a Friday evening,
a weekend, the hour in which Sarajevo and Kyiv are on different dates.
"""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from conftest import schema_differences, sign_in
from sqlalchemy import insert, select, text

from lepsite import create_app
from lepsite.admin import queries
from lepsite.config import ConfigurationError
from lepsite.extensions import db
from lepsite.models import Application, User
from lepsite.review_clock import (
    add_working_days,
    due_date,
    fill_placeholders,
    reply_time,
    subtract_working_days,
    working_days_between,
)

FRIDAY_EVENING = "2026-11-27T18:30:00+01:00"  # Sarajevo, winter time


def moment(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value)


@pytest.fixture
def apply_at(app, apply):
    """Return a function that sends the form at a given moment and gives back the row's id."""

    def send(when: str, **fields) -> int:
        with time_machine.travel(moment(when), tick=False):
            response = apply(**fields)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        with app.app_context():
            return db.session.scalar(select(Application.id).order_by(Application.id.desc()))

    return send


def due_on(app, application_id: int) -> date:
    with app.app_context():
        return db.session.get(Application, application_id).due_on


# ---------------------------------------------------------------- the arithmetic


def test_working_days_skip_weekends_and_the_day_itself():
    friday = date(2026, 11, 27)
    assert add_working_days(friday, 1) == date(2026, 11, 30)  # Monday
    assert add_working_days(friday, 10) == date(2026, 12, 11)
    assert add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # from a Saturday
    assert subtract_working_days(date(2026, 11, 30), 2) == date(2026, 11, 26)  # Thursday
    assert working_days_between(friday, date(2026, 12, 11)) == 10
    assert working_days_between(date(2026, 12, 11), friday) == 0


@pytest.mark.parametrize(
    "received, zone, expected",
    [
        # Friday evening: the count starts on Monday; ten working days end on a Friday.
        (FRIDAY_EVENING, "Europe/Sarajevo", date(2026, 12, 11)),
        # Over the weekend: the same date.
        ("2026-11-28T10:00:00+01:00", "Europe/Sarajevo", date(2026, 12, 11)),
        ("2026-11-29T22:59:00+01:00", "Europe/Sarajevo", date(2026, 12, 11)),
        # Sunday 23:30 UTC is already Monday in Sarajevo: the count starts on Tuesday.
        ("2026-11-29T23:30:00+00:00", "Europe/Sarajevo", date(2026, 12, 14)),
        ("2026-11-29T23:30:00+00:00", "UTC", date(2026, 12, 11)),
        # 00:30 on Friday in Kyiv is still Thursday in Sarajevo: the earlier of the two dates.
        ("2026-11-27T00:30:00+02:00", "Europe/Sarajevo", date(2026, 12, 10)),
        ("2026-11-27T00:30:00+02:00", "Europe/Kyiv", date(2026, 12, 11)),
    ],
)
def test_due_date_counts_working_days_from_the_sites_date(app_factory, received, zone, expected):
    app = app_factory(TIME_ZONE=zone)
    with app.app_context():
        assert due_date(moment(received)) == expected


def test_an_unknown_time_zone_stops_start_up(tmp_path):
    with pytest.raises(ConfigurationError, match="TIME_ZONE"):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "x" * 40,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                "TIME_ZONE": "Europe/Atlantis",
            }
        )


def test_the_promise_is_still_said_from_the_setting(app_factory):
    app = app_factory(REPLY_WORKING_DAYS=3)
    with app.app_context(), app.test_request_context():
        assert reply_time() == "within 3 working days"
        assert "within 3 working days" in fill_placeholders("<p>{reply-time}</p>", "en")


# ---------------------------------------------------------------- stored at submission


def test_the_form_stores_the_due_date_friday_evening(app, apply_at):
    application_id = apply_at(FRIDAY_EVENING)
    assert due_on(app, application_id) == date(2026, 12, 11)


def test_the_due_date_follows_the_setting(app_factory, make_user):
    app = app_factory(REPLY_WORKING_DAYS=3)
    client = app.test_client()
    from conftest import csrf_token, valid_application

    with time_machine.travel(moment(FRIDAY_EVENING), tick=False):
        data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application()}
        assert client.post("/en/apply", data=data).status_code == 303
    with app.app_context():
        stored = db.session.scalar(select(Application))
        assert stored.due_on == date(2026, 12, 2)  # Monday, Tuesday, Wednesday


def test_bulk_inserted_rows_get_their_due_date_too(app):
    """Demo data and imports insert rows without the ORM: the column default still applies."""
    from conftest import valid_application

    fields = valid_application()
    row = {
        key: fields[key]
        for key in ("organisation_name", "organisation_type", "municipality", "email")
    }
    row.update(
        token="t" * 43,
        state="submitted",
        partnership_key="kyiv",
        contact_name="A",
        language="en",
        contribution="x",
        motivation="y",
        consent_processing=True,
        created_at=moment(FRIDAY_EVENING),
        updated_at=moment(FRIDAY_EVENING),
    )
    with app.app_context():
        db.session.execute(insert(Application.__table__), [row])
        db.session.commit()
        assert db.session.scalar(select(Application.due_on)) == date(2026, 12, 11)


def test_the_migration_gives_existing_applications_their_due_date(app):
    """Rows stored before the review clock get the date they would have had."""
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade", "7c2f8b220002"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.begin() as connection:
        for number, received in enumerate((FRIDAY_EVENING, "2026-11-29T23:30:00+00:00"), start=1):
            connection.execute(
                text(
                    "INSERT INTO applications (id, token, state, partnership_key, "
                    "organisation_name, organisation_type, municipality, website, contact_name, "
                    "contact_role, email, phone, language, contribution, motivation, "
                    "consent_processing, consent_listing, created_at, updated_at) VALUES "
                    "(:id, :token, 'submitted', 'kyiv', 'Org', 'ngo', 'Kyiv', '', 'A', '', "
                    "'a@example.org', '', 'en', 'x', 'y', :yes, :yes, :at, :at)"
                ),
                {"id": number, "token": f"token-{number}", "yes": True, "at": moment(received)},
            )
    for step in (["upgrade"], ["downgrade", "7c2f8b220002"], ["upgrade"]):
        result = runner.invoke(args=["db", *step])
        assert result.exit_code == 0, (step, result.output, repr(result.exception))
    with app.app_context():
        rows = db.session.execute(select(Application.id, Application.due_on).order_by("id"))
        assert list(rows) == [(1, date(2026, 12, 11)), (2, date(2026, 12, 14))]
        with db.engine.connect() as connection:
            differences = schema_differences(connection)
        assert differences == []
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))


# ---------------------------------------------------------------- shown, marked, sorted


@pytest.fixture
def coordinator(make_user):
    make_user("kyiv@example.org", partnerships=["kyiv"])
    return "kyiv@example.org"


def set_state(app, application_id: int, state: str) -> None:
    with app.app_context():
        db.session.get(Application, application_id).state = state
        db.session.commit()


def listing(client, query: str = "") -> str:
    return client.get(f"/admin/applications/{query}").get_data(as_text=True)


def references_in(page: str) -> list[str]:
    return re.findall(r">(LEP-\d{4}-\d{6})</a>", page)


def test_list_and_detail_show_the_date_and_mark_overdue_in_words(
    app, client, apply_at, coordinator
):
    late = apply_at(FRIDAY_EVENING, organisation_name="Late Org")
    waiting = apply_at(FRIDAY_EVENING, organisation_name="Waiting Org", email="w@example.org")
    fresh = apply_at("2026-12-10T09:00:00+01:00", organisation_name="Fresh Org", email="f@x.org")
    set_state(app, waiting, "info_requested")
    with time_machine.travel(moment("2026-12-14T09:00:00+01:00"), tick=False):
        sign_in(client, coordinator)
        page = listing(client, "?state=open")
        detail = client.get(f"/admin/applications/{late}").get_data(as_text=True)
        waiting_detail = client.get(f"/admin/applications/{waiting}").get_data(as_text=True)
        fresh_detail = client.get(f"/admin/applications/{fresh}").get_data(as_text=True)
    assert "Reply by" in page and "Dec 11, 2026" in page
    # One overdue (the waiting one is not: the applicant holds it), said in words.
    assert page.count(">Overdue<") == 1
    assert "Waiting for the applicant" in page
    assert "December 11, 2026" in detail and ">Overdue<" in detail
    assert ">Overdue<" not in waiting_detail and "waiting for the applicant" in waiting_detail
    assert ">Overdue<" not in fresh_detail and "December 24, 2026" in fresh_detail


def test_open_applications_come_due_soonest_first(app, client, apply_at, coordinator):
    second = apply_at("2026-11-30T10:00:00+01:00", organisation_name="Second")
    first = apply_at("2026-11-23T10:00:00+01:00", organisation_name="First", email="a@x.org")
    third = apply_at("2026-12-01T10:00:00+01:00", organisation_name="Third", email="b@x.org")
    closed = apply_at("2026-11-20T10:00:00+01:00", organisation_name="Closed", email="c@x.org")
    set_state(app, closed, "approved")
    set_state(app, third, "in_review")
    with app.app_context():
        refs = {i: db.session.get(Application, i).reference for i in (first, second, third, closed)}
    sign_in(client, coordinator)
    due_order = [refs[first], refs[second], refs[third]]
    assert references_in(listing(client, "?state=open")) == due_order
    assert references_in(listing(client, "?sort=due")) == due_order  # open ones only
    # One open state: due soonest by default too.
    assert references_in(listing(client, "?state=submitted")) == [refs[first], refs[second]]
    # Everything, as before: newest first.
    assert references_in(listing(client)) == [refs[third], refs[second], refs[first], refs[closed]]
    assert references_in(listing(client, "?state=open&sort=newest")) == due_order[::-1]
    # The chosen order survives in the pagination and export links.
    assert queries.Filters.from_args({"state": "open"}).as_args() == {"state": "open"}
    assert queries.Filters.from_args({"state": "open", "sort": "name"}).as_args() == {
        "state": "open",
        "sort": "name",
    }


def test_lapsed_is_a_state_the_list_can_filter(app, client, apply_at, coordinator):
    gone = apply_at(FRIDAY_EVENING, organisation_name="Gone Org")
    apply_at(FRIDAY_EVENING, organisation_name="Open Org", email="o@example.org")
    set_state(app, gone, "lapsed")
    sign_in(client, coordinator)
    page = listing(client, "?state=lapsed")
    assert "Gone Org" in page and "Open Org" not in page
    assert '<option value="lapsed" selected>Closed: no answer</option>' in page
    assert "Gone Org" not in listing(client, "?state=open")
    assert "Closed: no answer" in client.get("/admin/").get_data(as_text=True)


# ---------------------------------------------------------------- the list stays on its indexes


def seed_many(app, count: int = 3000) -> None:
    """Applications in the mix the live site has: most closed, a few open, two partnerships."""
    states = ["approved"] * 12 + ["rejected"] * 4 + ["withdrawn"] * 2
    states += ["submitted", "in_review", "info_requested", "lapsed"]
    rows = [
        {
            "token": f"token-{number:040d}",
            "state": states[number % len(states)],
            "partnership_key": ("kyiv", "odesa", "lviv")[number % 3],
            "organisation_name": f"Org {number}",
            "organisation_type": "ngo",
            "municipality": "Kyiv",
            "contact_name": "A",
            "email": f"a{number}@example.org",
            "language": "en",
            "contribution": "x",
            "motivation": "y",
            "consent_processing": True,
            "created_at": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=7 * number),
        }
        for number in range(count)
    ]
    with app.app_context():
        db.session.execute(insert(Application.__table__), rows)
        db.session.commit()
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def plan_of(app, user_email: str, args: dict) -> str:
    """The database's plan for the first page of the list as ``user_email`` sees it."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == user_email))
        query = queries.filtered(user, queries.Filters.from_args(args)).limit(50)
        dialect = db.engine.dialect
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.name == "sqlite":
            rows = db.session.execute(text("EXPLAIN QUERY PLAN " + sql))
            plan = "\n".join(row[-1] for row in rows)
        else:
            plan = "\n".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
        db.session.rollback()
        return plan


@pytest.mark.parametrize(
    "who, state",
    [
        ("admin@example.org", "open"),
        ("kyiv@example.org", "open"),
        ("admin@example.org", "submitted"),
        ("kyiv@example.org", "in_review"),
    ],
)
def test_due_soonest_reads_an_index(app, make_user, who, state):
    make_user("admin@example.org", role="admin")
    make_user("kyiv@example.org", partnerships=["kyiv"])
    seed_many(app)
    plan = plan_of(app, who, {"state": state})
    assert "ix_applications_" in plan, plan
    # No reading of the whole table (a covering index scan is "SCAN … USING … INDEX").
    assert not re.search(r"SCAN applications$|Seq Scan", plan, re.MULTILINE), plan
    if state == "open":
        # The open ones, from a partial index in due order: no sorting of rows.
        assert re.search(r"ix_applications_open_(partnership_)?due\b", plan), plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
