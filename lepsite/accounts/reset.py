"""Password reset by mail: ask at ``/admin/reset``, get a single-use link, choose a password.

Asking gives the same answer whatever the address: only an active account with a password
gets a mail, but the page, its status and the work done before answering are the same for
any address, so the form tells no one who has an account. A new request ends the older
links; the link works ``RESET_MINUTES`` (60 by default). Using it ends every session of the
account and mails its owner that the password changed, when, and what to do if it was not
them.
"""

import secrets
from datetime import timedelta
from types import SimpleNamespace

from flask import current_app

from .. import audit
from ..extensions import db
from ..mail import queue_mail, render_mail
from ..models import User, utcnow
from ..urls import external_url
from . import tokens
from .invitations import is_pending, long_datetime
from .login import user_by_email
from .operations import change_password

PURPOSE = "reset"


def lifetime() -> timedelta:
    """How long a reset link works (``RESET_MINUTES``)."""
    return timedelta(minutes=current_app.config["RESET_MINUTES"])


def may_reset(user: User | None) -> bool:
    """Only active accounts that have a password get reset links (pending ones use their
    invitation; a deactivated account stays off until an admin turns it on)."""
    return user is not None and user.active and not is_pending(user)


def _mail_context(user, link: str) -> dict:
    return {
        "user": user,
        "link": link,
        "minutes": current_app.config["RESET_MINUTES"],
        "request_url": external_url("accounts.request_reset"),
    }


def request_reset(email: str) -> list[int]:
    """Mail a reset link to the account with this address, if it may have one. Commits.

    Returns the queued mail's ids (empty for an unknown or inactive address); the caller must
    not let that show in its answer.
    """
    user = user_by_email(email)
    if not may_reset(user):
        # The same work as for a real account, short of storing and sending anything.
        stand_in = SimpleNamespace(name="", email=email, language="en")
        render_mail(
            "account_password_reset", "en", **_mail_context(stand_in, secrets.token_urlsafe(32))
        )
        audit.record("password.reset_requested", details={"account": "unknown or inactive"})
        db.session.commit()
        return []
    token = tokens.issue(user, PURPOSE, lifetime())
    message = queue_mail(
        user.email,
        "account_password_reset",
        user.language,
        **_mail_context(user, external_url("accounts.reset_password", token=token)),
    )
    audit.record("password.reset_requested", email=user.email, subject=f"user:{user.id}")
    db.session.commit()
    return [message.id]


def link_state(token: str) -> tuple[str, User | None]:
    """What a reset link leads to: ``live``, ``used``, ``expired`` or ``unknown``, and whose."""
    row = tokens.find(token, PURPOSE)
    user = db.session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        return "unknown", None
    state = tokens.state(row)
    if state == "live" and not may_reset(user):
        state = "unknown"  # deactivated since: the link leads nowhere
    return state, user


def reset_password(token: str, password: str) -> tuple[User | None, list[int]]:
    """Use the link: store the new password, end every session, mail the owner. Commits.

    Returns (None, []) when the link is not live any more, also when it was used at the same
    moment by another request.
    """
    user_id = tokens.consume(token, PURPOSE)
    user = db.session.get(User, user_id) if user_id is not None else None
    if not may_reset(user):
        db.session.rollback()
        return None, []
    tokens.end_live(user, PURPOSE)
    message = queue_mail(
        user.email,
        "account_password_changed",
        user.language,
        user=user,
        changed_at=utcnow(),
        long_datetime=long_datetime,
        request_url=external_url("accounts.request_reset"),
    )
    audit.record("password.reset", actor=user, subject=f"user:{user.id}")
    change_password(user, password, actor=user)  # commits, then ends every session
    return user, [message.id]
