"""The daily run, ``flask applications remind``: nothing stalls without someone hearing of it.

As of a day D (today in ``TIME_ZONE``, or ``--date`` to catch up after an outage), in order:

1. **Lapse.** An application whose question has waited ``INFO_REQUEST_LAPSE_DAYS`` (default
   30) calendar days since it was asked is closed as ``lapsed``; the applicant (with a link
   to apply again) and its coordinators are told.
2. **The applicant's reminder.** Halfway through that time, the applicant is reminded once
   of the unanswered question (once per question: a later question gets its own reminder).
3. **Due soon.** Two working days before an application's reply-by date (or later, up to
   that date, if a run was missed), whoever took it, else everyone it was routed to, is
   reminded once.
4. **Overdue.** After its reply-by date an application the coordinators still owe a reply is
   escalated to the admins, once per application; it stays at the top of the digests.
5. **Digest.** When D is a Monday, each user with open applications routed to them (admins
   for those routed to the admins, whoever took one) gets a list of them, overdue first.

While an application waits for the applicant (``info_requested``) it is not overdue and no one
is reminded of its date (see ``dates``).

**Nothing twice.** Each item (an application's reminder, a user's digest) is one transaction:
its ``ClockMail`` row, the mail it queues and any state change commit together or not at all.
The row's unique constraint answers "was it sent?": a second run the same day, a ``--date``
catch-up over days already done, or a second server running at the same moment fails to
insert it, rolls that item back and goes on with the next. Every mail is written in its
recipient's language, with links on ``BASE_URL``.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..mail import queue_mail
from ..membership.operations import admin_url, claim, status_url
from ..membership.queries import active_admins
from ..models import OPEN_STATES, Application, ApplicationEvent, OutgoingMail, User, utcnow
from ..urls import external_url
from .dates import (
    CLOCK_RUNS,
    add_working_days,
    is_overdue,
    local_date,
    today,
    working_days_between,
)
from .models import ClockMail

log = logging.getLogger(__name__)

# Coordinators are reminded this many working days before the reply-by date.
REMIND_BEFORE_WORKING_DAYS = 2

# The kinds of item, in the order a run does them.
LAPSE, INFO_REMINDER, DUE_SOON, OVERDUE, DIGEST = (
    "lapsed",
    "info_reminder",
    "due_soon",
    "overdue",
    "digest",
)
KINDS = (LAPSE, INFO_REMINDER, DUE_SOON, OVERDUE, DIGEST)


@dataclass
class Report:
    """What one run did."""

    as_of: date
    done: Counter = field(default_factory=Counter)  # kind -> items sent
    already: int = 0  # items found sent by another run at the same moment
    errors: list[str] = field(default_factory=list)
    mail_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the cron log."""
        parts = [f"{self.done[kind]} {kind}" for kind in KINDS]
        line = f"as of {self.as_of:%Y-%m-%d}: " + ", ".join(parts)
        line += f"; {len(self.mail_ids)} mail(s) queued"
        if self.already:
            line += f"; {self.already} already sent by another run"
        if self.errors:
            line += f"; {len(self.errors)} error(s)"
        return line


def lapse_days() -> int:
    """Days an applicant has to answer a question (``INFO_REQUEST_LAPSE_DAYS``)."""
    return int(current_app.config["INFO_REQUEST_LAPSE_DAYS"])


def run(as_of: date | None = None) -> Report:
    """Send what is due as of ``as_of`` (default: today), each item once; see the module."""
    report = Report(as_of or today())
    _questions(report)
    _due_soon(report)
    _overdue(report)
    if report.as_of.weekday() == 0:
        _digests(report)
    return report


# ---------------------------------------------------------------- once per item


def _once(report: Report, kind: str, subject: str, period: str, work) -> None:
    """Do ``work`` and record it, in one transaction, unless it was done before.

    ``work()`` queues mail (and may change the application) and returns the messages, or None
    when there turns out to be nothing to do; then nothing is recorded.
    """
    record = ClockMail(kind=kind, subject=subject, period=period, as_of=report.as_of)
    recorded = False
    try:
        db.session.add(record)
        db.session.flush()  # the unique constraint: another run has sent it (or is sending it)
        recorded = True
        mails = work()
        if mails is None:
            db.session.rollback()
            return
        record.mail_count = len(mails)
        db.session.flush()
        mail_ids = [mail.id for mail in mails]
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        if not recorded:
            report.already += 1
            return
        _failed(report, kind, subject, error)
        return
    except Exception as error:  # noqa: BLE001 - one item's failure must not stop the others
        db.session.rollback()
        _failed(report, kind, subject, error)
        return
    report.done[kind] += 1
    report.mail_ids.extend(mail_ids)


