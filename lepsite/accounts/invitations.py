"""Inviting staff: a pending account and a mailed single-use link to choose its password.

The web form (``/admin/users/new``) and ``flask users invite`` both call ``invite``.

An invited person has a ``User`` row at once, so the address is taken and the role and
partnerships are set, but the row is *pending*: inactive and without a password hash. A
pending account cannot sign in (``check_password`` refuses an empty hash), gets no
applications routed to it, receives no reset mail and does not count as an active admin.
Accepting the invitation sets the password and makes the account active; the person then
signs in as anyone does. Revoking deletes the pending account, and its links with it.
"""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import format_datetime
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..mail import queue_mail
from ..models import CoordinatorPartnership, OutgoingMail, User
from ..partnerships import title as partnership_title
from ..urls import external_url
from . import tokens
from .login import user_by_email
from .passwords import set_password

PURPOSE = "invite"


class AccountExists(Exception):
    """The address already has an account (``pending``: one still waiting for its invitation)."""

    def __init__(self, email: str, pending: bool):
        super().__init__(email)
        self.pending = pending


class NotPending(Exception):
    """The account has accepted its invitation already: there is nothing to resend or revoke."""


def is_pending(user: User) -> bool:
    """True for an invited account that has not chosen its password yet."""
    return not user.password_hash


def lifetime() -> timedelta:
    """How long an invitation link works (``INVITATION_HOURS``)."""
    return timedelta(hours=current_app.config["INVITATION_HOURS"])


def live_until(user: User) -> datetime | None:
    """Until when the user's latest invitation link works; None if it does not any more."""
    row = tokens.latest(user, PURPOSE)
    return tokens.expires_at(row) if tokens.state(row) == "live" else None


def pending_invitations() -> list[tuple[User, datetime | None]]:
    """Every pending account, oldest first, with until when its link works (None: expired)."""
    users = db.session.scalars(select(User).where(User.password_hash == "").order_by(User.id))
    return [(user, live_until(user)) for user in users]


def long_datetime(moment) -> str:
    """A date and time with its time zone, in the language being rendered (mail templates)."""
    return format_datetime(moment, "long")


def _mail(user: User, actor: User | None) -> OutgoingMail:
    """Issue a new link (the older ones die) and queue the invitation in the user's language."""
    token = tokens.issue(user, PURPOSE, lifetime(), actor)
    db.session.flush()
    return queue_mail(
        user.email,
        "account_invitation",
        user.language,
        user=user,
        inviter=actor.name if actor is not None else "",
        partnerships=", ".join(
            partnership_title(user.language, key) or key for key in sorted(user.partnership_keys)
        ),
        link=external_url("accounts.accept_invitation", token=token),
        expires_at=live_until(user),
        long_datetime=long_datetime,
    )


def invite(
    email: str,
    name: str,
    role: str,
    partnerships: set[str] | tuple[str, ...] | list[str],
    language: str,
    actor: User | None = None,
) -> tuple[User, list[int]]:
    """Create a pending account and mail it a link; return it with the queued mail. Commits.

    ``email`` is expected normalised (``email_validator``). Raises ``AccountExists`` when the
    address has an account already, pending or not.
    """
    existing = user_by_email(email)
    if existing is not None:
        raise AccountExists(existing.email, is_pending(existing))
    user = User(
        email=email, name=name, role=role, language=language, active=False, password_hash=""
    )
    user.partnerships = [
        CoordinatorPartnership(partnership_key=key) for key in sorted(partnerships)
    ]
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as error:  # invited at the same moment by someone else
        db.session.rollback()
        raise AccountExists(email, True) from error
    message = _mail(user, actor)
    audit.record(
        "user.invited",
        actor=actor,
        subject=f"user:{user.id}",
        details={
            "email": email,
            "role": role,
            "partnerships": sorted(partnerships),
            "language": language,
        },
    )
    db.session.commit()
    return user, [message.id]


def resend(user: User, actor: User | None = None) -> list[int]:
    """Mail a pending account a new link; the old one stops working. Commits."""
    if not is_pending(user):
        raise NotPending(user.email)
    message = _mail(user, actor)
    audit.record("user.invitation_resent", actor=actor, subject=f"user:{user.id}",
                 details={"email": user.email})  # fmt: skip
    db.session.commit()
    return [message.id]


def revoke(user: User, actor: User | None = None) -> None:
    """Withdraw an invitation: the pending account and its links are deleted. Commits."""
    if not is_pending(user):
        raise NotPending(user.email)
    audit.record("user.invitation_revoked", actor=actor, subject=f"user:{user.id}",
                 details={"email": user.email})  # fmt: skip
    db.session.delete(user)
    db.session.commit()


def invitation_for(token: str) -> tuple[str, User | None, tokens.AccountToken | None]:
    """What a link leads to: its state (``live``, ``used``, ``expired``, ``unknown``), the
    invited user and the stored row."""
    row = tokens.find(token, PURPOSE)
    user = db.session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        return "unknown", None, None
    state = tokens.state(row)
    if state == "live" and not is_pending(user):
        state = "used"  # accepted another way (the command line set a password)
    return state, user, row


def accept(token: str, password: str) -> User | None:
    """Use the link: set the password, activate the account. Commits.

    Returns None when the link is not live any more (used, expired, replaced, revoked), also
    when two people send the form at the same moment and the other one won.
    """
    user_id = tokens.consume(token, PURPOSE)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or not is_pending(user):
        db.session.rollback()
        return None
    set_password(user, password)
    user.active = True
    audit.record("user.invitation_accepted", actor=user, subject=f"user:{user.id}")
    db.session.commit()
    return user
