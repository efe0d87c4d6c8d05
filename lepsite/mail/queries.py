"""Reads about outgoing mail, for the status page and the admin."""

from flask import abort
from sqlalchemy import func, select

from ..extensions import db
from ..models import Application, OutgoingMail


def mail_to_applicant(application: Application) -> list[OutgoingMail]:
    """The messages about ``application`` addressed to its applicant, oldest first."""
    query = (
        select(OutgoingMail)
        .where(
            OutgoingMail.application_id == application.id,
            OutgoingMail.recipient == application.email,
        )
        .order_by(OutgoingMail.id)
    )
    return list(db.session.scalars(query))


def failed_count() -> int:
    """How many messages failed for good and wait for a person."""
    return db.session.scalar(
        select(func.count())
        .select_from(OutgoingMail)
        .where(OutgoingMail.failed_at.is_not(None), OutgoingMail.sent_at.is_(None))
    )


def get_failed_mail_or_404(mail_id: int) -> OutgoingMail:
    """A failed message, or 404 (it may have been retried or sent since)."""
    message = db.session.get(OutgoingMail, mail_id)
    if message is None or message.state != "failed":
        abort(404)
    return message