def _failed(report: Report, kind: str, subject: str, error: Exception) -> None:
    """Log an item that failed and note it in the report (the command then exits 1)."""
    log.error("remind: %s for %s failed", kind, subject, exc_info=error)
    report.errors.append(f"{kind} {subject}: {type(error).__name__}: {error}")


def _sent(kind: str) -> set[tuple[str, str]]:
    """(subject, period) of the items of ``kind`` already sent: the run skips them quietly."""
    rows = db.session.execute(
        select(ClockMail.subject, ClockMail.period).where(ClockMail.kind == kind)
    )
    return {(subject, period) for subject, period in rows}


def _application_subject(application: Application) -> str:
    """What a ClockMail row about ``application`` names as its subject."""
    return f"application:{application.id}"


# ---------------------------------------------------------------- who hears of it


def _routed_staff(application: Application) -> list[User]:
    """Active users it was routed to, and whoever took it."""
    users = [recipient.user for recipient in application.recipients if recipient.user.active]
    holder = application.assigned_to
    if holder is not None and holder.active and holder not in users:
        users.append(holder)
    return users


def _reminded_staff(application: Application) -> list[User]:
    """Whoever took it; if no one did, everyone it was routed to."""
    holder = application.assigned_to
    if holder is not None and holder.active:
        return [holder]
    return [recipient.user for recipient in application.recipients if recipient.user.active]


def _to_staff(users: list[User], template: str, application: Application, **context):
    """Queue ``template`` about the application to each of ``users``, in their language."""
    return [
        queue_mail(
            user.email,
            template,
            user.language,
            application=application,
            user=user,
            admin_url=admin_url(application),
            **context,
        )
        for user in users
    ]


# ---------------------------------------------------------------- 1 and 2: unanswered questions


def _latest_question(application: Application) -> ApplicationEvent | None:
    """The coordinators' last request for information, if any."""
    questions = [event for event in application.events if event.action == "request_info"]
    return questions[-1] if questions else None


def _questions(report: Report) -> None:
    """Lapse the questions left unanswered too long; remind the applicants halfway."""
    days = lapse_days()
    waiting = db.session.scalars(
        select(Application)
        .where(Application.state == "info_requested", Application.anonymised_at.is_(None))
        .options(selectinload(Application.events))
        .order_by(Application.id)
    ).all()
    reminded, lapsed = _sent(INFO_REMINDER), _sent(LAPSE)
    items = []
    for application in waiting:
        question = _latest_question(application)
        asked_on = local_date(question.created_at if question else application.updated_at)
        period = f"question:{question.id}" if question else f"since:{asked_on}"
        items.append((application.id, _application_subject(application), asked_on, period))
    db.session.commit()  # end the read; each item is its own transaction
    for application_id, subject, asked_on, period in items:
        if report.as_of >= asked_on + timedelta(days=days):
            kind, done, work = LAPSE, lapsed, _lapse
        elif days // 2 and report.as_of >= asked_on + timedelta(days=days // 2):
            kind, done, work = INFO_REMINDER, reminded, _remind_applicant
        else:
            continue
        if (subject, period) not in done:
            _once(
                report,
                kind,
                subject,
                period,
                lambda work=work, i=application_id, a=asked_on: work(i, a, days),
            )


def _remind_applicant(application_id: int, asked_on: date, days: int):
    """Remind the applicant of the open question, unless it was answered meanwhile."""
    application = db.session.get(Application, application_id)
    if application is None or application.state != "info_requested":
        return None
    question = _latest_question(application)
    return [
        queue_mail(
            application.email,
            "reminder_info_request",
            application.language,
            application=application,
            question=question.note if question else "",
            asked_on=asked_on,
            closes_on=asked_on + timedelta(days=days),
            status_url=status_url(application),
        )
    ]


def _lapse(application_id: int, asked_on: date, days: int):
    """Close the application as lapsed, if the applicant has not answered a moment ago."""
    application = db.session.get(Application, application_id)
    if application is None or application.anonymised_at is not None:
        return None
    if not claim(application, {"info_requested"}):  # answered (or withdrawn) meanwhile
        return None
    application.state = "lapsed"
    application.decided_at = utcnow()
    application.events.append(ApplicationEvent(action="lapsed", state="lapsed"))
    audit.record(
        "application.lapsed",
        subject=_application_subject(application),
        details={"reference": application.reference, "asked_on": asked_on, "days": days},
    )
    applicant = queue_mail(
        application.email,
        "lapsed_applicant",
        application.language,
        application=application,
        asked_on=asked_on,
        days=days,
        status_url=status_url(application),
        apply_url=external_url("membership.apply", lang=application.language),
    )
    staff = _to_staff(
        _routed_staff(application), "lapsed_coordinator", application, asked_on=asked_on, days=days
    )
    return [applicant, *staff]


