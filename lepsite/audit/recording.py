"""Writing audit entries: one row in the database and one JSON line in the log for each."""

import json
import logging
import re

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import User, utcnow
from ..request_log import current_request_id
from .models import AuditEvent

log = logging.getLogger("lepsite.audit")

# Log lines waiting for their transaction: written when it commits, dropped if it rolls back,
# so the log never tells of a change the database does not hold.
_PENDING = "lepsite.audit.pending"

# PostgreSQL refuses NUL in text, and no control character belongs in these one-line fields.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: str, limit: int) -> str:
    return _CONTROL.sub("", value or "").strip()[:limit]


def _actor(actor) -> User | None:
    """The signed-in user behind ``actor`` (``current_user`` too); None for anyone else."""
    if hasattr(actor, "_get_current_object"):  # Flask-Login's current_user proxy
        actor = actor._get_current_object()
    return actor if isinstance(actor, User) else None


def _client() -> tuple[str, str]:
    """The client's address and browser, or ``cli`` outside a request (commands, cron)."""
    if not has_request_context():
        return "cli", ""
    return _clean(request.remote_addr or "", 64), _clean(request.user_agent.string, 200)


def record(
    action: str,
    *,
    actor=None,
    subject: str = "",
    details: dict | None = None,
    email: str = "",
) -> AuditEvent:
    """Add an entry to db.session (it is stored when the caller commits; callers that have
    nothing else to commit call db.session.commit() themselves)."""
    user = _actor(actor)
    address, user_agent = _client()
    values = {
        "action": _clean(action, 60),
        "actor_email": _clean(user.email, 254).lower() if user else "",
        "email": _clean(email, 254).lower(),
        "subject": _clean(subject, 100),
        "address": address,
    }
    # ``default=str`` for dates and the like: an audit entry must never break the caller's work.
    details_text = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEvent(
        created_at=utcnow(),
        actor_id=user.id if user else None,
        user_agent=user_agent,
        details=details_text,
        **values,
    )
    if user is not None and user.id is None:  # created in this same transaction
        entry.actor = user
    db.session.add(entry)
    line = {
        "time": entry.created_at.isoformat(),
        "action": values["action"],
        "actor_id": user.id if user else None,
        "actor_email": values["actor_email"],
        "email": values["email"],
        "subject": values["subject"],
        "address": address,
        "details": json.loads(details_text),
        "request_id": current_request_id(),
    }
    db.session.info.setdefault(_PENDING, []).append(
        json.dumps(line, ensure_ascii=False, sort_keys=True)
    )
    return entry


@event.listens_for(db.session, "after_commit")
def _write_log_lines(session: Session) -> None:
    """The transaction holding the entries is stored: now they go to the log."""
    for line in session.info.pop(_PENDING, []):
        log.info(line)


@event.listens_for(db.session, "after_transaction_end")
def _forget_log_lines(session: Session, transaction) -> None:
    """A transaction that ends without a commit (rollback, close) took its entries with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
