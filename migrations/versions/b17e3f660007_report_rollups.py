"""report figures kept up to date (stub)

Revision ID: b17e3f660007
Revises: a06d2f550006
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "b17e3f660007"
down_revision = "a06d2f550006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
