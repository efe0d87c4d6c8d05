"""State changes an applicant causes: submitting, answering, withdrawing.

Each one records its event, queues its mail in the same transaction and commits; the caller
then sends the queued mail (see ``lepsite.mail``), so an SMTP outage never loses a change.
"""

import hashlib
import logging
import secrets
from collections.abc import Collection

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..mail import queue_mail
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
        users = queries.coordinators_of(application.partnership_key)
    if not users:
        users, reason = queries.active_admins(), "fallback"
    if not users:
        log.error("application %s has no one to route to: create an admin", application.reference)
    recipients = [ApplicationRecipient(user=user, reason=reason) for user in users]
    application.recipients.extend(recipients)
    return recipients


def notify_recipients(application: Application, template: str) -> list[OutgoingMail]:
    """Queue a message about the application to each routed user, in their own language."""
    return [
        queue_mail(
            recipient.user.email,
            template,
            recipient.user.language,
            application=application,
            user=recipient.user,
            admin_url=admin_url(application),
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
