"""Retention: closed applications and ended memberships lose their personal data after a while.

The privacy notice promises it ("we anonymise the data 12 months after the decision", and 12
months after a membership ends); ``flask applications anonymise-expired``, run daily from cron,
keeps that promise.
"""

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app

from ..extensions import db
from ..models import Application, utcnow
from . import queries

# Never a valid status token (those are 43 URL-safe characters), so old links stay dead.
ANONYMISED_MARK = "anonymised-"

# Everything the applicant typed about themselves or wrote in their own words.
PERSONAL_FIELDS = (
    "organisation_name",
    "registration_number",
    "website",
    "contact_name",
    "contact_role",
    "email",
    "phone",
    "contribution",
    "motivation",
)


def _as_utc(moment: datetime | None) -> datetime:
    """Aware UTC, as stored; SQLite compares times as text, so the zone must match."""
    moment = moment or utcnow()
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def retention_cutoff(now: datetime | None = None, days: int | None = None) -> datetime:
    """The moment before which a closing decision has expired."""
    if days is None:
        days = int(current_app.config["RETENTION_DAYS"])
    return _as_utc(now) - timedelta(days=days)


def anonymise_expired(now: datetime | None = None, days: int | None = None) -> int:
    """Anonymise applications rejected, withdrawn or lapsed more than ``days``
    (``RETENTION_DAYS``) ago, and memberships that ended more than ``days`` ago (counted from
    the end, not from the approval); return how many. Running it again changes nothing.

    Why: the data was collected to assess the application and to contact the organisation
    about it. Once an application is closed without membership, or the membership is over, and
    the time for questions about it has passed, nothing justifies keeping who applied.

    What goes: the contact person (name, role, e-mail, phone), the free texts the applicant
    wrote (contribution, motivation, and their answers in the history), every note in the
    history (coordinators' notes, questions and reasons often quote or describe the applicant;
    we cannot tell which do), and the queued or sent mail about the application, in the
    database and as ``.eml`` copies in the outbox folder. The status token is replaced, so the
    applicant's link leads to a 404.

    The organisation's name and website go too. Organisations are not persons, but many
    applicants are one: a Ukrainian ФОП or a Bosnian *obrt* trades under its owner's own name,
    and small NGOs and craft businesses are often known by their founder. We cannot tell those
    from companies, no statistic needs the name, and the privacy notice promises to anonymise
    "the data", so we keep none of it.

    What stays, for statistics and the record of decisions: the reference, partnership,
    organisation type, municipality, language, consent flags, state, the dates, who the
    application was routed to and each step of its history (action, state, staff member, time).
    An ended membership keeps its decision and end dates.
    """
    cutoff = retention_cutoff(now, days)
    stamp = _as_utc(now)
    expired = queries.expired_applications(cutoff)
    mail_ids: list[int] = []
    for application in expired:
        mail_ids += strip_personal_data(application, stamp)
    db.session.commit()
    remove_outbox_copies(mail_ids)
    return len(expired)


def strip_personal_data(application: Application, stamp: datetime) -> list[int]:
    """Blank what identifies a person; return the ids of the mail rows deleted."""
    mails = queries.mail_about(application)
    for mail in mails:
        db.session.delete(mail)
    for field in PERSONAL_FIELDS:
        setattr(application, field, "")
    for event in application.events:
        event.note = ""
    application.token = ANONYMISED_MARK + secrets.token_hex(20)
    application.anonymised_at = stamp
    return [mail.id for mail in mails]


def remove_outbox_copies(mail_ids: list[int]) -> None:
    """Delete the ``.eml`` files the outbox kept of the deleted messages (no-op with SMTP)."""
    outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
    for mail_id in mail_ids:
        (outbox / f"{mail_id:08d}.eml").unlink(missing_ok=True)
