"""``flask applications remind``: reminders, escalation, the applicant's reminder and lapse, the
Monday digest; each once, in its recipient's language, with links on BASE_URL.

A frozen clock (time-machine) walks through December 2026. The application at the heart of
most tests arrives on Friday 27 November at 18:30 (Sarajevo), so its reply is due on Friday
11 December: ten working days, the weekends skipped.
"""

import email
import email.policy
import re
import threading
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from conftest import csrf_token, valid_application
from flask_babel import force_locale, format_date, gettext, ngettext
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from lepsite.admin import operations
from lepsite.extensions import db
from lepsite.models import Application, ApplicationEvent, OutgoingMail, User
from lepsite.review_clock import reminders
from lepsite.review_clock.models import ClockMail

FRIDAY_EVENING = "2026-11-27T18:30:00+01:00"
DUE = date(2026, 12, 11)
GREETING = {"en": "Hello ", "bs": "Dobar dan, ", "uk": "Вітаємо, "}
LINK = re.compile(r"https?://\S+")


def at(day: str, clock: str = "07:00") -> datetime:
    """A moment in Sarajevo's winter time."""
    return datetime.fromisoformat(f"{day}T{clock}:00+01:00")


@pytest.fixture
def people(make_user):
    """A Ukrainian-speaking Kyiv coordinator and two admins, in BHS and in English."""
    return {
        "kyiv": make_user("kyiv@example.org", partnerships=["kyiv"], language="uk", name="Оксана"),
        "admin_bs": make_user("admin@example.org", role="admin", language="bs", name="Emir"),
        "admin_en": make_user("admin-en@example.org", role="admin", language="en", name="Ada"),
    }


@pytest.fixture
def submit(app):
    """Return a function that sends the form at a moment and gives back the application's id."""
    client = app.test_client()

    def send(when: str = FRIDAY_EVENING, **fields) -> int:
        with time_machine.travel(datetime.fromisoformat(when), tick=False):
            data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application(**fields)}
            response = client.post("/en/apply", data=data)
        assert response.status_code == 303
        with app.app_context():
            return db.session.scalar(select(func.max(Application.id)))

    return send


def remind(app, day: str, *args: str):
    """Run the command on ``day`` at 07:00; return its result and the mail it wrote."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    before = set(folder.glob("*.eml")) if folder.is_dir() else set()
    with time_machine.travel(at(day), tick=False):
        result = app.test_cli_runner().invoke(args=["applications", "remind", *args])
    new = sorted(set(folder.glob("*.eml")) - before) if folder.is_dir() else []
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in new]
    return result, messages


def ran(app, day: str, *args: str) -> list:
    result, messages = remind(app, day, *args)
    assert result.exit_code == 0, (result.output, repr(result.exception))
    return messages


def to(messages, address: str):
    found = [message for message in messages if message["To"] == address]
    assert len(found) == 1, [(m["To"], m["Subject"]) for m in messages]
    return found[0]


def body(message) -> str:
    return message.get_content()


def subject(app, message) -> str:
    """The subject as the site wrote it (Python 3.11's header folding can move a space when a
    line mixes ASCII and other letters, as an untranslated subject with a Ukrainian date does)."""
    mail_id = int(re.match(r"<lep\.(\d+)\.", message["Message-ID"]).group(1))
    with app.app_context():
        return db.session.get(OutgoingMail, mail_id).subject


def translated(app, lang: str, text: str, **values) -> str:
    """What ``text`` says in ``lang`` with the site's catalogs (English until translated)."""
    with app.test_request_context(), force_locale(lang):
        return gettext(text, **values)


def long_date(app, lang: str, day: date) -> str:
    with app.test_request_context(), force_locale(lang):
        return format_date(day, "long")


def check_links(app, message, client=None) -> list[str]:
    """Every link is on BASE_URL and leads to a page of the site; return them."""
    links = LINK.findall(body(message))
    assert links, body(message)
    adapter = app.url_map.bind("lep.test")
    for link in links:
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == "http://lep.test", link
        try:
            adapter.match(parts.path, query_args=parts.query)
        except NotFound:
            pytest.fail(f"{link} leads nowhere")
    return links


def in_language(app, message, lang: str, *days: date) -> None:
    """The message is written in ``lang``: its greeting, and ``days`` as ``lang`` says them."""
    text = body(message)
    assert text.startswith(GREETING[lang]), text[:80]
    assert ".." not in text, text  # a date ending in "." (BHS, Ukrainian) ends no sentence
    for day in days:
        assert long_date(app, lang, day) in subject(app, message) + text, (lang, day, text)


def digests(messages) -> list:
    """The Monday digests among ``messages`` (they link to the list, due soonest first)."""
    return [m for m in messages if "state=open&sort=due" in body(m)]


