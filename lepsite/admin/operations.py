"""The review workflow: each decision is recorded with who, when and why, and mailed."""

from .. import audit
from ..extensions import db
from ..mail import queue_mail
from ..membership.operations import notify_recipients, route, status_url
from ..models import OPEN_STATES, Application, ApplicationEvent, User

# action: (states it may start from, state it leads to, note required, note shown to applicant)
TRANSITIONS = {
    "start_review": (("submitted",), "in_review", False, False),
    "request_info": (("submitted", "in_review"), "info_requested", True, True),
    "approve": (OPEN_STATES, "approved", False, True),
    "reject": (OPEN_STATES, "rejected", True, True),
    "note": (tuple(OPEN_STATES) + ("approved", "rejected", "withdrawn"), None, True, False),
}

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
