"""registration numbers and duplicate detection (stub)

Revision ID: 9f5c1e440005
Revises: 9e4b0d440004
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "9f5c1e440005"
down_revision = "9e4b0d440004"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
