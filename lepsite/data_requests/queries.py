"""What is stored about one e-mail address, found and written out as JSON."""

import contextlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from ..audit import AuditEvent
from ..extensions import db
from ..mail.outbox import split_body
from ..membership import queries as membership_queries
from ..membership.duplicates import email_key
from ..models import Application, OutgoingMail, User, utcnow

# Export format, so a reader can tell a later layout from this one.
FORMAT = "lepsite-data-copy/1"

# The status link's key opens the status page (and its withdraw button) to whoever holds it: a
# copy that travels (a download, a forwarded attachment) must not carry it. It is left out of
# the application and cut from the mail texts that quote the link.
LEFT_OUT_COLUMNS = frozenset({"token"})
KEY_REMOVED = "[status link key removed]"

# Of an audit entry, what it says about the application; who on the staff did it and from
# which network address is the staff's data, kept in the audit log itself.
AUDIT_COLUMNS = ("id", "created_at", "action", "subject", "details")


def _same_address(column):
    """A stored address as ``email_key`` compares it; for the tables without that column."""
    return func.lower(func.trim(column))


@dataclass
class Holdings:
    """Everything stored about one address (``email``, normalised)."""

    email: str
    applications: list[Application] = field(default_factory=list)
    # Mail about each application (application id -> messages), to anyone.
    mail_about: dict[int, list[OutgoingMail]] = field(default_factory=dict)
    # Mail to the address about none of those applications; none for a staff address (its
    # invitations, resets and notifications about others' applications are the account's).
    other_mail: list[OutgoingMail] = field(default_factory=list)
    # A coordinator's or admin's account with this address: described, never erased here.
    account: User | None = None

    @property
    def empty(self) -> bool:
        return not (self.applications or self.other_mail or self.account)

    @property
    def erasable(self) -> bool:
        """Whether ``operations.erase`` would change anything."""
        return bool(self.applications or self.other_mail)

    @property
    def mail_count(self) -> int:
        """Messages about the applications or to the address (each once): erasure deletes
        them all."""
        about = {mail.id for mails in self.mail_about.values() for mail in mails}
        return len(about | {mail.id for mail in self.other_mail})

    @property
    def references(self) -> list[str]:
        return [application.reference or f"#{application.id}" for application in self.applications]


def holdings(email: str, lock: bool = False) -> Holdings:
    """What is stored about ``email``; anonymised applications hold nothing of it any more.

    ``lock``: hold the applications found until the transaction ends (on PostgreSQL; SQLite
    writes one at a time anyway), so two erasures at once do not both work on them.
    """
    address = email_key(email)
    found = Holdings(address)
    if not address:  # an anonymised application's address is empty: it is no one's
        return found
    query = (
        select(Application)
        .where(Application.email_key == address, Application.anonymised_at.is_(None))
        .order_by(Application.id)
    )
    if lock:
        query = query.with_for_update()
    found.applications = list(db.session.scalars(query))
    seen: set[int] = set()
    for application in found.applications:
        found.mail_about[application.id] = membership_queries.mail_about(application)
        seen |= {mail.id for mail in found.mail_about[application.id]}
    found.account = db.session.scalar(select(User).where(_same_address(User.email) == address))
    if found.account is None:
        to_address = db.session.scalars(
            select(OutgoingMail)
            .where(_same_address(OutgoingMail.recipient) == address)
            .order_by(OutgoingMail.id)
        )
        found.other_mail = [mail for mail in to_address if mail.id not in seen]
    return found


def audit_entries(application: Application) -> list[AuditEvent]:
    """The audit entries about the application, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject == f"application:{application.id}")
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(query))


def _value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _columns(row, leave_out=frozenset()) -> dict:
    """Every column of the row, by name, as JSON values."""
    return {
        column.key: _value(getattr(row, column.key))
        for column in row.__mapper__.column_attrs
        if column.key not in leave_out
    }


def _without_keys(text: str, tokens: list[str]) -> str:
    for token in tokens:
        text = text.replace(token, KEY_REMOVED)
    return text


def _mail(message: OutgoingMail, tokens: list[str]) -> dict:
    """A message's columns; of its body the text, and the names of the files it carried (a
    copy sent earlier is not copied again)."""
    row = _columns(message)
    text, attachments = split_body(message.body)
    row["subject"] = _without_keys(message.subject, tokens)
    row["body"] = _without_keys(text, tokens)
    row["attachments"] = [item["filename"] for item in attachments]
    return row


def _audit_entry(entry: AuditEvent) -> dict:
    row = {name: _value(getattr(entry, name)) for name in AUDIT_COLUMNS}
    with contextlib.suppress(ValueError):  # stored by record(): JSON, unless edited by hand
        row["details"] = json.loads(entry.details)
    return row


def export(found: Holdings) -> dict:
    """Everything in ``found``, as one JSON-ready document."""
    # Mail to the address may be about an application made with another one (the address
    # corrected since): its key goes too.
    linked = found.applications + [mail.application for mail in found.other_mail]
    tokens = sorted({item.token for item in linked if item is not None and item.token})
    applications = []
    for application in found.applications:
        row = _columns(application, LEFT_OUT_COLUMNS)
        row["events"] = [_columns(event) for event in application.events]
        row["routed_to"] = [
            {**_columns(recipient), "user_name": recipient.user.name}
            for recipient in application.recipients
        ]
        row["mail"] = [_mail(mail, tokens) for mail in found.mail_about[application.id]]
        row["audit"] = [_audit_entry(entry) for entry in audit_entries(application)]
        applications.append(row)
    document = {
        "format": FORMAT,
        "email": found.email,
        "exported_at": utcnow().isoformat(),
        "applications": applications,
        "other_mail": [_mail(mail, tokens) for mail in found.other_mail],
    }
    if found.account is not None:
        account = found.account
        document["staff_account"] = {
            "email": account.email,
            "name": account.name,
            "role": account.role,
            "language": account.language,
            "active": account.active,
            "created_at": _value(account.created_at),
            "partnerships": sorted(account.partnership_keys),
        }
    return document


def export_json(found: Holdings) -> str:
    """``export`` as indented JSON text, letters as they are (not \\u escapes)."""
    return json.dumps(export(found), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
