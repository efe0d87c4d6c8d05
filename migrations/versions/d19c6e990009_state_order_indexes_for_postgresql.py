"""state order indexes for PostgreSQL

The review list filtered by state (and by partnership) reads its rows newest or oldest first.
PostgreSQL does not treat ``anonymised_at IS NULL`` as fixing that column, so the listing
indexes, which have ``anonymised_at`` before ``created_at``, give it no date order: it read
every newer row of the other states instead, more of them the more applications there are.
Two partial indexes without that column fix it. SQLite already reads the listing indexes in
order and does not get them (``lepsite.models.Application``).

Revision ID: d19c6e990009
Revises: c18a4f770008
Create Date: 2026-11-24 15:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d19c6e990009"
down_revision = "c18a4f770008"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_applications_state_created": ["state", "created_at", "id"],
    "ix_applications_partnership_state_created": ["partnership_key", "state", "created_at", "id"],
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in INDEXES.items():
        op.create_index(
            name, "applications", columns, postgresql_where=sa.text("anonymised_at IS NULL")
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.drop_index(name, table_name="applications")
