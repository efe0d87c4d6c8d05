"""memberships that end: decision and end dates

``decided_at``: when an application was approved, rejected, withdrawn or closed as lapsed;
``ended_at``: when an approved membership ended (state ``ended``). Retention counts from them.

Existing decided applications get ``decided_at`` from their history: the time of the latest
step that led to their present state (``approve`` for approved, ``reject`` for rejected,
``withdrawn``, ``lapsed``). One without such a step (hand edits) keeps NULL, and retention
counts from its last change, as before. The step names are copied here, not imported, so that
this migration keeps doing what it did whatever the app's code becomes.

Revision ID: 9e4b0d440004
Revises: 8d3a9c330003
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9e4b0d440004"
down_revision = "8d3a9c330003"
branch_labels = None
depends_on = None

# state: the history step that decides it
DECIDING_STEPS = {
    "approved": "approve",
    "rejected": "reject",
    "withdrawn": "withdrawn",
    "lapsed": "lapsed",
}

applications = sa.table(
    "applications",
    sa.column("id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("ended_at", sa.DateTime(timezone=True)),
)
events = sa.table(
    "application_events",
    sa.column("application_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _fill_decision_dates() -> None:
    """One UPDATE per state, each reading the latest deciding step of every row."""
    bind = op.get_bind()
    for state, action in DECIDING_STEPS.items():
        decided = (
            sa.select(sa.func.max(events.c.created_at))
            .where(events.c.application_id == applications.c.id, events.c.action == action)
            .scalar_subquery()
        )
        bind.execute(
            applications.update().where(applications.c.state == state).values(decided_at=decided)
        )


def upgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    _fill_decision_dates()


def downgrade():
    # The older code knows no "ended": such memberships become withdrawn (closed, off the public
    # list), with their end as their last change, which the older retention counts from when it
    # finds no rejection or withdrawal step. Their history keeps its "ended"/"left" step.
    op.get_bind().execute(
        applications.update()
        .where(applications.c.state == "ended")
        .values(
            state="withdrawn",
            updated_at=sa.func.coalesce(applications.c.ended_at, applications.c.updated_at),
        )
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
        batch_op.drop_column("decided_at")
