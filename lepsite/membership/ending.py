"""Memberships that end: the coordinators end one, or the organisation leaves.

Approval is not for ever. An approved membership ends in one of two ways, each a named
operation here:

- ``end_membership``: a coordinator of its partnership, or an admin, ends it with a reason
  (required). The organisation is mailed the reason in the application's language, and reads
  it on its status page.
- ``leave``: the organisation ends it itself from its private status page, with a reason if
  it wants to give one. The staff who handle it (those it was routed to and whoever took it;
  the admins if none of them is active) are mailed, each in their own language.

Either way, in one transaction: the state becomes ``ended`` and ``ended_at`` the moment; the
history gains a step (``ended`` by staff, ``left`` by the organisation), the audit log an entry
(``application.end``, ``application.left``), and the mail is queued. The organisation leaves the
public member list with that commit: ``public.queries.listed_members`` lists approved members
only, and the partnership page is rendered afresh for every request (``public.caching``).
Retention counts from ``ended_at`` (``membership.retention``).

**Once.** The state moves by a conditional UPDATE (``approved`` to ``ended``, not anonymised),
so of two requests at once (two coordinators, a double click, the coordinators and the
organisation) the first ends it and the second raises ``NotEndable`` having changed nothing.
So does a request about an application that is not an approved membership (any more), and a
coordinator's request about another partnership's application.
"""

from datetime import datetime

from sqlalchemy import update

from .. import audit
from ..extensions import db
from ..mail import queue_mail
from ..models import Application, ApplicationEvent, OutgoingMail, User, utcnow
from ..urls import external_url
from .operations import admin_url, status_url
from .queries import active_admins


class NotEndable(Exception):
    """The application is not an approved membership the actor may end: nothing changed."""


class ReasonRequired(NotEndable):
    """The coordinators end a membership only with a reason, and none was given."""


def may_end(application: Application, actor: User | None = None) -> bool:
    """Whether the membership can be ended now, by ``actor`` if given (else by its holder of
    the status link): approved, not anonymised, and the actor an admin or a coordinator of its
    partnership."""
    if application.state != "approved" or application.anonymised_at is not None:
        return False
    return actor is None or in_scope(application, actor)


def in_scope(application: Application, actor: User) -> bool:
    """Admins may act on any application; coordinators on their partnerships' only."""
    return actor.is_admin or application.partnership_key in actor.partnership_keys


def end_membership(application: Application, actor: User, reason: str) -> list[int]:
    """The coordinators (or an admin) end the membership; return the ids of the mail queued.

    Commits. Raises ``ReasonRequired`` without a reason, ``NotEndable`` when the application
    is not an approved membership ``actor`` may end (also when it ended a moment ago); either
    way nothing changed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(application.state)
    if not in_scope(application, actor):
        raise NotEndable("out of scope")
    ended_at = _claim(application)
    application.events.append(
        ApplicationEvent(
            action="ended",
            state="ended",
            actor=actor,
            note=reason,
            shown_to_applicant=True,
            created_at=ended_at,
        )
    )
    audit.record(
        "application.end",
        actor=actor,
        subject=f"application:{application.id}",
        details={"reference": application.reference, "state": "ended"},
    )
    message = queue_mail(
        application.email,
        "membership_ended",
        application.language,
        application=application,
        reason=reason,
        status_url=status_url(application),
        apply_url=external_url("membership.apply", lang=application.language),
    )
    db.session.commit()
    return [message.id]


def leave(application: Application, reason: str = "") -> list[int]:
    """The organisation ends its membership from its status page; return the ids of the mail
    queued to the staff who handle it.

    Commits. Raises ``NotEndable``, with nothing changed, when the application is not an
    approved membership (also when it ended a moment ago).
    """
    reason = (reason or "").strip()
    ended_at = _claim(application)
    application.events.append(
        ApplicationEvent(action="left", state="ended", note=reason, created_at=ended_at)
    )
    audit.record(
        "application.left",
        subject=f"application:{application.id}",
        details={"reference": application.reference, "state": "ended"},
    )
    mails = _tell_staff(application, reason)
    db.session.commit()
    return [mail.id for mail in mails]


def _claim(application: Application) -> datetime:
    """Move the application from ``approved`` to ``ended`` if it still is approved; return
    the moment. A conditional update, so only one of two requests at once gets here; the other
    raises ``NotEndable`` after rolling back."""
    now = utcnow()
    result = db.session.execute(
        update(Application)
        .where(
            Application.id == application.id,
            Application.state == "approved",
            Application.anonymised_at.is_(None),
        )
        .values(state="ended", ended_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise NotEndable(application.state)
    db.session.expire(application, ["state", "ended_at", "updated_at"])
    return now


def _tell_staff(application: Application, reason: str) -> list[OutgoingMail]:
    """Mail the staff who handle the application, each in their language: the active users
    it was routed to and whoever took it; the active admins if none of those is left."""
    users = [recipient.user for recipient in application.recipients if recipient.user.active]
    holder = application.assigned_to
    if holder is not None and holder.active and holder not in users:
        users.append(holder)
    if not users:
        users = active_admins()
    return [
        queue_mail(
            user.email,
            "membership_left",
            user.language,
            application=application,
            user=user,
            reason=reason,
            admin_url=admin_url(application),
        )
        for user in users
    ]
