"""admin search index: FTS5 on SQLite, pg_trgm on PostgreSQL (stub)

Revision ID: a06d2f550006
Revises: 9f5c1e440005
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "a06d2f550006"
down_revision = "9f5c1e440005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