# ---------------------------------------------------------------- 3 and 4: the reply-by date


def _owed():
    """Applications the coordinators owe a reply to (the clock runs), not anonymised."""
    return (
        select(Application)
        .where(Application.state.in_(CLOCK_RUNS), Application.anonymised_at.is_(None))
        .order_by(Application.due_on, Application.id)
    )


def _each_application(report: Report, kind: str, query, work) -> None:
    """``work(report, application_id)`` once for each application of ``query`` (per due date)."""
    items = [(application_id, due_on) for application_id, due_on in db.session.execute(query)]
    db.session.commit()  # end the read; each item is its own transaction
    sent = _sent(kind)
    for application_id, due_on in items:
        subject, period = f"application:{application_id}", due_on.isoformat()
        if (subject, period) not in sent:
            _once(report, kind, subject, period, lambda i=application_id: work(report, i))


def _due_soon(report: Report) -> None:
    """Remind whoever handles an application due within two working days (the date included)."""
    window_ends = add_working_days(report.as_of, REMIND_BEFORE_WORKING_DAYS)
    query = _owed().where(Application.due_on >= report.as_of, Application.due_on <= window_ends)
    _each_application(
        report, DUE_SOON, query.with_only_columns(Application.id, Application.due_on), _remind_staff
    )


def _remind_staff(report: Report, application_id: int):
    """Remind whoever handles the application that its reply is due soon."""
    application = db.session.get(Application, application_id)
    if application is None or application.state not in CLOCK_RUNS:
        return None
    users = _reminded_staff(application)
    if not users:
        log.warning("remind: no one to remind of %s", application.reference)
        return None
    days_left = working_days_between(report.as_of, application.due_on)
    return _to_staff(users, "reminder_due_soon", application, days_left=days_left)


def _overdue(report: Report) -> None:
    """Escalate to the admins each application whose reply-by date has passed, once."""
    query = _owed().where(Application.due_on < report.as_of)
    _each_application(
        report, OVERDUE, query.with_only_columns(Application.id, Application.due_on), _escalate
    )


def _escalate(report: Report, application_id: int):
    """Tell the admins that the application's reply is late."""
    application = db.session.get(Application, application_id)
    if application is None or not is_overdue(application, report.as_of):
        return None
    admins = active_admins()
    if not admins:
        log.error("remind: %s is overdue and there is no admin to tell", application.reference)
        return None
    return _to_staff(
        admins,
        "reminder_overdue",
        application,
        days_late=working_days_between(application.due_on, report.as_of),
        handlers=", ".join(user.name for user in _routed_staff(application)),
        holder=application.assigned_to,
    )


# ---------------------------------------------------------------- 5: Monday digests


def _digests(report: Report) -> None:
    """Each user's open applications, overdue first, to everyone who has any."""
    open_applications = db.session.scalars(
        select(Application)
        .where(Application.state.in_(OPEN_STATES), Application.anonymised_at.is_(None))
        .options(selectinload(Application.recipients))
    ).all()
    by_user: dict[int, set[int]] = defaultdict(set)
    for application in open_applications:
        for user in _routed_staff(application):
            by_user[user.id].add(application.id)
    db.session.commit()
    period = report.as_of.isoformat()
    sent = _sent(DIGEST)
    for user_id, application_ids in sorted(by_user.items()):
        subject = f"user:{user_id}"
        if (subject, period) not in sent:
            _once(
                report,
                DIGEST,
                subject,
                period,
                lambda u=user_id, ids=application_ids: _digest(report, u, ids),
            )


def _digest(report: Report, user_id: int, application_ids: set[int]):
    """The Monday list of a user's open applications, overdue first."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    applications = db.session.scalars(
        select(Application).where(
            Application.id.in_(application_ids), Application.state.in_(OPEN_STATES)
        )
    ).all()
    if not applications:
        return None
    rows = sorted(
        (
            {
                "application": application,
                "overdue": is_overdue(application, report.as_of),
                "admin_url": admin_url(application),
            }
            for application in applications
        ),
        key=lambda row: (not row["overdue"], row["application"].due_on, row["application"].id),
    )
    message: OutgoingMail = queue_mail(
        user.email,
        "digest",
        user.language,
        user=user,
        rows=rows,
        overdue_count=sum(row["overdue"] for row in rows),
        as_of=report.as_of,
        list_url=external_url("admin.applications", state="open", sort="due"),
    )
    return [message]
