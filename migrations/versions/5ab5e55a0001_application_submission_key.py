"""the application form's one-time submission key

A form sent twice (a double click, a retry after a lost answer, two tabs) carries the same key;
the unique constraint lets only one application be stored for it.

Revision ID: 5ab5e55a0001
Revises: 3a11f0a11ed0
Create Date: 2026-12-02 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5ab5e55a0001"
down_revision = "3a11f0a11ed0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_applications_submission_key", ["submission_key"])


def downgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_applications_submission_key", type_="unique")
        batch_op.drop_column("submission_key")
