"""What the daily run has sent, so that it never sends it twice."""

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


class ClockMail(db.Model):
    """One reminder, escalation, lapse or digest sent by ``flask applications remind``.

    Stored in the same transaction as the mail it stands for; the unique constraint is what
    keeps a second run (the same day, a ``--date`` catch-up, another server at the same moment)
    from sending it again: its insert fails, it rolls back and nothing of it is queued.

    ``subject`` is what it is about (``application:12``, ``user:4``); ``period`` what makes a
    second one of the same kind legitimate: the due date reminded of, the question an applicant
    is reminded of, the Monday of a digest.
    """

    __tablename__ = "review_clock_mail"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "period", name="uq_review_clock_mail_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    # The day the run was for (``--date``), and when it really ran.
    as_of: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    mail_count: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ClockMail {self.kind} {self.subject} {self.period}>"
