"""State changes an applicant causes: submitting, correcting, answering, withdrawing; and
mailing an applicant their status links again.

Each one records its event, queues its mail in the same transaction and commits; the caller
then sends the queued mail (see ``lepsite.mail``), so an SMTP outage never loses a change.
"""

import hashlib
import logging
import secrets
from collections.abc import Collection
from types import SimpleNamespace

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import partnerships
from ..extensions import db
from ..mail import queue_mail, render_mail
from ..models import (
    NO_PARTNERSHIP,
    Application,
    ApplicationEvent,
    ApplicationRecipient,
    OutgoingMail,
    User,
    utcnow,
)
from ..urls import external_url
from . import queries
from .labels import FIELD_LABELS

log = logging.getLogger(__name__)


def status_url(application: Application) -> str:
    """The applicant's private status link, in their language."""
    return external_url("membership.status", lang=application.language, token=application.token)


def admin_url(application: Application) -> str:
    """Where coordinators open the application."""
    return external_url("admin.application", application_id=application.id)


def route(application: Application) -> list[ApplicationRecipient]:
    """Send the application to the partnership's coordinators, or to the admins.

    With "not sure" or no coordinator yet, the admins get it, so it never lands nowhere.
    """
    users: list[User] = []
    reason = "partnership"
    if application.partnership_key != NO_PARTNERSHIP:
        users = partnerships.coordinators_of(application.partnership_key)
    if not users:
        users, reason = queries.active_admins(), "fallback"
    if not users:
        log.error("application %s has no one to route to: create an admin", application.reference)
    recipients = [ApplicationRecipient(user=user, reason=reason) for user in users]
    application.recipients.extend(recipients)
    return recipients


def notify_recipients(application: Application, template: str, **context) -> list[OutgoingMail]:
    """Queue a message about the application to each routed user, in their own language;
    ``context`` goes to the template."""
    return [
        queue_mail(
            recipient.user.email,
            template,
            recipient.user.language,
            application=application,
            user=recipient.user,
            admin_url=admin_url(application),
            **context,
        )
        for recipient in application.recipients
        if recipient.user.active
    ]


def submission_digest(key: str, fields: dict) -> str:
    """What is stored for a form's one-time key: the key with the address and partnership.

    The same form sent again matches. Someone who goes back, changes the address or the
    partnership and sends it makes a new application, as they meant to; and a key seen by
    someone else does not lead to the application on its own.
    """
    parts = (key, fields["email"].strip().casefold(), fields["partnership_key"])
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _submitted_with(digest: str) -> Application | None:
    return db.session.scalar(select(Application).where(Application.submission_key == digest))


def submit_application(
    fields: dict, submission_key: str | None = None
) -> tuple[Application, list[int]]:
    """Store a new application, route it and queue its mail; return it and the mail ids.

    With the form's ``submission_key``, a form already stored returns that application and
    queues nothing (no mail ids), whatever the timing: sent again later, or twice at once, when
    the unique column lets one insert win and the other finds the winner.
    """
    digest = submission_digest(submission_key, fields) if submission_key else None
    if digest and (earlier := _submitted_with(digest)) is not None:
        return earlier, []
    try:
        return _store(fields, digest)
    except IntegrityError:
        db.session.rollback()
        if digest is None or (earlier := _submitted_with(digest)) is None:
            raise
        log.info("a repeat of application %s was not stored again", earlier.reference)
        return earlier, []


def _store(fields: dict, digest: str | None) -> tuple[Application, list[int]]:
    application = Application(
        token=secrets.token_urlsafe(32), submission_key=digest, state="submitted", **fields
    )
    db.session.add(application)
    db.session.flush()
    application.reference = f"LEP-{application.created_at:%Y}-{application.id:06d}"
    application.events.append(ApplicationEvent(action="submitted", state="submitted"))
    recipients = route(application)
    application.events.append(
        ApplicationEvent(
            action="routed",
            state="submitted",
            note=", ".join(recipient.user.email for recipient in recipients),
        )
    )
    mails = [
        queue_mail(
            application.email,
            "application_received",
            application.language,
            application=application,
            status_url=status_url(application),
        ),
        *notify_recipients(application, "application_routed"),
    ]
    db.session.commit()
    return application, [mail.id for mail in mails]


