"""Reads of the audit log: the admin page's filters and pages, the retention count."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import get_timezone
from sqlalchemy import Select, func, or_, select

from ..extensions import db
from .models import AuditEvent


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the time zone the page shows times in."""
    zone = get_timezone()
    moment = datetime.combine(day, time.min)
    return zone.localize(moment) if hasattr(zone, "localize") else moment.replace(tzinfo=zone)


@dataclass
class Filters:
    """The page's filters, each already checked; empty means "any"."""

    action: str = ""
    who: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def apply(self, query: Select) -> Select:
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.who:
            # Both are stored lower-cased, so a plain comparison uses their indexes.
            who = self.who.lower()
            query = query.where(or_(AuditEvent.actor_email == who, AuditEvent.email == who))
        if self.date_from:
            query = query.where(AuditEvent.created_at >= _start_of(self.date_from))
        if self.date_to and self.date_to < date.max:
            query = query.where(AuditEvent.created_at < _start_of(self.date_to + timedelta(days=1)))
        return query

    def as_args(self) -> dict:
        """The filters as query arguments (for the pagination links)."""
        values = {
            "action": self.action,
            "who": self.who,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in values.items() if value}


def count(filters: Filters) -> int:
    """How many entries match."""
    return db.session.scalar(filters.apply(select(func.count()).select_from(AuditEvent)))


def page_of(filters: Filters, number: int, per_page: int) -> list[AuditEvent]:
    """One page of matching entries, newest first."""
    query = filters.apply(select(AuditEvent)).order_by(
        AuditEvent.created_at.desc(), AuditEvent.id.desc()
    )
    return list(db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)))


def count_older_than(cutoff: datetime) -> int:
    """How many entries were created before ``cutoff``."""
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.created_at < cutoff)
    )
