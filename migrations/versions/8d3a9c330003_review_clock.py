"""the review clock: due dates, assignment, reminders sent

Each application's reply-by date and who took it; a record of every reminder, escalation
and digest sent, so that running the daily command twice sends nothing twice.

Existing applications get the reply-by date they would have had: the date of receipt in the
site's time zone plus ``REPLY_WORKING_DAYS`` working days (Monday to Friday). The arithmetic
is copied here, not imported, so that this migration keeps doing what it did whatever the
app's code becomes.

Revision ID: 8d3a9c330003
Revises: 7c2f8b220002
Create Date: 2026-11-24 10:00:00

"""

from collections import defaultdict
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8d3a9c330003"
down_revision = "7c2f8b220002"
branch_labels = None
depends_on = None

CHUNK = 500
# Partial indexes over the open applications, for the list's "reply due soonest" order
# (PostgreSQL; SQLite uses ix_applications_state_due).
OPEN_CONDITION = "state IN ('submitted', 'in_review', 'info_requested') AND anonymised_at IS NULL"
OPEN_DUE_INDEXES = {
    "ix_applications_open_due": ["due_on", "id"],
    "ix_applications_open_partnership_due": ["partnership_key", "due_on", "id"],
}


def _settings() -> tuple[int, ZoneInfo]:
    """REPLY_WORKING_DAYS and TIME_ZONE of the app running the migration (else the defaults)."""
    try:
        from flask import current_app

        config = current_app.config
        return int(config.get("REPLY_WORKING_DAYS", 10)), ZoneInfo(
            config.get("TIME_ZONE") or "Europe/Sarajevo"
        )
    except RuntimeError:  # no app (plain alembic)
        return 10, ZoneInfo("Europe/Sarajevo")


def _due(received, days: int, zone: ZoneInfo):
    if received.tzinfo is None:  # SQLite gives stored UTC times back without their zone
        received = received.replace(tzinfo=UTC)
    day = received.astimezone(zone).date()
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def _fill_due_dates() -> None:
    bind = op.get_bind()
    applications = sa.table(
        "applications",
        sa.column("id", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("due_on", sa.Date),
    )
    days, zone = _settings()
    by_date = defaultdict(list)
    for row_id, created_at in bind.execute(sa.select(applications.c.id, applications.c.created_at)):
        by_date[_due(created_at, days, zone)].append(row_id)
    for due_on, ids in by_date.items():
        for start in range(0, len(ids), CHUNK):
            bind.execute(
                applications.update()
                .where(applications.c.id.in_(ids[start : start + CHUNK]))
                .values(due_on=due_on)
            )


def upgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            "fk_applications_assigned_to_id_users",
            "users",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _fill_due_dates()
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column("due_on", existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_applications_assigned_to_id"), ["assigned_to_id"], unique=False
        )
        batch_op.create_index(
            "ix_applications_state_due", ["state", "anonymised_at", "due_on"], unique=False
        )
        for name, columns in OPEN_DUE_INDEXES.items():
            batch_op.create_index(
                name,
                columns,
                unique=False,
                sqlite_where=sa.text(OPEN_CONDITION),
                postgresql_where=sa.text(OPEN_CONDITION),
            )

    op.create_table(
        "review_clock_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mail_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject", "period", name="uq_review_clock_mail_once"),
    )


def downgrade():
    op.drop_table("review_clock_mail")
    # The older code knows no "lapsed": such applications become withdrawn (the applicant did
    # not go on), closed all the same; their history keeps the "lapsed" step.
    applications = sa.table("applications", sa.column("state", sa.String))
    op.get_bind().execute(
        applications.update().where(applications.c.state == "lapsed").values(state="withdrawn")
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        for name in OPEN_DUE_INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_index("ix_applications_state_due")
        batch_op.drop_index(batch_op.f("ix_applications_assigned_to_id"))
        batch_op.drop_constraint("fk_applications_assigned_to_id_users", type_="foreignkey")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to_id")
        batch_op.drop_column("due_on")