def application(app, application_id: int) -> Application:
    with app.app_context():
        row = db.session.get(Application, application_id)
        db.session.expunge(row)
        return row


# ---------------------------------------------------------------- reply-by date


def test_coordinators_are_reminded_two_working_days_before_once(app, people, submit):
    application_id = submit()
    reference = application(app, application_id).reference
    assert ran(app, "2026-12-08") == []  # Tuesday: three working days left
    messages = ran(app, "2026-12-09")  # Wednesday: Thursday and Friday left
    message = to(messages, "kyiv@example.org")
    assert len(messages) == 1
    in_language(app, message, "uk", DUE)
    assert subject(app, message) == translated(
        app,
        "uk",
        "Reminder: application %(ref)s needs a reply by %(date)s",
        ref=reference,
        date=long_date(app, "uk", DUE),
    )
    assert "11 грудня 2026\u202fр." in subject(app, message)
    [link] = check_links(app, message)
    assert link == f"http://lep.test/admin/applications/{application_id}"
    with app.test_request_context(), force_locale("uk"):
        expected = ngettext(
            "The reply to %(org)s is due on %(date)s, in %(num)d working day.",
            "The reply to %(org)s is due on %(date)s, in %(num)d working days.",
            2,
            org="Kyiv Training Centre",
            date=long_date(app, "uk", DUE),
        )
    assert expected in body(message)
    # The same day again, the next day, the due day itself: nothing more.
    assert ran(app, "2026-12-09") == []
    assert ran(app, "2026-12-10") == []
    assert ran(app, "2026-12-11") == []


def test_whoever_took_it_is_reminded_instead_of_everyone(app, people, make_user, submit):
    colleague = make_user("kyiv2@example.org", partnerships=["kyiv"], language="en")
    application_id = submit()
    assert {m["To"] for m in ran(app, "2026-12-09", "--date", "2026-12-09")} == {
        "kyiv@example.org",
        "kyiv2@example.org",
    }
    second = submit("2026-11-30T10:00:00+01:00", email="second@example.org")
    with app.app_context():
        operations.take(db.session.get(Application, second), db.session.get(User, colleague))
        db.session.commit()
    messages = ran(app, "2026-12-10")  # Thursday: the second is due on Monday 14th
    assert [m["To"] for m in messages] == ["kyiv2@example.org"]
    in_language(app, messages[0], "en", date(2026, 12, 14))
    assert application(app, application_id).state == "submitted"


def test_overdue_applications_are_escalated_to_the_admins_once(app, people, submit):
    application_id = submit()
    ran(app, "2026-12-09")
    messages = ran(app, "2026-12-15")  # Tuesday: two working days late
    admin_bs, admin_en = to(messages, "admin@example.org"), to(messages, "admin-en@example.org")
    assert "kyiv@example.org" not in [m["To"] for m in messages]
    in_language(app, admin_bs, "bs", DUE)
    in_language(app, admin_en, "en", DUE)
    assert subject(app, admin_en).startswith("Overdue: application LEP-2026-")
    assert "2 working days late" in body(admin_en) and "Оксана" in body(admin_en)
    for message in (admin_bs, admin_en):
        [link] = check_links(app, message)
        assert link.endswith(f"/admin/applications/{application_id}")
    assert ran(app, "2026-12-15") == []
    assert ran(app, "2026-12-16") == []


def test_waiting_for_the_applicant_is_not_overdue(app, people, submit):
    application_id = submit()
    with time_machine.travel(at("2026-11-30", "10:00"), tick=False), app.app_context():
        operations.act(
            db.session.get(Application, application_id),
            db.session.get(User, people["kyiv"]),
            "request_info",
            "How many trainees?",
        )
    assert ran(app, "2026-12-09") == []
    # Past the due date: the applicant holds it. Only the applicant's own reminder goes out.
    assert [m["To"] for m in ran(app, "2026-12-16")] == ["olena@example.org"]
    with app.app_context():
        kinds = set(db.session.scalars(select(ClockMail.kind)))
    assert kinds == {reminders.INFO_REMINDER}


# ---------------------------------------------------------------- an unanswered question


def ask(app, application_id: int, user_id: int, day: str, question: str) -> None:
    with time_machine.travel(at(day, "10:00"), tick=False), app.app_context():
        operations.act(
            db.session.get(Application, application_id),
            db.session.get(User, user_id),
            "request_info",
            question,
        )


