"""audit log

The ``audit_events`` table (ASVS V16) and the trigger that keeps it append-only: any UPDATE
is refused, except the foreign key's own ON DELETE SET NULL of ``actor_id``. A later SQLite
batch operation on this table rebuilds it without the trigger: such a migration must create the
trigger again.

Revision ID: a1d17e0b1100
Revises: b8f5693c5169
Create Date: 2026-11-24 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1d17e0b1100"
down_revision = "b8f5693c5169"
branch_labels = None
depends_on = None

# The columns as this revision creates them; the trigger compares all but actor_id.
OTHER_COLUMNS = (
    "id",
    "created_at",
    "action",
    "actor_email",
    "email",
    "subject",
    "address",
    "user_agent",
    "details",
)

SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
    "WHEN NOT (NEW.actor_id IS NULL AND "
    + " AND ".join(f"NEW.{name} IS OLD.{name}" for name in OTHER_COLUMNS)
    + ") BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)
POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF NEW.actor_id IS NULL AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql
"""
POSTGRESQL_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
)


def upgrade():
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_action_created", ["action", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_events_actor_email_created", ["actor_email", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_events_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_events_email_created", ["email", "created_at"], unique=False
        )

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_TRIGGER)
    elif dialect == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_email_created")
        batch_op.drop_index(batch_op.f("ix_audit_events_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_actor_id"))
        batch_op.drop_index("ix_audit_events_actor_email_created")
        batch_op.drop_index("ix_audit_events_action_created")

    op.drop_table("audit_events")  # drops the trigger with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
