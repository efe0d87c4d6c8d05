"""health checks write a row

/healthz proves the database takes writes by rewriting one row of this table.

Revision ID: 4ea1746c0001
Revises: 5ab5e55a0001
Create Date: 2026-11-24 03:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4ea1746c0001"
down_revision = "5ab5e55a0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "health_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("health_checks")