def test_the_applicant_is_reminded_halfway_then_the_application_lapses(app, people, submit):
    application_id = submit(language="bs", email="amra@example.org", contact_name="Amra")
    ask(app, application_id, people["kyiv"], "2026-11-24", "Koliko polaznika?")
    assert ran(app, "2026-12-08") == []  # 14 days
    [reminder] = ran(app, "2026-12-09")  # 15 days: halfway through 30
    assert reminder["To"] == "amra@example.org"
    in_language(app, reminder, "bs", date(2026, 11, 24), date(2026, 12, 24))  # asked, lapses
    assert "Koliko polaznika?" in body(reminder)
    assert "24. decembar 2026." in body(reminder)
    [status_link] = check_links(app, reminder)
    token = application(app, application_id).token
    assert status_link == f"http://lep.test/bs/apply/status/{token}"
    assert app.test_client().get(urlsplit(status_link).path).status_code == 200
    assert ran(app, "2026-12-10") == []

    messages = ran(app, "2026-12-24")
    assert application(app, application_id).state == "lapsed"
    applicant = to(messages, "amra@example.org")
    coordinator = to(messages, "kyiv@example.org")
    in_language(app, applicant, "bs", date(2026, 11, 24))  # when the question was asked
    assert "24. novembar 2026." in body(applicant)
    links = check_links(app, applicant)
    assert "http://lep.test/bs/apply" in links and status_link in links
    in_language(app, coordinator, "uk", date(2026, 11, 24))
    assert "24 листопада 2026\u202fр." in body(coordinator)
    assert check_links(app, coordinator) == [f"http://lep.test/admin/applications/{application_id}"]
    with app.app_context():
        events = db.session.scalars(
            select(ApplicationEvent.action).where(ApplicationEvent.application_id == application_id)
        ).all()
        assert events[-1] == "lapsed"
        from lepsite.audit import AuditEvent

        assert db.session.scalar(
            select(AuditEvent.action).where(AuditEvent.subject == f"application:{application_id}")
        )
    assert ran(app, "2026-12-24") == [] and ran(app, "2026-12-28") == []

    # The status page says so, and the applicant may apply again with the same address.
    page = app.test_client().get(urlsplit(status_link).path).get_data(as_text=True)
    assert translated(app, "bs", "Closed: no answer") in page
    again = submit("2026-12-28T10:00:00+01:00", language="bs", email="amra@example.org")
    assert again != application_id and application(app, again).state == "submitted"


def test_an_answered_question_neither_reminds_nor_lapses(app, people, submit):
    application_id = submit()
    ask(app, application_id, people["kyiv"], "2026-11-24", "How many?")
    token = application(app, application_id).token
    client = app.test_client()
    url = f"/en/apply/status/{token}"
    with time_machine.travel(at("2026-11-30", "12:00"), tick=False):
        client.post(url + "/answer", data={"csrf_token": csrf_token(client, url), "answer": "20"})
    assert application(app, application_id).state == "in_review"
    assert [m["To"] for m in ran(app, "2026-12-09")] == ["kyiv@example.org"]  # due soon only
    # A second question gets its own reminder.
    ask(app, application_id, people["kyiv"], "2026-12-10", "And the dates?")
    [reminder] = ran(app, "2026-12-26")
    assert reminder["To"] == "olena@example.org" and "And the dates?" in body(reminder)
    assert application(app, application_id).state == "info_requested"


def test_the_lapse_period_is_a_setting(app_factory, make_user):
    app = app_factory(INFO_REQUEST_LAPSE_DAYS=4)
    kyiv = make_user("kyiv@example.org", partnerships=["kyiv"])
    client = app.test_client()
    with time_machine.travel(at("2026-11-23", "09:00"), tick=False):
        data = {"csrf_token": csrf_token(client, "/en/apply"), **valid_application()}
        client.post("/en/apply", data=data)
    with app.app_context():
        application_id = db.session.scalar(select(Application.id))
    ask(app, application_id, kyiv, "2026-11-23", "Why?")
    assert [m["To"] for m in ran(app, "2026-11-25")] == ["olena@example.org"]
    assert application(app, application_id).state == "info_requested"
    ran(app, "2026-11-27")
    assert application(app, application_id).state == "lapsed"


# ---------------------------------------------------------------- Monday digest


