"""A person's data requests carried out: their data erased, a copy mailed to them.

Each one commits, with its audit entry. The entry names the applications (id and reference)
and counts: never the address, which erasure has just removed everywhere else.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from .. import audit
from ..audit import AuditEvent
from ..extensions import db
from ..mail import queue_mail
from ..membership.retention import remove_outbox_copies, strip_personal_data
from ..models import Application, User, utcnow
from . import queries


@dataclass
class Erasure:
    """What an erasure did: the applications anonymised (references) and the mail deleted."""

    references: list[str]
    mail_ids: list[int]


def _subject(found: queries.Holdings, application: Application | None) -> str:
    """The audit entry's subject: the application asked from, else the first one found."""
    chosen = application or (found.applications[0] if found.applications else None)
    return f"application:{chosen.id}" if chosen is not None else ""


def _details(found: queries.Holdings) -> dict:
    return {
        "applications": found.references,
        "application_ids": [application.id for application in found.applications],
        "mails": found.mail_count,
        "staff_account": found.account is not None,
    }


def record_export(found: queries.Holdings, actor: User | None = None, application=None) -> None:
    """Audit a copy handed out (to a file, a download); commits."""
    audit.record(
        "data_request.exported",
        actor=actor,
        subject=_subject(found, application),
        details=_details(found),
    )
    db.session.commit()


def erase(email: str, actor: User | None = None, application: Application | None = None) -> Erasure:
    """Anonymise every application made with ``email`` now, whatever its state (approved
    members too), and delete the mail about them and to the address, with its ``.eml`` copies.

    What goes and what stays is what retention removes after its time (see
    ``membership.retention``): the person, their texts, every note, the mail, the status link.
    A staff account with the address stays (``flask users deactivate`` ends it), and so does
    its own mail (see ``Holdings.other_mail``). ``application``: the one the request was made
    from (the audit entry's subject). Running it again finds nothing and changes nothing.
    """
    found = queries.holdings(email, lock=True)
    if not found.erasable:
        db.session.rollback()
        return Erasure([], [])
    details = _details(found)
    stamp = utcnow()
    mail_ids: list[int] = []
    for item in found.applications:
        mail_ids += strip_personal_data(item, stamp)
    for mail in found.other_mail:
        mail_ids.append(mail.id)
        db.session.delete(mail)
    details["mails"] = len(set(mail_ids))
    audit.record(
        "data_request.erased",
        actor=actor,
        subject=_subject(found, application),
        details=details,
    )
    db.session.commit()
    remove_outbox_copies(mail_ids)
    return Erasure(found.references, sorted(set(mail_ids)))


def _repeat_seconds() -> int:
    """A second request for a copy within this time (a double click, an impatient reload)
    sends nothing more: the first copy is on its way."""
    return int(current_app.config["DATA_COPY_REPEAT_SECONDS"])


def mail_copy(application: Application) -> list[int] | None:
    """Mail the applicant a copy of everything stored about the application's address, as a
    JSON attachment, to that address, in the application's language; commits and returns the
    queued mail's ids.

    None, with nothing queued, if a copy for this application was queued less than
    ``DATA_COPY_REPEAT_SECONDS`` ago. Of two requests at once, the second waits for the first
    (the application's row is held) and then finds its copy.
    """
    # Hold the row (its values unchanged) until the commit: the check and the mail are one step.
    db.session.execute(
        update(Application)
        .where(Application.id == application.id)
        .values(updated_at=Application.updated_at)
        .execution_options(synchronize_session=False)
    )
    since = utcnow() - timedelta(seconds=_repeat_seconds())
    recent = db.session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.action == "data_request.copy_mailed",
            AuditEvent.subject == f"application:{application.id}",
            AuditEvent.created_at >= since,
        )
        .limit(1)
    )
    if recent is not None:
        db.session.rollback()
        return None
    found = queries.holdings(application.email)
    filename = f"lep-data-{application.reference or application.id}.json"
    message = queue_mail(
        application.email,
        "data_copy",
        application.language,
        attachments=[(filename, "application/json", queries.export_json(found))],
        application=application,
        filename=filename,
    )
    audit.record(
        "data_request.copy_mailed",
        subject=f"application:{application.id}",
        details=_details(found),
    )
    db.session.commit()
    return [message.id]
