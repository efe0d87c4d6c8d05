"""Reads for the membership pages."""

import re
from datetime import datetime

from flask import abort
from sqlalchemy import case, func, or_, select

from ..extensions import db
from ..models import (
    OPEN_STATES,
    Application,
    ApplicationEvent,
    OutgoingMail,
    User,
)
from .duplicates import email_key

TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


def get_application_by_token_or_404(token: str) -> Application:
    """The application a status link points to; anything malformed or unknown is a 404."""
    if len(token) != TOKEN_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    application = db.session.scalar(select(Application).where(Application.token == token))
    if application is None or application.anonymised_at is not None:
        abort(404)
    return application


def active_admins() -> list[User]:
    """Active admins: they get whatever has no coordinator."""
    query = select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    return list(db.session.scalars(query))


# The closing decisions: a coordinator's rejection, the applicant's withdrawal, the lapse of an
# unanswered question (lepsite.review_clock), and the end of a membership, by the coordinators or
# by the organisation (membership.ending).
CLOSED_STATES = ("rejected", "withdrawn", "lapsed", "ended")
CLOSING_ACTIONS = ("reject", "withdrawn", "lapsed", "ended", "left")


def expired_applications(cutoff: datetime) -> list[Application]:
    """Closed applications (``CLOSED_STATES``), not yet anonymised, closed before ``cutoff``.

    An ended membership is closed at its end (``ended_at``), any other at its decision
    (``decided_at``). Older rows without those dates count from their latest closing step in
    the history, and failing that (hand edits) from their last change.
    """
    closed = (
        select(
            ApplicationEvent.application_id,
            func.max(ApplicationEvent.created_at).label("closed_at"),
        )
        .where(ApplicationEvent.action.in_(CLOSING_ACTIONS))
        .group_by(ApplicationEvent.application_id)
        .subquery()
    )
    closed_at = case(
        (Application.state == "ended", Application.ended_at), else_=Application.decided_at
    )
    query = (
        select(Application)
        .outerjoin(closed, closed.c.application_id == Application.id)
        .where(
            Application.state.in_(CLOSED_STATES),
            Application.anonymised_at.is_(None),
            func.coalesce(closed_at, closed.c.closed_at, Application.updated_at) < cutoff,
        )
        .order_by(Application.id)
    )
    return list(db.session.scalars(query))


def mail_about(application: Application) -> list[OutgoingMail]:
    """Queued or sent messages about the application: linked to it, or (older rows) naming its
    reference in the subject or body, or carrying its status link."""
    conditions = [
        OutgoingMail.application_id == application.id,
        OutgoingMail.body.contains(application.token, autoescape=True),
    ]
    if application.reference:
        conditions += [
            OutgoingMail.subject.contains(application.reference, autoescape=True),
            OutgoingMail.body.contains(application.reference, autoescape=True),
        ]
    candidates = db.session.scalars(select(OutgoingMail).where(or_(*conditions)))
    # LEP-2025-000012 must not match LEP-2025-0000123.
    reference = re.compile(re.escape(application.reference or application.token) + r"(?!\d)")
    return [
        mail
        for mail in candidates
        if mail.application_id == application.id
        or application.token in mail.body
        or reference.search(mail.subject)
        or reference.search(mail.body)
    ]


def open_applications_by_email(email: str) -> list[Application]:
    """Open applications made with ``email``, in any letter case, newest first (by the indexed
    ``email_key``, not a scan)."""
    query = (
        select(Application)
        .where(
            Application.email_key == email_key(email),
            Application.state.in_(OPEN_STATES),
            Application.anonymised_at.is_(None),
        )
        .order_by(Application.created_at.desc(), Application.id.desc())
    )
    return list(db.session.scalars(query))