def test_monday_digest_lists_open_applications_overdue_first(app, people, submit):
    late = submit()  # due 11 December
    recent = submit("2026-12-07T10:00:00+01:00", email="recent@example.org")  # due the 21st
    unsure = submit("2026-12-08T10:00:00+01:00", partnership="not_sure", email="unsure@example.org")
    closed = submit("2026-12-01T10:00:00+01:00", email="closed@example.org")
    with app.app_context():
        db.session.get(Application, closed).state = "approved"
        db.session.commit()
    refs = {i: application(app, i).reference for i in (late, recent, unsure, closed)}

    assert digests(ran(app, "2026-12-08")) == []
    messages = ran(app, "2026-12-14")  # Monday
    digest = to(digests(messages), "kyiv@example.org")
    in_language(app, digest, "uk", date(2026, 12, 14), DUE, date(2026, 12, 21))
    text = body(digest)
    assert text.index(refs[late]) < text.index(refs[recent])
    assert refs[unsure] not in text and refs[closed] not in text
    assert translated(app, "uk", "OVERDUE") in text
    links = check_links(app, digest)
    assert "http://lep.test/admin/applications/?state=open&sort=due" in links
    assert f"http://lep.test/admin/applications/{late}" in links
    # The admins get theirs: the application routed to them (no partnership chosen).
    admin_digest = to(digests(messages), "admin-en@example.org")
    assert refs[unsure] in body(admin_digest) and refs[late] not in body(admin_digest)
    in_language(app, admin_digest, "en", date(2026, 12, 22))
    assert {m["To"] for m in digests(messages)} == {
        "kyiv@example.org",
        "admin@example.org",
        "admin-en@example.org",
    }
    # Once a Monday; not on other days; again the next Monday.
    assert ran(app, "2026-12-14") == []
    assert digests(ran(app, "2026-12-15")) == []
    assert len(digests(ran(app, "2026-12-21"))) == 3


# ---------------------------------------------------------------- running it again, or twice


def test_catching_up_with_date_follows_the_same_rules(app, people, submit):
    submit()
    # The server was down from Wednesday to Friday; on Monday the operator catches up.
    result, messages = remind(app, "2026-12-14", "--date", "2026-12-09")
    assert result.exit_code == 0, result.output
    assert [m["To"] for m in messages] == ["kyiv@example.org"]
    assert "as of 2026-12-09" in result.output
    assert ran(app, "2026-12-14", "--date", "2026-12-09") == []
    assert ran(app, "2026-12-14", "--date", "2026-12-10") == []
    later = {m["To"] for m in ran(app, "2026-12-14")}
    assert {"admin@example.org", "admin-en@example.org", "kyiv@example.org"} <= later
    # A day to come, or no date at all, is refused: nothing is sent.
    for wrong in ("2026-12-15", "15.12.2026"):
        result, messages = remind(app, "2026-12-14", "--date", wrong)
        assert result.exit_code == 2 and messages == []


def test_an_item_that_fails_does_not_stop_the_others(app, people, submit, monkeypatch):
    submit()
    second = submit("2026-11-20T10:00:00+01:00", email="second@example.org")  # due on the 4th

    def broken(report, application_id):
        raise RuntimeError("mail template broken")

    monkeypatch.setattr(reminders, "_escalate", broken)
    result, messages = remind(app, "2026-12-09")
    assert result.exit_code == 1
    assert "mail template broken" in result.output
    assert [m["To"] for m in messages] == ["kyiv@example.org"]  # the due-soon reminder went
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ClockMail)) == 1
    assert application(app, second).state == "submitted"


def test_two_runs_at_once_send_nothing_twice(app, people, submit, monkeypatch):
    """Two servers run the command at the same moment: each item goes out once.

    Both runs read what is due before either sends anything, so both try every item: only
    the unique constraint stands between them and double mail.
    """
    ids = [submit(email=f"org{number}@example.org") for number in range(6)]
    for number, application_id in enumerate(ids[:3]):
        ask(app, application_id, people["kyiv"], "2026-11-30", f"Question {number}")
    with app.app_context():
        before = db.session.scalar(select(func.max(OutgoingMail.id)))
    barrier = threading.Barrier(2)
    read_first = {kind: threading.Barrier(2) for kind in (reminders.LAPSE, reminders.OVERDUE)}
    already_sent = reminders._sent

    def both_read_first(kind):
        sent = already_sent(kind)
        if kind in read_first:
            read_first[kind].wait(timeout=20)
        return sent

    monkeypatch.setattr(reminders, "_sent", both_read_first)
    reports, failures = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                reports.append(reminders.run(date(2026, 12, 30)))
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    with time_machine.travel(at("2026-12-30"), tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not failures and len(reports) == 2
    assert not any(report.errors for report in reports), [r.errors for r in reports]
    # Three questions lapsed (asked 30 days ago), three replies overdue: each once in all.
    done = sum((report.done for report in reports), start=Counter())
    assert done == Counter({reminders.LAPSE: 3, reminders.OVERDUE: 3})
    assert sum(report.already for report in reports) == 6  # every item tried twice
    with app.app_context():
        recipients = db.session.scalars(
            select(OutgoingMail.recipient).where(OutgoingMail.id > before)
        ).all()
        lapsed = db.session.scalar(
            select(func.count())
            .select_from(ApplicationEvent)
            .where(ApplicationEvent.action == "lapsed")
        )
    assert lapsed == 3
    assert sorted(recipients) == sorted(
        [f"org{number}@example.org" for number in range(3)]  # told of the lapse
        + ["kyiv@example.org"] * 3  # likewise
        + ["admin@example.org", "admin-en@example.org"] * 3  # the overdue ones
    )
