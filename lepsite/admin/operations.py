"""The review workflow: each decision is recorded with who, when and why, and mailed."""

from dataclasses import dataclass, field

from sqlalchemy import update

from .. import audit
from ..extensions import db
from ..mail import queue_mail
from ..membership.operations import notify_recipients, route, status_url
from ..models import OPEN_STATES, Application, ApplicationEvent, User, utcnow

# action: (states it may start from, state it leads to, note required, note shown to applicant)
TRANSITIONS = {
    "start_review": (("submitted",), "in_review", False, False),
    "request_info": (("submitted", "in_review"), "info_requested", True, True),
    "approve": (OPEN_STATES, "approved", False, True),
    "reject": (OPEN_STATES, "rejected", True, True),
    "note": (
        tuple(OPEN_STATES) + ("approved", "ended", "rejected", "withdrawn", "lapsed"),
        None,
        True,
        False,
    ),
}

# States that are a decision: the time it was made is kept (``decided_at``; retention and the
# export read it).
DECIDED_STATES = ("approved", "rejected")

# Actions the applicant hears about, with the mail template used.
APPLICANT_MAILS = {
    "request_info": "decision_info_requested",
    "approve": "decision_approved",
    "reject": "decision_rejected",
}


class TransitionError(Exception):
    """The action does not fit the application's current state."""


class NoteRequired(TransitionError):
    """The action needs a note (a question, a rejection reason) and got none."""


class TakenMeanwhile(TransitionError):
    """Someone else took the application since it was read."""


def allowed_actions(application: Application) -> list[str]:
    """Actions that make sense for the application now; none once it is anonymised."""
    if application.anonymised_at is not None:
        return []
    return [
        action for action, (sources, *_rest) in TRANSITIONS.items() if application.state in sources
    ]


def act(application: Application, actor: User, action: str, note: str) -> list[int]:
    """Apply a review action; return the ids of the mail it queued."""
    if action not in TRANSITIONS:
        raise TransitionError(action)
    sources, target, note_required, shown = TRANSITIONS[action]
    note = note.strip()
    if application.state not in sources or application.anonymised_at is not None:
        raise TransitionError(action)
    if note_required and not note:
        raise NoteRequired(action)
    if target:
        application.state = target
    if target in DECIDED_STATES:
        application.decided_at = utcnow()
    application.events.append(
        ApplicationEvent(
            action=action,
            state=application.state,
            actor=actor,
            note=note,
            shown_to_applicant=shown and bool(note),
        )
    )
    audit.record(
        f"application.{action}",
        actor=actor,
        subject=f"application:{application.id}",
        details={"reference": application.reference, "state": application.state},
    )
    mails = []
    if action in APPLICANT_MAILS:
        mails.append(
            queue_mail(
                application.email,
                APPLICANT_MAILS[action],
                application.language,
                application=application,
                note=note,
                status_url=status_url(application),
            )
        )
    db.session.commit()
    return [mail.id for mail in mails]


def reroute(application: Application, actor: User, partnership_key: str, note: str) -> list[int]:
    """Admins move an application to another partnership and its coordinators."""
    note = note or ""
    if not application.is_open:
        raise TransitionError("reroute")
    application.partnership_key = partnership_key
    application.recipients.clear()
    db.session.flush()
    recipients = route(application)
    application.events.append(
        ApplicationEvent(
            action="rerouted",
            state=application.state,
            actor=actor,
            note=(note.strip() + "\n" if note.strip() else "")
            + ", ".join(recipient.user.email for recipient in recipients),
        )
    )
    audit.record(
        "application.reroute",
        actor=actor,
        subject=f"application:{application.id}",
        details={"reference": application.reference, "partnership": partnership_key},
    )
    mails = notify_recipients(application, "application_routed")
    db.session.commit()
    return [mail.id for mail in mails]


# ---------------------------------------------------------------- taking an application


def take(application: Application, actor: User) -> User | None:
    """The actor takes the application ("assigned to me"); return who had it before, if anyone.

    Anyone who may see an application may take it, also from a colleague (taking over): the
    others see who has it, and the history and the audit log say who took it from whom.
    Only open applications are taken. The caller commits.
    """
    if not application.is_open or application.anonymised_at is not None:
        raise TransitionError("take")
    previous = application.assigned_to
    if previous is not None and previous.id == actor.id:
        return None
    _change_holder(application, previous, actor)
    application.events.append(
        ApplicationEvent(
            action="assigned",
            state=application.state,
            actor=actor,
            note=previous.name if previous is not None else "",
        )
    )
    audit.record(
        "application.assign",
        actor=actor,
        subject=f"application:{application.id}",
        details={
            "reference": application.reference,
            "from": previous.email if previous is not None else None,
        },
    )
    return previous


def may_release(application: Application, actor: User) -> bool:
    """The one who has it may release it, and so may an admin."""
    holder = application.assigned_to
    return holder is not None and (holder.id == actor.id or actor.is_admin)


def release(application: Application, actor: User) -> None:
    """Nobody has the application any more; anyone may take it. The caller commits."""
    if not may_release(application, actor):
        raise TransitionError("release")
    holder = application.assigned_to
    _change_holder(application, holder, None)
    application.events.append(
        ApplicationEvent(
            action="released",
            state=application.state,
            actor=actor,
            note=holder.name if holder.id != actor.id else "",
        )
    )
    audit.record(
        "application.release",
        actor=actor,
        subject=f"application:{application.id}",
        details={"reference": application.reference, "from": holder.email},
    )


def _change_holder(application: Application, expected: User | None, holder: User | None) -> None:
    """Set who has the application, if it is still ``expected`` (as read by this request).

    A conditional update: of two people taking it at the same moment, the second finds it
    changed (``TakenMeanwhile``) instead of silently taking it from the first.
    """
    held = (
        Application.assigned_to_id.is_(None)
        if expected is None
        else Application.assigned_to_id == expected.id
    )
    now = utcnow()
    result = db.session.execute(
        update(Application)
        .where(Application.id == application.id, held)
        .values(
            assigned_to_id=holder.id if holder is not None else None,
            assigned_at=now if holder is not None else None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise TakenMeanwhile("take")
    db.session.expire(application, ["assigned_to", "assigned_to_id", "assigned_at", "updated_at"])


# ---------------------------------------------------------------- several at once

BULK_ACTIONS = ("take", "start_review")


@dataclass
class BulkOutcome:
    """What a bulk request did: the references done, and those left as they were, and why."""

    done: list[str] = field(default_factory=list)
    wrong_state: list[str] = field(default_factory=list)
    held_by_others: list[str] = field(default_factory=list)
    mail_ids: list[int] = field(default_factory=list)


def bulk(applications: list[Application], actor: User, action: str) -> BulkOutcome:
    """Take, or start the review of, each application; each one is committed on its own.

    Bulk taking never takes an application over from a colleague (open it to do that); one
    taken already by the actor counts as done.
    """
    if action not in BULK_ACTIONS:
        raise TransitionError(action)
    outcome = BulkOutcome()
    for application in applications:
        reference = application.reference or str(application.id)
        holder = application.assigned_to
        if action == "take" and holder is not None and holder.id != actor.id:
            outcome.held_by_others.append(reference)
            continue
        try:
            if action == "take":
                take(application, actor)
                db.session.commit()
            else:
                outcome.mail_ids += act(application, actor, "start_review", "")
        except TakenMeanwhile:
            db.session.rollback()
            outcome.held_by_others.append(reference)
            continue
        except TransitionError:
            db.session.rollback()
            outcome.wrong_state.append(reference)
            continue
        outcome.done.append(reference)
    return outcome
