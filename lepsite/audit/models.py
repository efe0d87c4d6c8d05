"""The stored audit entry, and the database rule that no entry is ever changed."""

from datetime import datetime

from sqlalchemy import DDL, DateTime, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import User, utcnow


class AuditEvent(db.Model):
    """One thing that happened: who (or which address) did what to which account or application.

    Written once by ``record()``; the app never changes an entry, and the database refuses to.
    """

    __tablename__ = "audit_events"
    # The admin page filters by action and by account, newest first; retention deletes by age.
    __table_args__ = (
        Index("ix_audit_events_action_created", "action", "created_at"),
        Index("ix_audit_events_actor_email_created", "actor_email", "created_at"),
        Index("ix_audit_events_email_created", "email", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    action: Mapped[str] = mapped_column(String(60))
    # Empty for the command line, applicants and anonymous visitors; emptied if the account goes.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # A copy, so the entry still says who it was after the account is gone.
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    # The account an anonymous event is about (a failed sign-in), as typed, lower-cased.
    email: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    # JSON text: the same on SQLite and PostgreSQL.
    details: Mapped[str] = mapped_column(Text, default="{}")

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


# Append-only in the database too, so neither a bug nor a hand-typed UPDATE rewrites history.
# The one update let through is the foreign key's own ON DELETE SET NULL when an account is
# deleted: it empties actor_id and changes nothing else (actor_email keeps the name).
# Deleting stays possible: retention removes old entries. The migration creates the same.
_table = AuditEvent.__table__
_other_columns = [column.name for column in _table.columns if column.name != "actor_id"]

SQLITE_TRIGGER = DDL(
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
    "WHEN NOT (NEW.actor_id IS NULL AND "
    + " AND ".join(f"NEW.{name} IS OLD.{name}" for name in _other_columns)
    + ") BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)
POSTGRESQL_FUNCTION = DDL(
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$\n"
    "BEGIN\n"
    "  IF NEW.actor_id IS NULL AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN\n"
    "    RETURN NEW;\n"
    "  END IF;\n"
    "  RAISE EXCEPTION 'audit_events is append-only';\n"
    "END;\n"
    "$$ LANGUAGE plpgsql"
)
POSTGRESQL_TRIGGER = DDL(
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
)

event.listen(_table, "after_create", SQLITE_TRIGGER.execute_if(dialect="sqlite"))
event.listen(_table, "after_create", POSTGRESQL_FUNCTION.execute_if(dialect="postgresql"))
event.listen(_table, "after_create", POSTGRESQL_TRIGGER.execute_if(dialect="postgresql"))
event.listen(
    _table,
    "after_drop",
    DDL("DROP FUNCTION IF EXISTS audit_events_append_only()").execute_if(dialect="postgresql"),
)
