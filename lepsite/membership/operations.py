"""State changes an applicant causes: submitting, answering, withdrawing.

Each one records its event, queues its mail in the same transaction and commits; the caller
then sends the queued mail (see ``lepsite.mail``), so an SMTP outage never loses a change.
"""

import logging
import secrets

from ..extensions import db
from ..mail import queue_mail
from ..models import (
    NO_PARTNERSHIP,
    Application,
    ApplicationEvent,
    ApplicationRecipient,
    OutgoingMail,
    User,
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


def submit_application(fields: dict) -> tuple[Application, list[int]]:
    """Store a new application, route it and queue its mail; return it and the mail ids."""
    application = Application(token=secrets.token_urlsafe(32), state="submitted", **fields)
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