def claim(application: Application, states: Collection[str]) -> bool:
    """Hold the application for one change while it is in one of ``states``.

    A conditional update: of two requests at once (a double click), the second waits for the
    first to commit and then finds the state changed, so the change is recorded once. False
    (and the transaction rolled back) when another request changed it first.
    """
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, Application.state.in_(states))
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        return True
    db.session.rollback()
    return False


def withdraw_application(application: Application) -> list[int]:
    """The applicant withdraws; the coordinators are told."""
    application.state = "withdrawn"
    application.decided_at = utcnow()
    application.events.append(ApplicationEvent(action="withdrawn", state="withdrawn"))
    mails = notify_recipients(application, "application_withdrawn")
    db.session.commit()
    return [mail.id for mail in mails]


def answer_question(application: Application, answer: str) -> list[int]:
    """The applicant answers a request for information; the review continues."""
    application.state = "in_review"
    application.events.append(
        ApplicationEvent(action="info_provided", state="in_review", note=answer)
    )
    mails = notify_recipients(application, "application_answered")
    db.session.commit()
    return [mail.id for mail in mails]


# While the coordinators have not started, and while they wait for the applicant's answer.
CORRECTABLE_STATES = ("submitted", "info_requested")


class NotCorrectable(Exception):
    """The application is in a state the applicant may not correct it in."""


def correct_application(application: Application, fields: dict) -> tuple[list[str], list[int]]:
    """The applicant corrects their application; return the names of the fields that changed
    and the ids of the mail queued. Commits.

    ``fields`` holds the correctable fields (``FIELD_LABELS``: everything on the form but the
    partnership, which would re-route the application; admins do that). Only what differs is
    changed. A correction that changes nothing records nothing and tells no one, so the same
    form sent twice (a double click) makes one change: the second request waits for the first
    (``claim``) and then compares with what it stored.

    Each change is a ``corrected`` event whose note names the fields that changed, not their
    values: the application holds the new ones, and the old ones are what the applicant wanted
    gone (an old phone number or address kept in the history would outlive the correction for
    as long as a member's record is kept; retention blanks notes only of closed applications).
    The routed coordinators are told, each in their language, with a link to the admin page.

    Raises ``NotCorrectable``, with nothing changed, in any other state (a forged or late form),
    also when the state changed a moment ago.
    """
    if not claim(application, CORRECTABLE_STATES):
        raise NotCorrectable(application.state)
    db.session.refresh(application)
    changed = [
        name
        for name, value in fields.items()
        if name in FIELD_LABELS and getattr(application, name) != value
    ]
    if not changed:
        db.session.rollback()
        return [], []
    for name in changed:
        setattr(application, name, fields[name])
    application.events.append(
        ApplicationEvent(action="corrected", state=application.state, note=", ".join(changed))
    )
    mails = notify_recipients(
        application, "application_corrected", changed=[FIELD_LABELS[name] for name in changed]
    )
    db.session.commit()
    return changed, [mail.id for mail in mails]


def mail_status_links(email: str) -> list[int]:
    """Mail the status links of every open application made with ``email`` (in any letter
    case) to that address; return the queued mail's ids. Commits.

    One message, in the language of the newest of those applications: the one the applicant
    chose for our messages most recently (the person asking may not be the applicant, and the
    page they ask from tells nothing about the reader). Each link opens in its application's
    language.

    No open application: nothing is stored or sent and the ids are empty; the caller must not
    let that show. The message is still rendered, so both cases take the same work short of
    storing and sending it.
    """
    applications = queries.open_applications_by_email(email)
    if not applications:
        stand_in = SimpleNamespace(
            reference="LEP-0000-000000", partnership_key=NO_PARTNERSHIP, language="en"
        )
        link = external_url("membership.status", lang="en", token=secrets.token_urlsafe(32))
        render_mail("status_links", "en", links=[(stand_in, link)])
        db.session.commit()
        return []
    newest = applications[0]
    message = queue_mail(
        newest.email,
        "status_links",
        newest.language,
        application=newest,
        links=[(application, status_url(application)) for application in applications],
    )
    db.session.commit()
    return [message.id]
