"""memberships that end: decision and end dates (stub)

Revision ID: 9e4b0d440004
Revises: 8d3a9c330003
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "9e4b0d440004"
down_revision = "8d3a9c330003"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
