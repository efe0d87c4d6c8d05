"""Retention: audit entries are kept ``AUDIT_RETENTION_DAYS`` and then deleted.

``flask audit prune``, run daily from cron, does it; deleting is the one change the database
allows on the log.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete

from ..extensions import db
from ..models import utcnow
from .models import AuditEvent
from .recording import record


def retention_cutoff(days: int | None = None) -> datetime:
    """Entries created before this moment are past their retention time."""
    if days is None:
        days = current_app.config["AUDIT_RETENTION_DAYS"]
    return utcnow() - timedelta(days=days)


def prune(cutoff: datetime) -> int:
    """Delete the entries created before ``cutoff``, note that in the log, commit; return how
    many went."""
    result = db.session.execute(delete(AuditEvent).where(AuditEvent.created_at < cutoff))
    record("audit.pruned", details={"before": cutoff.isoformat(), "deleted": result.rowcount})
    db.session.commit()
    return result.rowcount
